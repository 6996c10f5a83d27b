package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/tollgate-dev/tollgate/internal/governance"
	"github.com/tollgate-dev/tollgate/internal/platform"
	"github.com/tollgate-dev/tollgate/internal/store/sqlstore"
)

// adminCmd holds the offline commands: they open the database directly, so
// an operator can recover access with no server and no token.
func adminCmd(e *env) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "admin",
		Short: "Offline bootstrap and recovery (opens the database directly)",
		Long: "Offline bootstrap and recovery. These commands open the data directory or database\n" +
			"URL directly, so they work with the server stopped and without any token. Run them\n" +
			"as the operator who owns the data.",
	}
	cmd.AddCommand(adminOrgsCmd(e), adminCreateOrgCmd(e), adminCreateTokenCmd(e), adminSetPasswordCmd(e), adminSetPriceCmd(e))
	return cmd
}

// offline opens the store and a governance service for one command.
func offline(ctx context.Context, e *env, f *serverFlags, fn func(st *sqlstore.Store, svc *governance.Service) error) error {
	c, err := f.load(e)
	if err != nil {
		return err
	}
	st, err := openStore(ctx, c, newLogger(e.stderr, c))
	if err != nil {
		return err
	}
	defer st.Close()
	svc := governance.New(st, governance.Config{KeyPrefix: c.Keys.Prefix, AdminPrefix: c.Keys.AdminPrefix,
		RotationGrace: c.Keys.RotationGrace}, nil, nil)
	return fn(st, svc)
}

// resolveOrg picks the organization: the one given, or the only one.
func resolveOrg(ctx context.Context, st *sqlstore.Store, orgID string) (string, error) {
	if orgID != "" {
		if _, err := st.GetOrg(ctx, orgID); err != nil {
			return "", fmt.Errorf("organization %s: %w (list them with `tollgate admin orgs`)", orgID, err)
		}
		return orgID, nil
	}
	orgs, err := st.ListOrgs(ctx)
	if err != nil {
		return "", err
	}
	switch len(orgs) {
	case 0:
		return "", fmt.Errorf("no organization yet: start `tollgate serve` once, or run `tollgate admin create-org`")
	case 1:
		return orgs[0].ID, nil
	}
	return "", usageError{fmt.Errorf("there are %d organizations; pass --org (see `tollgate admin orgs`)", len(orgs))}
}

func adminOrgsCmd(e *env) *cobra.Command {
	var f serverFlags
	cmd := &cobra.Command{
		Use:   "orgs",
		Short: "List organizations",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return offline(cmd.Context(), e, &f, func(st *sqlstore.Store, _ *governance.Service) error {
				orgs, err := st.ListOrgs(cmd.Context())
				if err != nil {
					return err
				}
				if e.jsonOut {
					out := make([]map[string]any, 0, len(orgs))
					for _, o := range orgs {
						out = append(out, map[string]any{"id": o.ID, "name": o.Name, "created_at": o.CreatedAt})
					}
					return e.printJSON(out)
				}
				rows := make([][]string, 0, len(orgs))
				for _, o := range orgs {
					rows = append(rows, []string{o.ID, o.Name, when(&o.CreatedAt)})
				}
				return e.printTable([]string{"ID", "NAME", "CREATED"}, rows)
			})
		},
	}
	f.register(cmd, false)
	return cmd
}

func adminCreateOrgCmd(e *env) *cobra.Command {
	var (
		f           serverFlags
		name, email string
	)
	cmd := &cobra.Command{
		Use:   "create-org",
		Short: "Create an organization with an owner and an owner admin token",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return offline(cmd.Context(), e, &f, func(_ *sqlstore.Store, svc *governance.Service) error {
				b, err := svc.CreateOrg(cmd.Context(), platform.SystemActor("cli"), name, email)
				if err != nil {
					return err
				}
				printBootstrap(e, b, "Created the organization. These secrets are shown once; store them now.")
				return nil
			})
		},
	}
	f.register(cmd, false)
	cmd.Flags().StringVar(&name, "name", "", "organization name (required)")
	cmd.Flags().StringVar(&email, "owner-email", "", "owner's email; the user is created if new (required)")
	_ = cmd.MarkFlagRequired("name")
	_ = cmd.MarkFlagRequired("owner-email")
	return cmd
}

func adminCreateTokenCmd(e *env) *cobra.Command {
	var (
		f           serverFlags
		orgID, name string
		role        string
		expiresIn   time.Duration
	)
	cmd := &cobra.Command{
		Use:   "create-token",
		Short: "Issue an admin token for the management API (shown once)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return offline(cmd.Context(), e, &f, func(st *sqlstore.Store, svc *governance.Service) error {
				org, err := resolveOrg(cmd.Context(), st, orgID)
				if err != nil {
					return err
				}
				var exp *time.Time
				if expiresIn > 0 {
					t := time.Now().UTC().Add(expiresIn)
					exp = &t
				}
				// The operator holding the database acts as an owner.
				p := platform.Principal{OrgID: org, Role: platform.RoleOwner, Actor: platform.SystemActor("cli")}
				t, secret, err := svc.CreateAdminToken(cmd.Context(), p, name, platform.Role(role), exp)
				if err != nil {
					return err
				}
				if e.jsonOut {
					return e.printJSON(map[string]any{"id": t.ID, "org_id": t.OrgID, "name": t.Name,
						"role": t.Role, "expires_at": t.ExpiresAt, "token": secret})
				}
				fmt.Fprintf(e.stdout, "Admin token %s (%s, role %s). Shown once; store it now:\n\n  %s\n\n", t.ID, t.Name, t.Role, secret)
				fmt.Fprintf(e.stdout, "  export TOLLGATE_ADMIN_TOKEN=%s\n", secret)
				return nil
			})
		},
	}
	f.register(cmd, false)
	cmd.Flags().StringVar(&orgID, "org", "", "organization ID (optional when there is only one)")
	cmd.Flags().StringVar(&name, "name", "cli", "a name to recognise the token by")
	cmd.Flags().StringVar(&role, "role", "owner", "owner, admin, member, billing or viewer")
	cmd.Flags().DurationVar(&expiresIn, "expires-in", 0, "lifetime such as 720h (default: no expiry)")
	return cmd
}

func adminSetPasswordCmd(e *env) *cobra.Command {
	var (
		f            serverFlags
		orgID, email string
		fromStdin    bool
	)
	cmd := &cobra.Command{
		Use:   "set-password",
		Short: "Set or reset a user's password (generated unless --password-stdin)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			pw := ""
			if fromStdin {
				line, err := bufio.NewReader(io.LimitReader(e.stdin, 4096)).ReadString('\n')
				if err != nil && err != io.EOF {
					return fmt.Errorf("read password from stdin: %w", err)
				}
				pw = strings.TrimRight(line, "\r\n")
				if pw == "" {
					return usageError{fmt.Errorf("--password-stdin: standard input was empty")}
				}
			}
			return offline(cmd.Context(), e, &f, func(st *sqlstore.Store, svc *governance.Service) error {
				org, err := resolveOrg(cmd.Context(), st, orgID)
				if err != nil {
					return err
				}
				got, err := svc.SetPassword(cmd.Context(), platform.SystemActor("cli"), org, email, pw)
				if err != nil {
					return err
				}
				if e.jsonOut {
					out := map[string]any{"email": strings.ToLower(strings.TrimSpace(email))}
					if !fromStdin {
						out["password"] = got
					}
					return e.printJSON(out)
				}
				if fromStdin {
					fmt.Fprintf(e.stdout, "Password set for %s.\n", email)
				} else {
					fmt.Fprintf(e.stdout, "New password for %s (shown once): %s\n", email, got)
				}
				return nil
			})
		},
	}
	f.register(cmd, false)
	cmd.Flags().StringVar(&orgID, "org", "", "organization whose audit log records the change (optional when there is only one)")
	cmd.Flags().StringVar(&email, "email", "", "the user's email (required)")
	cmd.Flags().BoolVar(&fromStdin, "password-stdin", false, "read the new password from standard input")
	_ = cmd.MarkFlagRequired("email")
	return cmd
}
