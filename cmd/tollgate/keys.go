package main

import (
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/tollgate-dev/tollgate/internal/client"
)

func keysCmd(e *env) *cobra.Command {
	var f apiFlags
	cmd := &cobra.Command{
		Use:   "keys",
		Short: "Manage API keys on a running server",
		Long: "Create, list, rename, rotate and revoke inference API keys on a running Tollgate server\n" +
			"through its management API. Secrets are shown once, when a key is created or rotated.\n\n" +
			"Set TOLLGATE_URL (default " + defaultURL + ") and TOLLGATE_ADMIN_TOKEN, or pass --url and --token.",
	}
	f.register(cmd)
	cmd.AddCommand(
		keysListCmd(e, &f),
		keysCreateCmd(e, &f),
		keysGetCmd(e, &f),
		keysRenameCmd(e, &f),
		keysRevokeCmd(e, &f),
		keysRotateCmd(e, &f),
	)
	return cmd
}

// printKeys prints keys as JSON (one object when single) or a table; the
// GROUP column appears when the keys may come from several groups.
func (e *env) printKeys(ks []client.Key, single, withGroup bool) error {
	if e.jsonOut {
		if single && len(ks) == 1 {
			return e.printJSON(ks[0])
		}
		return e.printJSON(ks)
	}
	header := []string{"ID", "NAME", "STATUS", "HINT", "CREATED", "LAST USED", "EXPIRES"}
	if withGroup {
		header = slices.Insert(header, 2, "GROUP")
	}
	rows := make([][]string, 0, len(ks))
	for _, k := range ks {
		r := []string{k.ID, cell(k.Name, 40), string(k.Status), k.Hint, when(&k.CreatedAt), when(k.LastUsedAt), when(k.ExpiresAt)}
		if withGroup {
			r = slices.Insert(r, 2, k.GroupID)
		}
		rows = append(rows, r)
	}
	return e.printTable(header, rows)
}

// printSecret shows a new key's secret with the warning that it is shown
// once.
func (e *env) printSecret(secret string) {
	fmt.Fprintf(e.stdout, "\n  %s\n\nThis secret is shown once and cannot be retrieved again: store it now.\n", secret)
}

// parseLifetime reads a duration such as 720h, 30m or 90d (days).
func parseLifetime(flag, s string) (time.Duration, error) {
	if n, ok := strings.CutSuffix(s, "d"); ok {
		if days, err := strconv.ParseInt(n, 10, 64); err == nil && days >= 0 && days <= 100*365 {
			return time.Duration(days) * 24 * time.Hour, nil
		}
	}
	d, err := time.ParseDuration(s)
	if err != nil {
		return 0, usageError{fmt.Errorf("--%s: %q is not a duration such as 720h, 90d or 30m", flag, s)}
	}
	return d, nil
}

// roughly formats d for people: "24h", "1h30m", "45m", "30s".
func roughly(d time.Duration) string {
	if d < time.Minute {
		return d.Round(time.Second).String()
	}
	s := d.Round(time.Minute).String()
	s = strings.TrimSuffix(s, "0s")
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}

func keysListCmd(e *env, f *apiFlags) *cobra.Command {
	var group string
	cmd := &cobra.Command{
		Use:   "list [--group ID]",
		Short: "List keys, of one group or all (never their secrets)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := f.client(e)
			if err != nil {
				return err
			}
			if group != "" {
				if group, err = groupID(cmd.Context(), c, group); err != nil {
					return err
				}
			}
			ks, err := c.ListKeys(cmd.Context(), group)
			if err != nil {
				if group != "" {
					return explain(err, "group "+group, "tollgate groups list")
				}
				return explain(err, "", "")
			}
			if !e.jsonOut && len(ks) == 0 {
				fmt.Fprintln(e.stdout, "No keys yet. Create one with `tollgate keys create --group ID --name NAME`.")
				return nil
			}
			return e.printKeys(ks, false, group == "")
		},
	}
	cmd.Flags().StringVar(&group, "group", "", "only keys of this group (ID or name)")
	return cmd
}

func keysCreateCmd(e *env, f *apiFlags) *cobra.Command {
	var group, name, expiresIn, expiresAt string
	cmd := &cobra.Command{
		Use:   "create --group ID --name NAME [--expires-in 720h]",
		Short: "Create a key; its secret is printed once",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			switch {
			case group == "":
				return usageError{errors.New("missing --group ID: the group to create the key in (see `tollgate groups list`)")}
			case name == "":
				return usageError{errors.New("missing --name NAME: a name to recognise the key by, such as the app or environment using it")}
			case expiresIn != "" && expiresAt != "":
				return usageError{errors.New("pass --expires-in or --expires-at, not both")}
			}
			nk := client.NewKey{Name: name}
			if expiresIn != "" {
				d, err := parseLifetime("expires-in", expiresIn)
				if err != nil {
					return err
				}
				secs := int64(d / time.Second)
				if secs < 1 {
					return usageError{fmt.Errorf("--expires-in must be at least 1s; omit it for a key that does not expire")}
				}
				nk.ExpiresInSeconds = &secs
			}
			if expiresAt != "" {
				t, err := time.Parse(time.RFC3339, expiresAt)
				if err != nil {
					return usageError{fmt.Errorf("--expires-at: %q is not an RFC 3339 time such as 2027-01-02T15:04:05Z", expiresAt)}
				}
				nk.ExpiresAt = &t
			}
			c, err := f.client(e)
			if err != nil {
				return err
			}
			if group, err = groupID(cmd.Context(), c, group); err != nil {
				return err
			}
			k, err := c.CreateKey(cmd.Context(), group, nk)
			if err != nil {
				return explain(err, "group "+group, "tollgate groups list")
			}
			if e.jsonOut {
				return e.printJSON(k)
			}
			fmt.Fprintf(e.stdout, "Created key %q (%s) in group %s.\n", k.Name, k.ID, k.GroupID)
			e.printSecret(k.Secret)
			if k.ExpiresAt != nil {
				fmt.Fprintf(e.stdout, "It expires at %s.\n", when(k.ExpiresAt))
			}
			return nil
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&group, "group", "", "group to create the key in, by ID or name (required; see `tollgate groups list`)")
	fl.StringVar(&name, "name", "", "a name to recognise the key by (required)")
	fl.StringVar(&expiresIn, "expires-in", "", "lifetime such as 720h or 90d (default: no expiry)")
	fl.StringVar(&expiresAt, "expires-at", "", "expiry as an RFC 3339 time (instead of --expires-in)")
	return cmd
}

func keysGetCmd(e *env, f *apiFlags) *cobra.Command {
	return &cobra.Command{
		Use:   "get ID",
		Short: "Show a key (never its secret)",
		Args:  exactArgs("ID"),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := f.client(e)
			if err != nil {
				return err
			}
			k, err := c.GetKey(cmd.Context(), args[0])
			if err != nil {
				return explain(err, "key "+args[0], "tollgate keys list")
			}
			return e.printKeys([]client.Key{*k}, true, true)
		},
	}
}

func keysRenameCmd(e *env, f *apiFlags) *cobra.Command {
	return &cobra.Command{
		Use:   "rename ID NAME",
		Short: "Rename a key",
		Args:  exactArgs("ID", "NAME"),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := f.client(e)
			if err != nil {
				return err
			}
			k, err := c.RenameKey(cmd.Context(), args[0], args[1])
			if err != nil {
				return explain(err, "key "+args[0], "tollgate keys list")
			}
			if e.jsonOut {
				return e.printJSON(k)
			}
			fmt.Fprintf(e.stdout, "Renamed key %s to %q.\n", k.ID, k.Name)
			return nil
		},
	}
}

func keysRevokeCmd(e *env, f *apiFlags) *cobra.Command {
	return &cobra.Command{
		Use:   "revoke ID",
		Short: "Revoke a key for good, from its next request",
		Args:  exactArgs("ID"),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := f.client(e)
			if err != nil {
				return err
			}
			k, err := c.RevokeKey(cmd.Context(), args[0])
			if err != nil {
				return explain(err, "key "+args[0], "tollgate keys list")
			}
			if e.jsonOut {
				return e.printJSON(k)
			}
			fmt.Fprintf(e.stdout, "Revoked key %q (%s, %s): requests with it are now refused.\n", k.Name, k.ID, k.Hint)
			return nil
		},
	}
}

func keysRotateCmd(e *env, f *apiFlags) *cobra.Command {
	var grace string
	cmd := &cobra.Command{
		Use:   "rotate ID [--grace 24h]",
		Short: "Replace a key with a new one; the old one works for a grace period",
		Long: "Issue a successor for a key and print its secret once. The old key keeps working for the\n" +
			"grace period (the server's default, 24h unless configured; --grace 0 stops it at once),\n" +
			"so clients can switch over without downtime.",
		Args: exactArgs("ID"),
		RunE: func(cmd *cobra.Command, args []string) error {
			var graceSecs *int64
			if cmd.Flags().Changed("grace") {
				d, err := parseLifetime("grace", grace)
				if err != nil {
					return err
				}
				if d < 0 {
					return usageError{errors.New("--grace must not be negative; 0 stops the old key at once")}
				}
				s := int64(d / time.Second)
				graceSecs = &s
			}
			c, err := f.client(e)
			if err != nil {
				return err
			}
			r, err := c.RotateKey(cmd.Context(), args[0], graceSecs)
			if err != nil {
				return explain(err, "key "+args[0], "tollgate keys list")
			}
			if e.jsonOut {
				return e.printJSON(r)
			}
			fmt.Fprintf(e.stdout, "Rotated key %q: %s replaces %s.\n", r.Name, r.ID, r.Previous.ID)
			e.printSecret(r.Secret)
			old := r.Previous
			switch {
			case old.RevokedAt != nil || (old.ExpiresAt != nil && !old.ExpiresAt.After(time.Now())):
				fmt.Fprintf(e.stdout, "The old key (%s) has stopped working.\n", old.Hint)
			case old.ExpiresAt != nil:
				fmt.Fprintf(e.stdout, "The old key (%s) keeps working until %s (in %s); switch your clients before then.\n",
					old.Hint, when(old.ExpiresAt), roughly(time.Until(*old.ExpiresAt)))
			}
			if r.ExpiresAt != nil {
				fmt.Fprintf(e.stdout, "The new key expires at %s.\n", when(r.ExpiresAt))
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&grace, "grace", "", "how long the old key keeps working, such as 24h or 0 (default: the server's)")
	return cmd
}
