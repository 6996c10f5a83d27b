package main

import (
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/tollgate-dev/tollgate/internal/store/sqlstore"
)

// openForMigrations opens the configured database without migrating it,
// since looking at and applying migrations is the caller's job.
func openForMigrations(cmd *cobra.Command, e *env, f *serverFlags) (*sqlstore.Store, error) {
	c, err := f.load(e)
	if err != nil {
		return nil, err
	}
	return sqlstore.Open(cmd.Context(), c.DatabaseTarget())
}

func migrateCmd(e *env) *cobra.Command {
	var f serverFlags
	cmd := &cobra.Command{
		Use:   "migrate",
		Short: "Apply pending database migrations (serve also does this at start)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			st, err := openForMigrations(cmd, e, &f)
			if err != nil {
				return err
			}
			defer st.Close()
			type applied struct {
				Version int64  `json:"version"`
				Name    string `json:"name"`
				TookMS  int64  `json:"took_ms"`
			}
			var done []applied
			n, err := st.Migrate(cmd.Context(), func(v int64, name string, took time.Duration) {
				done = append(done, applied{v, name, took.Milliseconds()})
				if !e.jsonOut {
					fmt.Fprintf(e.stdout, "applied %05d %s (%s)\n", v, name, took.Round(time.Millisecond))
				}
			})
			if err != nil {
				return err
			}
			if e.jsonOut {
				return e.printJSON(map[string]any{"backend": st.Backend(), "applied": done})
			}
			if n == 0 {
				fmt.Fprintf(e.stdout, "%s database is up to date\n", st.Backend())
			} else {
				fmt.Fprintf(e.stdout, "%s database migrated: %d applied\n", st.Backend(), n)
			}
			return nil
		},
	}
	f.register(cmd, false)

	var sf serverFlags
	status := &cobra.Command{
		Use:   "status",
		Short: "List migrations and whether each is applied",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			st, err := openForMigrations(cmd, e, &sf)
			if err != nil {
				return err
			}
			defer st.Close()
			ms, err := st.MigrationStatuses(cmd.Context())
			if err != nil {
				return err
			}
			if e.jsonOut {
				return e.printJSON(ms)
			}
			rows := make([][]string, 0, len(ms))
			for _, m := range ms {
				state, at := "pending", "-"
				if m.Applied {
					state, at = "applied", m.AppliedAt.Format(time.RFC3339)
				}
				rows = append(rows, []string{fmt.Sprintf("%05d", m.Version), m.Name, state, at})
			}
			return e.printTable([]string{"VERSION", "NAME", "STATE", "APPLIED AT"}, rows)
		},
	}
	sf.register(status, false)
	cmd.AddCommand(status)
	return cmd
}
