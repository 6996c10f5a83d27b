package main

import (
	"context"
	"errors"
	"fmt"
	"strconv"

	"github.com/spf13/cobra"

	"github.com/tollgate-dev/tollgate/internal/client"
)

func limitsCmd(e *env) *cobra.Command {
	var f apiFlags
	var scope, id string
	cmd := &cobra.Command{
		Use:   "limits [--scope SCOPE --id ID]",
		Short: "List or set rate limits (requests and tokens per minute, concurrency)",
		Long: "List the rate limits set on the organization, its groups and its keys, or (with --scope and\n" +
			"--id) on one of them. Limits without a setting fall back to the organization's usage-tier\n" +
			"defaults (see docs/limits.md).\n\n" +
			"Set TOLLGATE_URL (default " + defaultURL + ") and TOLLGATE_ADMIN_TOKEN, or pass --url and --token.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if (scope == "") != (id == "") && scope != client.ScopeOrg {
				return usageError{errors.New("--scope and --id go together (e.g. --scope group --id my-app)")}
			}
			c, err := f.client(e)
			if err != nil {
				return err
			}
			if scope == client.ScopeOrg && id == "" {
				if id, err = orgID(cmd.Context(), c); err != nil {
					return err
				}
			}
			ls, err := c.Limits(cmd.Context(), scope, id)
			if err != nil {
				return explain(err, "", "")
			}
			return e.printLimits(ls)
		},
	}
	f.register(cmd)
	cmd.Flags().StringVar(&scope, "scope", "", "org, group or key")
	cmd.Flags().StringVar(&id, "id", "", "the group's ID or name, or the key's ID")
	cmd.AddCommand(limitsSetCmd(e, &f), limitsDeleteCmd(e, &f))
	return cmd
}

func (e *env) printLimits(ls []client.Limit) error {
	if e.jsonOut {
		return e.printJSON(ls)
	}
	if len(ls) == 0 {
		fmt.Fprintln(e.stdout, "No rate limits set; the usage-tier defaults apply. Set one with `tollgate limits set key KEY_ID --rpm 100`.")
		return nil
	}
	rows := make([][]string, 0, len(ls))
	for _, l := range ls {
		rows = append(rows, []string{l.Scope, l.ScopeID, orAll(l.Model), limitCell(l.RPM), limitCell(l.TPM),
			limitCell(l.Concurrency), when(l.UpdatedAt)})
	}
	return e.printTable([]string{"SCOPE", "ID", "MODEL", "RPM", "TPM", "CONCURRENCY", "UPDATED"}, rows)
}

func orAll(model string) string {
	if model == "" {
		return "*"
	}
	return model
}

func limitCell(n int64) string {
	if n == 0 {
		return "-"
	}
	return strconv.FormatInt(n, 10)
}

// scopeArgs reads SCOPE [ID] from the front of args: the ID may be left
// out for the org scope (the token's organization). It returns the scope,
// the ID and the arguments after them; want is how many come after.
func scopeArgs(ctx context.Context, c *client.Client, cmd *cobra.Command, args []string, want int) (scope, id string, rest []string, err error) {
	if len(args) == 0 {
		return "", "", nil, usageError{fmt.Errorf("missing SCOPE (org, group or key); usage: %s", cmd.UseLine())}
	}
	scope = args[0]
	switch {
	case scope != client.ScopeOrg && scope != client.ScopeGroup && scope != client.ScopeKey:
		return "", "", nil, usageError{fmt.Errorf("scope %q: use org, group or key; usage: %s", scope, cmd.UseLine())}
	case len(args) == 1+want && scope == client.ScopeOrg:
		id, err = orgID(ctx, c)
		return scope, id, args[1:], err
	case len(args) == 2+want:
		return scope, args[1], args[2:], nil
	case len(args) < 2+want:
		return "", "", nil, usageError{fmt.Errorf("missing arguments; usage: %s", cmd.UseLine())}
	}
	return "", "", nil, usageError{fmt.Errorf("too many arguments; usage: %s — quote names that contain spaces", cmd.UseLine())}
}

// orgID returns the ID of the admin token's organization.
func orgID(ctx context.Context, c *client.Client) (string, error) {
	o, err := c.Org(ctx)
	if err != nil {
		return "", explain(err, "", "")
	}
	return o.ID, nil
}

func limitsSetCmd(e *env, f *apiFlags) *cobra.Command {
	var s client.LimitSetting
	cmd := &cobra.Command{
		Use:   "set SCOPE [ID] [--model MODEL] [--rpm N] [--tpm N] [--concurrency N]",
		Short: "Set a rate limit on the organization, a group or a key",
		Long: "Set requests per minute (--rpm), tokens per minute (--tpm) and requests in flight\n" +
			"(--concurrency) for SCOPE (org, group or key) and ID (a group's ID or name, a key's ID; none\n" +
			"for org), for one model (--model) or all. Flags left out keep their current value; 0 removes\n" +
			"that limit. The change applies from the next request.",
		RunE: func(cmd *cobra.Command, args []string) error {
			if !flagChanged(cmd.Flags(), "rpm", "tpm", "concurrency") {
				return usageError{errors.New("nothing to set: pass --rpm, --tpm and/or --concurrency (0 removes a limit)")}
			}
			c, err := f.client(e)
			if err != nil {
				return err
			}
			scope, id, _, err := scopeArgs(cmd.Context(), c, cmd, args, 0)
			if err != nil {
				return err
			}
			// PUT replaces the whole setting: start from the current one so
			// a flag left out keeps its value.
			cur, err := c.Limits(cmd.Context(), scope, id)
			if err != nil {
				return explain(err, "", "")
			}
			next := s
			for _, l := range cur {
				if l.Model == s.Model {
					next.RPM, next.TPM, next.Concurrency = l.RPM, l.TPM, l.Concurrency
				}
			}
			fl := cmd.Flags()
			if fl.Changed("rpm") {
				next.RPM = s.RPM
			}
			if fl.Changed("tpm") {
				next.TPM = s.TPM
			}
			if fl.Changed("concurrency") {
				next.Concurrency = s.Concurrency
			}
			l, err := c.SetLimit(cmd.Context(), scope, id, next)
			if err != nil {
				return explain(err, "", "")
			}
			if e.jsonOut {
				return e.printJSON(l)
			}
			if l.Deleted {
				fmt.Fprintf(e.stdout, "Removed the rate limit of %s %s for %s; the tier defaults apply.\n", l.Scope, l.ScopeID, modelText(l.Model))
				return nil
			}
			fmt.Fprintf(e.stdout, "Set the rate limit of %s %s for %s: %s, %s, %s.\n", l.Scope, l.ScopeID, modelText(l.Model),
				limitText(l.RPM, "requests/min"), limitText(l.TPM, "tokens/min"), limitText(l.Concurrency, "in flight"))
			return nil
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&s.Model, "model", "", "the model the limit applies to (default: every model)")
	fl.Int64Var(&s.RPM, "rpm", 0, "requests per minute (0: no limit)")
	fl.Int64Var(&s.TPM, "tpm", 0, "tokens (prompt + completion) per minute (0: no limit)")
	fl.Int64Var(&s.Concurrency, "concurrency", 0, "requests in flight at once (0: no limit)")
	return cmd
}

func limitsDeleteCmd(e *env, f *apiFlags) *cobra.Command {
	var model string
	cmd := &cobra.Command{
		Use:   "delete SCOPE [ID] [--model MODEL]",
		Short: "Remove a rate limit setting (the tier defaults apply again)",
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := f.client(e)
			if err != nil {
				return err
			}
			scope, id, _, err := scopeArgs(cmd.Context(), c, cmd, args, 0)
			if err != nil {
				return err
			}
			l, err := c.SetLimit(cmd.Context(), scope, id, client.LimitSetting{Model: model})
			if err != nil {
				return explain(err, "", "")
			}
			if e.jsonOut {
				return e.printJSON(l)
			}
			fmt.Fprintf(e.stdout, "Removed the rate limit of %s %s for %s; the tier defaults apply.\n", l.Scope, l.ScopeID, modelText(l.Model))
			return nil
		},
	}
	cmd.Flags().StringVar(&model, "model", "", "the model whose setting to remove (default: the all-models one)")
	return cmd
}

func modelText(m string) string {
	if m == "" {
		return "every model"
	}
	return "model " + m
}

// limitText says "100 requests/min", or "requests/min unlimited" for 0.
func limitText(n int64, unit string) string {
	if n == 0 {
		return unit + " unlimited"
	}
	return strconv.FormatInt(n, 10) + " " + unit
}

func billingCapsCmd(e *env, f *apiFlags) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "caps",
		Short: "List, set or delete monthly spend caps",
		Long: "Monthly spend caps on the organization, a group or a key, with this month's spend. A request\n" +
			"is refused before it reaches an upstream when its most possible cost does not fit under every\n" +
			"cap that applies.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := f.client(e)
			if err != nil {
				return err
			}
			cs, err := c.Caps(cmd.Context())
			if err != nil {
				return explain(err, "", "")
			}
			if e.jsonOut {
				return e.printJSON(cs)
			}
			if len(cs) == 0 {
				fmt.Fprintln(e.stdout, "No spend caps. Set one with `tollgate billing caps set group GROUP AMOUNT`.")
				return nil
			}
			rows := make([][]string, 0, len(cs))
			for _, x := range cs {
				rows = append(rows, []string{x.Scope, x.ScopeID, dollars(x.MonthlyCapMicros), dollars(x.SpentMicros),
					dollars(x.HeldMicros), dollars(x.RemainingMicros)})
			}
			return e.printTable([]string{"SCOPE", "ID", "MONTHLY CAP", "SPENT", "HELD", "REMAINING"}, rows)
		},
	}
	cmd.AddCommand(capsSetCmd(e, f), capsDeleteCmd(e, f))
	return cmd
}

func capsSetCmd(e *env, f *apiFlags) *cobra.Command {
	return &cobra.Command{
		Use:   "set SCOPE [ID] AMOUNT",
		Short: "Set the monthly spend cap of the organization, a group or a key (AMOUNT in dollars)",
		Long: "Set the monthly spend cap (UTC calendar month) of SCOPE (org, group or key) and ID (a group's ID\n" +
			"or name, a key's ID; none for org) to AMOUNT dollars. A cap of 0 blocks all spend.",
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := f.client(e)
			if err != nil {
				return err
			}
			scope, id, rest, err := scopeArgs(cmd.Context(), c, cmd, args, 1)
			if err != nil {
				return err
			}
			v, err := parseDollars("AMOUNT", rest[0])
			if err != nil {
				return err
			}
			x, err := c.SetCap(cmd.Context(), scope, id, v)
			if err != nil {
				return explain(err, "", "")
			}
			if e.jsonOut {
				return e.printJSON(x)
			}
			fmt.Fprintf(e.stdout, "Capped %s %s at %s a month (%s spent this month).\n", x.Scope, x.ScopeID,
				dollars(x.MonthlyCapMicros), dollars(x.SpentMicros))
			return nil
		},
	}
}

func capsDeleteCmd(e *env, f *apiFlags) *cobra.Command {
	return &cobra.Command{
		Use:   "delete SCOPE [ID]",
		Short: "Remove a monthly spend cap",
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := f.client(e)
			if err != nil {
				return err
			}
			scope, id, _, err := scopeArgs(cmd.Context(), c, cmd, args, 0)
			if err != nil {
				return err
			}
			if err := c.DeleteCap(cmd.Context(), scope, id); err != nil {
				return explain(err, "", "")
			}
			if e.jsonOut {
				return e.printJSON(map[string]any{"object": "spend_cap", "scope": scope, "scope_id": id, "deleted": true})
			}
			fmt.Fprintf(e.stdout, "Removed the spend cap of %s %s.\n", scope, id)
			return nil
		},
	}
}
