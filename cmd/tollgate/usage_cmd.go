package main

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/tollgate-dev/tollgate/internal/client"
)

func usageCmd(e *env) *cobra.Command {
	var f apiFlags
	var q client.UsageQuery
	var from, to, by string
	var csvOut bool
	cmd := &cobra.Command{
		Use:   "usage [--group G] [--key K] [--model M] [--from T] [--to T] [--granularity day] [--by group,key,model] [--csv]",
		Short: "Show usage: requests, tokens and cost, per minute, hour or day",
		Long: "Show the organization's usage from the server's rollups: requests, errors, tokens, search\n" +
			"queries and cost per bucket (--granularity minute, hour or day; default day), split further\n" +
			"with --by. The default range is the last 30 days (the last hour by the minute).\n" +
			"--from and --to take an RFC 3339 time, a date (2026-11-01, midnight UTC) or a duration\n" +
			"before now (7d, 24h). --csv prints CSV for a spreadsheet.\n\n" +
			"Set TOLLGATE_URL (default " + defaultURL + ") and TOLLGATE_ADMIN_TOKEN, or pass --url and --token.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if csvOut && e.jsonOut {
				return usageError{errors.New("--csv and --json: pick one")}
			}
			now := time.Now()
			var err error
			if q.From, err = parseWhen("from", from, now); err != nil {
				return err
			}
			if q.To, err = parseWhen("to", to, now); err != nil {
				return err
			}
			q.By = strings.Split(by, ",")
			c, err := f.client(e)
			if err != nil {
				return err
			}
			if csvOut {
				b, err := c.UsageCSV(cmd.Context(), q)
				if err != nil {
					return explain(err, "", "")
				}
				_, err = e.stdout.Write(b)
				return err
			}
			r, err := c.Usage(cmd.Context(), q)
			if err != nil {
				return explain(err, "", "")
			}
			if e.jsonOut {
				return e.printJSON(r)
			}
			return e.printUsage(r)
		},
	}
	f.register(cmd)
	fl := cmd.Flags()
	fl.StringVar(&q.Group, "group", "", "only this group (ID or name)")
	fl.StringVar(&q.Key, "key", "", "only this key (key_…)")
	fl.StringVar(&q.Model, "model", "", "only this model")
	fl.StringVar(&from, "from", "", "start of the range (RFC 3339, YYYY-MM-DD or a duration ago such as 7d)")
	fl.StringVar(&to, "to", "", "end of the range, exclusive (default now)")
	fl.StringVar(&q.Granularity, "granularity", "", "bucket size: minute, hour or day (default day)")
	fl.StringVar(&by, "by", "", "split rows by any of group,key,model (comma-separated)")
	fl.BoolVar(&csvOut, "csv", false, "print CSV instead of a table")
	cmd.AddCommand(usageRecordCmd(e, &f))
	return cmd
}

func (e *env) printUsage(r *client.UsageReport) error {
	if len(r.Data) == 0 {
		fmt.Fprintf(e.stdout, "No usage from %s to %s.\n", when(&r.From), when(&r.To))
		return nil
	}
	layout := "2006-01-02 15:04Z"
	if r.Granularity == "day" {
		layout = "2006-01-02"
	}
	split := map[string]bool{}
	for _, b := range r.By {
		split[b] = true
	}
	header := []string{"START"}
	for _, b := range []string{"group", "key", "model"} {
		if split[b] {
			header = append(header, strings.ToUpper(b))
		}
	}
	header = append(header, "REQUESTS", "ERRORS", "PROMPT TOKENS", "COMPLETION TOKENS", "REASONING TOKENS", "SEARCHES", "COST")
	var total client.UsageRow
	rows := make([][]string, 0, len(r.Data)+1)
	for _, u := range r.Data {
		row := []string{u.Start.UTC().Format(layout)}
		for _, b := range []struct {
			name, v string
		}{{"group", u.GroupID}, {"key", u.KeyID}, {"model", u.Model}} {
			if split[b.name] {
				row = append(row, cell(b.v, 40))
			}
		}
		rows = append(rows, append(row, usageCells(u)...))
		total.Requests += u.Requests
		total.Errors += u.Errors
		total.PromptTokens += u.PromptTokens
		total.CompletionTokens += u.CompletionTokens
		total.ReasoningTokens += u.ReasoningTokens
		total.SearchQueries += u.SearchQueries
		total.CostMicros += u.CostMicros
	}
	if len(r.Data) > 1 {
		row := []string{"TOTAL"}
		for range len(header) - 8 {
			row = append(row, "")
		}
		rows = append(rows, append(row, usageCells(total)...))
	}
	return e.printTable(header, rows)
}

func usageCells(u client.UsageRow) []string {
	n := func(v int64) string { return strconv.FormatInt(v, 10) }
	return []string{n(u.Requests), n(u.Errors), n(u.PromptTokens), n(u.CompletionTokens), n(u.ReasoningTokens),
		n(u.SearchQueries), dollars(u.CostMicros)}
}

func usageRecordCmd(e *env, f *apiFlags) *cobra.Command {
	return &cobra.Command{
		Use:   "record REQUEST_ID",
		Short: "Show the raw usage record of one request (while it is retained)",
		Args:  exactArgs("REQUEST_ID"),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := f.client(e)
			if err != nil {
				return err
			}
			r, err := c.UsageRecord(cmd.Context(), args[0])
			if err != nil {
				return explain(err, "", "")
			}
			if e.jsonOut {
				return e.printJSON(r)
			}
			kv(e.stdout,
				[2]string{"Request", r.RequestID},
				[2]string{"Started", r.StartedAt.UTC().Format(time.RFC3339)},
				[2]string{"Group / key", r.GroupID + " / " + r.KeyID},
				[2]string{"Model", r.Model + servedBy(r)},
				[2]string{"Outcome", fmt.Sprintf("%s (HTTP %d, %d attempt(s), %d ms)", r.Outcome, r.Status, r.Attempts, r.LatencyMS)},
				[2]string{"Tokens", fmt.Sprintf("%d prompt, %d completion, %d reasoning, %d citation", r.PromptTokens,
					r.CompletionTokens, r.ReasoningTokens, r.CitationTokens)},
				[2]string{"Search queries", strconv.FormatInt(r.SearchQueries, 10)},
				[2]string{"Cost", fmt.Sprintf("%s (input %s, output %s, request %s)", dollars(r.Cost.Total.Micros),
					dollars(r.Cost.Input.Micros), dollars(r.Cost.Output.Micros), dollars(r.Cost.Request.Micros))},
			)
			return nil
		},
	}
}

func servedBy(r *client.UsageRecord) string {
	if r.ServedBy == "" || r.ServedBy == r.Model {
		return ""
	}
	return " (served by " + r.ServedBy + ")"
}

// parseWhen reads a time flag: an RFC 3339 time, a date (midnight UTC),
// or a duration before now (7d, 24h, 30m). Empty is the zero time.
func parseWhen(flag, s string, now time.Time) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t, nil
	}
	if t, err := time.Parse("2006-01-02", s); err == nil {
		return t, nil
	}
	if n, ok := strings.CutSuffix(s, "d"); ok {
		if days, err := strconv.Atoi(n); err == nil && days >= 0 && days <= 100*366 {
			return now.Add(-time.Duration(days) * 24 * time.Hour), nil
		}
	}
	if d, err := time.ParseDuration(s); err == nil && d >= 0 {
		return now.Add(-d), nil
	}
	return time.Time{}, usageError{fmt.Errorf("--%s %q: give an RFC 3339 time (2026-11-01T00:00:00Z), a date (2026-11-01) or a duration before now (7d, 24h)", flag, s)}
}

func pricesCmd(e *env) *cobra.Command {
	var f apiFlags
	cmd := &cobra.Command{
		Use:   "prices",
		Short: "Show the price book: every price version of every model",
		Long: "Show the server's price book: per model, each dated version of its prices per million tokens,\n" +
			"per thousand search queries and per thousand requests (by search context size low/medium/high).\n" +
			"A request is priced by the version in effect when it started, so a price change never rewrites\n" +
			"history; the IN EFFECT column marks the versions that price requests now.\n\n" +
			"Set TOLLGATE_URL (default " + defaultURL + ") and TOLLGATE_ADMIN_TOKEN, or pass --url and --token.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := f.client(e)
			if err != nil {
				return err
			}
			ps, err := c.Prices(cmd.Context())
			if err != nil {
				return explain(err, "", "")
			}
			if e.jsonOut {
				return e.printJSON(ps)
			}
			rows := make([][]string, 0, len(ps))
			for _, p := range ps {
				fees := "-"
				if len(p.RequestPer1KMicros) > 0 {
					fees = dollars(p.RequestPer1KMicros["low"]) + " / " + dollars(p.RequestPer1KMicros["medium"]) + " / " +
						dollars(p.RequestPer1KMicros["high"])
				}
				cur := ""
				if p.InEffect {
					cur = "yes"
				}
				rows = append(rows, []string{p.Model, p.EffectiveFrom.UTC().Format("2006-01-02"), dollars(p.InputPer1MMicros),
					dollars(p.OutputPer1MMicros), dollars(p.ReasoningPer1MMicros), dollars(p.CitationPer1MMicros),
					dollars(p.SearchQueriesPer1KMicros), fees, cur})
			}
			return e.printTable([]string{"MODEL", "FROM", "INPUT/1M", "OUTPUT/1M", "REASONING/1M", "CITATION/1M",
				"SEARCH/1K", "REQUEST/1K LOW / MEDIUM / HIGH", "IN EFFECT"}, rows)
		},
	}
	f.register(cmd)
	return cmd
}
