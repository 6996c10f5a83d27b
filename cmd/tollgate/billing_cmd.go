package main

import (
	"errors"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/tollgate-dev/tollgate/internal/client"
	"github.com/tollgate-dev/tollgate/internal/money"
)

func billingCmd(e *env) *cobra.Command {
	var f apiFlags
	cmd := &cobra.Command{
		Use:   "billing",
		Short: "Prepaid credits: balance, ledger, statements, top-ups, grants and spend caps",
		Long: "Read and manage the organization's prepaid credits on a running Tollgate server through its\n" +
			"management API. Amounts are typed in dollars (12.50, at most six decimals) and shown in dollars.\n\n" +
			"Set TOLLGATE_URL (default " + defaultURL + ") and TOLLGATE_ADMIN_TOKEN, or pass --url and --token.",
	}
	f.register(cmd)
	cmd.AddCommand(
		billingBalanceCmd(e, &f),
		billingLedgerCmd(e, &f),
		billingStatementCmd(e, &f),
		billingPostCmd(e, &f, client.KindTopUp),
		billingPostCmd(e, &f, client.KindGrant),
		billingPostCmd(e, &f, client.KindRefund),
		billingPostCmd(e, &f, client.KindAdjustment),
		billingSettingsCmd(e, &f),
		billingCapsCmd(e, &f),
	)
	return cmd
}

// dollars writes micro-dollars for people: "$12.50", "$0.00542",
// "-$1.25" (at least two decimals, at most six, never rounded).
func dollars(m int64) string {
	s := money.Format(money.Micros(m))
	sign := ""
	if rest, ok := strings.CutPrefix(s, "-"); ok {
		sign, s = "-", rest
	}
	whole, frac, _ := strings.Cut(s, ".")
	frac = strings.TrimRight(frac, "0")
	for len(frac) < 2 {
		frac += "0"
	}
	return sign + "$" + whole + "." + frac
}

// parseDollars reads an amount argument or flag in dollars.
func parseDollars(what, s string) (int64, error) {
	m, err := money.Parse(s)
	if err != nil {
		return 0, usageError{fmt.Errorf("%s: %w", what, err)}
	}
	return int64(m), nil
}

// kv prints label/value pairs as two aligned columns.
func kv(w io.Writer, pairs ...[2]string) {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	for _, p := range pairs {
		fmt.Fprintf(tw, "%s:\t%s\n", p[0], p[1])
	}
	_ = tw.Flush()
}

func billingBalanceCmd(e *env, f *apiFlags) *cobra.Command {
	return &cobra.Command{
		Use:   "balance",
		Short: "Show the balance, holds, credit limit, tier and monthly grant",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := f.client(e)
			if err != nil {
				return err
			}
			a, err := c.Balance(cmd.Context())
			if err != nil {
				return explain(err, "", "")
			}
			if e.jsonOut {
				return e.printJSON(a)
			}
			tier := fmt.Sprintf("%d (lifetime top-ups %s)", a.Tier, dollars(a.LifetimeTopUpsMicros))
			if a.NextTierAtMicros != nil {
				tier = fmt.Sprintf("%d (lifetime top-ups %s; tier %d at %s)", a.Tier, dollars(a.LifetimeTopUpsMicros),
					a.Tier+1, dollars(*a.NextTierAtMicros))
			}
			grant := "none"
			if a.MonthlyGrantMicros > 0 {
				grant = fmt.Sprintf("%s a month (%s left this month)", dollars(a.MonthlyGrantMicros), dollars(a.GrantRemainingMicros))
			}
			kv(e.stdout,
				[2]string{"Balance", dollars(a.BalanceMicros)},
				[2]string{"Held", dollars(a.HeldMicros) + " (reserved by requests in flight)"},
				[2]string{"Credit limit", dollars(a.CreditLimitMicros)},
				[2]string{"Available", dollars(a.AvailableMicros) + " (balance - held + credit limit)"},
				[2]string{"Tier", tier},
				[2]string{"Monthly grant", grant},
			)
			return nil
		},
	}
}

func billingLedgerCmd(e *env, f *apiFlags) *cobra.Command {
	var q client.LedgerQuery
	var from, to string
	cmd := &cobra.Command{
		Use:   "ledger [--kind KIND] [--group GROUP] [--from T] [--to T] [--limit N] [--before ID]",
		Short: "List ledger transactions, newest first",
		Long: "List the organization's ledger transactions, newest first: top-ups, grants, grant expiries,\n" +
			"usage debits, refunds and adjustments. --from and --to take an RFC 3339 time, a date\n" +
			"(2026-11-01, midnight UTC) or a duration before now (7d, 24h).",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			now := time.Now()
			var err error
			if q.From, err = parseWhen("from", from, now); err != nil {
				return err
			}
			if q.To, err = parseWhen("to", to, now); err != nil {
				return err
			}
			c, err := f.client(e)
			if err != nil {
				return err
			}
			page, err := c.Ledger(cmd.Context(), q)
			if err != nil {
				return explain(err, "", "")
			}
			if e.jsonOut {
				return e.printJSON(page.Data)
			}
			if len(page.Data) == 0 {
				fmt.Fprintln(e.stdout, "No transactions. Add credits with `tollgate billing topup AMOUNT`.")
				return nil
			}
			rows := make([][]string, 0, len(page.Data))
			for _, t := range page.Data {
				detail := t.Memo
				if t.RequestID != "" {
					detail = strings.TrimSpace(t.Model + " " + t.RequestID)
				}
				rows = append(rows, []string{t.ID, when(&t.CreatedAt), t.Kind, dollars(t.AmountMicros),
					dollars(t.BalanceAfterMicros), cell(detail, 60)})
			}
			if err := e.printTable([]string{"ID", "TIME", "KIND", "AMOUNT", "BALANCE", "DETAIL"}, rows); err != nil {
				return err
			}
			if page.HasMore {
				fmt.Fprintf(e.stderr, "More transactions: tollgate billing ledger --before %s\n", page.NextCursor)
			}
			return nil
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&q.Kind, "kind", "", "only this kind: topup, grant, grant_expiry, usage, refund or adjustment")
	fl.StringVar(&q.Group, "group", "", "only usage of this group (ID or name)")
	fl.StringVar(&from, "from", "", "only transactions at or after this time")
	fl.StringVar(&to, "to", "", "only transactions before this time")
	fl.IntVar(&q.Limit, "limit", 50, "how many transactions (1 to 500)")
	fl.StringVar(&q.Before, "before", "", "only transactions older than this one (ltx_…): the next page")
	return cmd
}

func billingStatementCmd(e *env, f *apiFlags) *cobra.Command {
	var group string
	var csvOut bool
	cmd := &cobra.Command{
		Use:   "statement MONTH [--group GROUP] [--csv]",
		Short: "Show a month's statement (MONTH is YYYY-MM, e.g. 2026-11)",
		Long: "Show one month's statement: the opening and closing balance, credits and debits by kind, and\n" +
			"usage per group and model. --group limits it to one group (ID or name); --csv prints the\n" +
			"usage lines as CSV, whose cost_micros column adds up to the statement's usage total.",
		Args: exactArgs("MONTH"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if csvOut && e.jsonOut {
				return usageError{errors.New("--csv and --json: pick one")}
			}
			if _, err := time.Parse("2006-01", args[0]); err != nil {
				return usageError{fmt.Errorf("MONTH %q: write it as YYYY-MM, e.g. %s", args[0], time.Now().UTC().Format("2006-01"))}
			}
			c, err := f.client(e)
			if err != nil {
				return err
			}
			if csvOut {
				b, err := c.StatementCSV(cmd.Context(), args[0], group)
				if err != nil {
					return explain(err, "", "")
				}
				_, err = e.stdout.Write(b)
				return err
			}
			s, err := c.Statement(cmd.Context(), args[0], group)
			if err != nil {
				return explain(err, "", "")
			}
			if e.jsonOut {
				return e.printJSON(s)
			}
			return e.printStatement(s)
		},
	}
	cmd.Flags().StringVar(&group, "group", "", "the statement of one group (ID or name)")
	cmd.Flags().BoolVar(&csvOut, "csv", false, "print the usage lines as CSV")
	return cmd
}

func (e *env) printStatement(s *client.Statement) error {
	title := "Statement " + s.Month + " of organization " + s.OrgID
	if s.GroupID != "" {
		title += ", group " + s.GroupID
	}
	fmt.Fprintln(e.stdout, title)
	var pairs [][2]string
	if s.OpeningMicros != nil && s.ClosingMicros != nil {
		pairs = append(pairs, [2]string{"Opening balance", dollars(*s.OpeningMicros)}, [2]string{"Closing balance", dollars(*s.ClosingMicros)})
	}
	for _, k := range []struct{ kind, label string }{
		{client.KindTopUp, "Top-ups"}, {client.KindGrant, "Grants"}, {"grant_expiry", "Expired grants"},
		{client.KindRefund, "Refunds"}, {client.KindAdjustment, "Adjustments"}, {"usage", "Usage debits"},
	} {
		if v, ok := s.ByKindMicros[k.kind]; ok && v != 0 {
			pairs = append(pairs, [2]string{k.label, dollars(v)})
		}
	}
	pairs = append(pairs, [2]string{"Usage total", dollars(s.TotalMicros)})
	kv(e.stdout, pairs...)
	if len(s.Lines) == 0 {
		fmt.Fprintln(e.stdout, "\nNo usage this month.")
		return nil
	}
	fmt.Fprintln(e.stdout)
	rows := make([][]string, 0, len(s.Lines))
	for _, l := range s.Lines {
		rows = append(rows, []string{l.GroupID, l.Model, fmt.Sprint(l.Requests), fmt.Sprint(l.PromptTokens),
			fmt.Sprint(l.CompletionTokens), fmt.Sprint(l.SearchQueries), dollars(l.CostMicros)})
	}
	return e.printTable([]string{"GROUP", "MODEL", "REQUESTS", "PROMPT TOKENS", "COMPLETION TOKENS", "SEARCHES", "COST"}, rows)
}

// billingPostCmd is `topup`, `grant`, `refund` or `adjust`.
func billingPostCmd(e *env, f *apiFlags, kind string) *cobra.Command {
	var r client.PostRequest
	var use, short, done string
	switch kind {
	case client.KindTopUp:
		use, short, done = "topup AMOUNT", "Add purchased credits (raises the lifetime top-ups, hence the tier)", "Topped up"
	case client.KindGrant:
		use, short, done = "grant AMOUNT", "Add free credits (they do not count towards the tier)", "Granted"
	case client.KindRefund:
		use, short, done = "refund AMOUNT", "Return credits to the customer (takes them off the balance)", "Refunded"
	case client.KindAdjustment:
		use, short, done = "adjust AMOUNT", "Correct the balance by AMOUNT, either sign (negative: `adjust --memo WHY -- -1.25`)", "Adjusted by"
	}
	cmd := &cobra.Command{
		Use:   use,
		Short: short,
		Long: short + ".\n\nAMOUNT is in dollars: 50, 12.50, 0.000001. Pass --idempotency-key when a retry must not\n" +
			"post twice: a second call with the same key returns the first transaction.",
		Args: exactArgs("AMOUNT"),
		RunE: func(cmd *cobra.Command, args []string) error {
			var err error
			if r.AmountMicros, err = parseDollars("AMOUNT", args[0]); err != nil {
				return err
			}
			c, err := f.client(e)
			if err != nil {
				return err
			}
			t, err := c.Post(cmd.Context(), kind, r)
			if err != nil {
				return explain(err, "", "")
			}
			if e.jsonOut {
				return e.printJSON(t)
			}
			amt := t.AmountMicros
			if kind == client.KindRefund {
				amt = -amt
			}
			fmt.Fprintf(e.stdout, "%s %s (%s). Balance: %s.\n", done, dollars(amt), t.ID, dollars(t.BalanceAfterMicros))
			return nil
		},
	}
	cmd.Flags().StringVar(&r.Memo, "memo", "", "why, for the ledger and the statement")
	cmd.Flags().StringVar(&r.IdempotencyKey, "idempotency-key", "", "post at most once per key (retries return the first transaction)")
	if kind == client.KindAdjustment {
		cmd.SetFlagErrorFunc(func(_ *cobra.Command, err error) error {
			return usageError{fmt.Errorf("%w (for a negative adjustment put -- before the amount, after any flags: tollgate billing adjust --memo WHY -- -1.25)", err)}
		})
	}
	return cmd
}

func billingSettingsCmd(e *env, f *apiFlags) *cobra.Command {
	var creditLimit, monthlyGrant string
	cmd := &cobra.Command{
		Use:   "settings [--credit-limit AMOUNT] [--monthly-grant AMOUNT]",
		Short: "Show or change the credit limit and the monthly grant",
		Long: "Without flags, show the account's settings. --credit-limit is how far below zero the balance\n" +
			"may go (0: strictly prepaid); --monthly-grant is credited at the start of every UTC month and\n" +
			"expires at its end (0: none).",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			var s client.BillingSettings
			for _, fl := range []struct {
				name string
				val  string
				dst  **int64
			}{{"credit-limit", creditLimit, &s.CreditLimitMicros}, {"monthly-grant", monthlyGrant, &s.MonthlyGrantMicros}} {
				if !cmd.Flags().Changed(fl.name) {
					continue
				}
				v, err := parseDollars("--"+fl.name, fl.val)
				if err != nil {
					return err
				}
				*fl.dst = &v
			}
			c, err := f.client(e)
			if err != nil {
				return err
			}
			var a *client.Account
			if s.CreditLimitMicros == nil && s.MonthlyGrantMicros == nil {
				a, err = c.Balance(cmd.Context())
			} else {
				a, err = c.UpdateBillingSettings(cmd.Context(), s)
			}
			if err != nil {
				return explain(err, "", "")
			}
			if e.jsonOut {
				return e.printJSON(a)
			}
			kv(e.stdout, [2]string{"Credit limit", dollars(a.CreditLimitMicros)}, [2]string{"Monthly grant", dollars(a.MonthlyGrantMicros)})
			return nil
		},
	}
	cmd.Flags().StringVar(&creditLimit, "credit-limit", "", "how far below zero the balance may go, in dollars")
	cmd.Flags().StringVar(&monthlyGrant, "monthly-grant", "", "free credits each month, in dollars")
	return cmd
}

// flagChanged reports whether any of names was set on the command line.
func flagChanged(fs *pflag.FlagSet, names ...string) bool {
	for _, n := range names {
		if fs.Changed(n) {
			return true
		}
	}
	return false
}
