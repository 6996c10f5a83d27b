package dashboard

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"net/http"
	"strconv"
	"time"

	"github.com/tollgate-dev/tollgate/internal/billing"
	"github.com/tollgate-dev/tollgate/internal/money"
	"github.com/tollgate-dev/tollgate/internal/platform"
)

// Downloads: usage as CSV and monthly statements as CSV or JSON, with the
// columns of the management API's exports.

// usageCSVHeader names the export's columns, as the management API's
// GET /api/v1/usage?format=csv does.
var usageCSVHeader = []string{"start", "group_id", "key_id", "model", "requests", "errors", "prompt_tokens",
	"completion_tokens", "reasoning_tokens", "citation_tokens", "search_queries", "cost_micros", "cost_usd"}

func (db *Dashboard) usageCSV(w http.ResponseWriter, r *http.Request, c *reqCtx) error {
	f, err := parseUsageFilter(r.URL.Query(), db.d.Now())
	if err != nil {
		return err
	}
	q := billing.UsageQuery{GroupID: f.GroupID, KeyID: f.KeyID, Model: f.Model, From: f.From, To: f.To,
		Granularity: f.Granularity}
	if f.By != "" {
		q.By = []string{f.By}
	}
	rows, err := db.d.Billing.Usage(r.Context(), c.p, q)
	if err != nil {
		return err
	}
	var b bytes.Buffer
	cw := csv.NewWriter(&b)
	_ = cw.Write(usageCSVHeader)
	for _, u := range rows {
		_ = cw.Write([]string{u.Start.UTC().Format(time.RFC3339), u.GroupID, u.KeyID, u.Model, itoa(u.Requests),
			itoa(u.Errors), itoa(u.PromptTokens), itoa(u.CompletionTokens), itoa(u.ReasoningTokens),
			itoa(u.CitationTokens), itoa(u.SearchQueries), itoa(int64(u.Cost)), money.Format(u.Cost)})
	}
	cw.Flush()
	if err := cw.Error(); err != nil {
		return err
	}
	name := "tollgate-usage-" + f.From.Format("20060102T1504Z") + "-" + f.To.Format("20060102T1504Z") + "-" +
		string(f.Granularity) + ".csv"
	w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	w.Header().Set("Content-Disposition", `attachment; filename="`+name+`"`)
	_, _ = w.Write(b.Bytes())
	return nil
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

// statement downloads one month's statement as JSON or CSV.
func (db *Dashboard) statement(w http.ResponseWriter, r *http.Request, c *reqCtx) error {
	month, err := time.Parse("2006-01", r.PathValue("month"))
	if err != nil {
		return platform.Errorf(platform.KindNotFound, "A statement is named by its month, such as 2026-05.")
	}
	format := r.URL.Query().Get("format")
	if format != "csv" && format != "json" {
		return platform.Invalid("format", "Download a statement as csv or json.")
	}
	s, err := db.d.Billing.Statement(r.Context(), c.p, "", month)
	if err != nil {
		return err
	}
	name := "tollgate-statement-" + month.Format("2006-01")
	var body []byte
	if format == "json" {
		if body, err = json.MarshalIndent(s, "", "  "); err != nil {
			return err
		}
		w.Header().Set("Content-Type", "application/json")
	} else {
		var b bytes.Buffer
		cw := csv.NewWriter(&b)
		_ = cw.Write([]string{"month", "group_id", "model", "requests", "prompt_tokens", "completion_tokens",
			"reasoning_tokens", "citation_tokens", "search_queries", "cost_micros", "cost_usd"})
		m := month.Format("2006-01")
		for _, l := range s.Lines {
			_ = cw.Write([]string{m, l.GroupID, l.Model, itoa(l.Requests), itoa(l.PromptTokens), itoa(l.CompletionTokens),
				itoa(l.ReasoningTokens), itoa(l.CitationTokens), itoa(l.SearchQueries), itoa(int64(l.Cost)), money.Format(l.Cost)})
		}
		cw.Flush()
		if err := cw.Error(); err != nil {
			return err
		}
		body = b.Bytes()
		w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	}
	w.Header().Set("Content-Disposition", `attachment; filename="`+name+"."+format+`"`)
	_, _ = w.Write(body)
	return nil
}
