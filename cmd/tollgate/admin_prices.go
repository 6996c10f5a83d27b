package main

import (
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/tollgate-dev/tollgate/internal/governance"
	"github.com/tollgate-dev/tollgate/internal/money"
	"github.com/tollgate-dev/tollgate/internal/platform"
	"github.com/tollgate-dev/tollgate/internal/pricing"
	"github.com/tollgate-dev/tollgate/internal/store/sqlstore"
)

// adminSetPriceCmd adds a price version. Prices are instance-wide (every
// organization pays them), so only the operator who owns the data sets
// them, offline; no organization's admin token can.
func adminSetPriceCmd(e *env) *cobra.Command {
	var (
		f                  serverFlags
		model, from        string
		in, out, reasoning string
		citation, search   string
		low, medium, high  string
	)
	cmd := &cobra.Command{
		Use:   "set-price",
		Short: "Add a price version for a model, effective from a date (history is never rewritten)",
		Long: "Add a price version for a model. Token prices are dollars per 1M tokens, search queries\n" +
			"dollars per 1K, request fees dollars per 1K requests by search context size. The version\n" +
			"applies to requests that start at or after --effective-from; earlier requests keep the\n" +
			"price they were billed at. Running servers pick it up within 10 seconds.\n\n" +
			"  tollgate admin set-price --model sonar --input 1 --output 1 --request-low 5 \\\n" +
			"    --request-medium 8 --request-high 12 --effective-from 2027-01-01T00:00:00Z",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			at := time.Now().UTC().Truncate(time.Second)
			if from != "" {
				t, err := time.Parse(time.RFC3339, from)
				if err != nil {
					return usageError{fmt.Errorf("--effective-from %q is not an RFC 3339 time such as 2027-01-01T00:00:00Z", from)}
				}
				at = t.UTC()
			}
			p := &pricing.Price{ID: platform.NewID(platform.PrefixPrice), Model: model, EffectiveFrom: at,
				RequestPer1K: map[pricing.ContextSize]money.Micros{}}
			for _, a := range []struct {
				flag, v string
				dst     *money.Micros
			}{
				{"input", in, &p.InputPer1M}, {"output", out, &p.OutputPer1M}, {"reasoning", reasoning, &p.ReasoningPer1M},
				{"citation", citation, &p.CitationPer1M}, {"search", search, &p.SearchPer1K},
			} {
				if a.v == "" {
					continue
				}
				m, err := money.Parse(a.v)
				if err != nil {
					return usageError{fmt.Errorf("--%s: %w", a.flag, err)}
				}
				*a.dst = m
			}
			for size, v := range map[pricing.ContextSize]string{pricing.ContextLow: low, pricing.ContextMedium: medium, pricing.ContextHigh: high} {
				if v == "" {
					continue
				}
				m, err := money.Parse(v)
				if err != nil {
					return usageError{fmt.Errorf("--request-%s: %w", size, err)}
				}
				p.RequestPer1K[size] = m
			}
			if err := p.Validate(); err != nil {
				return usageError{err}
			}
			return offline(cmd.Context(), e, &f, func(st *sqlstore.Store, _ *governance.Service) error {
				got, err := st.AddPrice(cmd.Context(), p, platform.SystemActor("cli"))
				if err != nil {
					return err
				}
				if e.jsonOut {
					return e.printJSON(got)
				}
				fmt.Fprintf(e.stdout, "Price %s for %s takes effect %s.\n", got.ID, got.Model, got.EffectiveFrom.Format(time.RFC3339))
				return nil
			})
		},
	}
	f.register(cmd, false)
	fl := cmd.Flags()
	fl.StringVar(&model, "model", "", "model ID the price applies to (required)")
	fl.StringVar(&from, "effective-from", "", "RFC 3339 time the price takes effect (default: now)")
	fl.StringVar(&in, "input", "", "dollars per 1M input tokens")
	fl.StringVar(&out, "output", "", "dollars per 1M output tokens")
	fl.StringVar(&reasoning, "reasoning", "", "dollars per 1M reasoning tokens")
	fl.StringVar(&citation, "citation", "", "dollars per 1M citation tokens")
	fl.StringVar(&search, "search", "", "dollars per 1K search queries")
	fl.StringVar(&low, "request-low", "", "dollars per 1K requests, search_context_size low")
	fl.StringVar(&medium, "request-medium", "", "dollars per 1K requests, search_context_size medium")
	fl.StringVar(&high, "request-high", "", "dollars per 1K requests, search_context_size high")
	_ = cmd.MarkFlagRequired("model")
	return cmd
}
