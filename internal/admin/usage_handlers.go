package admin

import (
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/tollgate-dev/tollgate/internal/billing"
	"github.com/tollgate-dev/tollgate/internal/httpjson"
	"github.com/tollgate-dev/tollgate/internal/platform"
)

// Default usage ranges when a query gives none: the last 30 days, or the
// last hour by the minute.
const (
	defaultUsageRange       = 30 * 24 * time.Hour
	defaultMinuteUsageRange = time.Hour
)

func (d *Deps) getUsage(w http.ResponseWriter, r *http.Request, p platform.Principal) error {
	b, err := d.billingService()
	if err != nil {
		return err
	}
	q := r.URL.Query()
	csvOut, err := wantCSV(r)
	if err != nil {
		return err
	}
	uq := billing.UsageQuery{KeyID: q.Get("key"), Model: q.Get("model"), Granularity: billing.Granularity(q.Get("granularity"))}
	if uq.Granularity == "" {
		uq.Granularity = billing.Day
	}
	if uq.From, err = queryTime(r, "from"); err != nil {
		return err
	}
	if uq.To, err = queryTime(r, "to"); err != nil {
		return err
	}
	// The defaults are applied here, not left to the service, so the
	// response can say which range it covers. A bucket counts when its
	// start is in [from, to), so the default from is a bucket boundary:
	// the first bucket is whole.
	if uq.To.IsZero() {
		uq.To = d.Now().UTC().Truncate(time.Second)
	}
	if uq.From.IsZero() {
		span, unit := defaultUsageRange, 24*time.Hour
		switch uq.Granularity {
		case billing.Minute:
			span, unit = defaultMinuteUsageRange, time.Minute
		case billing.Hour:
			unit = time.Hour
		}
		uq.From = uq.To.Add(-span).Truncate(unit)
	}
	for _, s := range strings.Split(q.Get("by"), ",") {
		if s = strings.TrimSpace(s); s != "" && !slices.Contains(uq.By, s) {
			uq.By = append(uq.By, s)
		}
	}
	if uq.GroupID, err = d.groupFilter(r.Context(), p, q.Get("group")); err != nil {
		return err
	}
	rows, err := b.Usage(r.Context(), p, uq)
	if err != nil {
		return err
	}
	if csvOut {
		out := [][]string{usageCSVHeader}
		for _, u := range rows {
			out = append(out, usageCSVRow(u))
		}
		name := "tollgate-usage-" + uq.From.Format("20060102T1504Z") + "-" + uq.To.Format("20060102T1504Z") + "-" + string(uq.Granularity) + ".csv"
		return writeCSV(w, name, out)
	}
	by := uq.By
	if by == nil {
		by = []string{}
	}
	out := usageReportJSON{Object: "list", Granularity: uq.Granularity, From: uq.From, To: uq.To, By: by,
		Data: make([]usageRowJSON, 0, len(rows))}
	for _, u := range rows {
		out.Data = append(out.Data, toUsageRow(u))
	}
	httpjson.Encode(w, http.StatusOK, out)
	return nil
}

// getUsageRecord returns one raw usage record, for support ("what did
// request X cost?"), while the retention keeps it.
func (d *Deps) getUsageRecord(w http.ResponseWriter, r *http.Request, p platform.Principal) error {
	b, err := d.billingService()
	if err != nil {
		return err
	}
	// billing.Service has no UsageRecord method; the action it would check
	// is checked here, and the store is asked directly.
	if err := platform.Authorize(p.Role, platform.ActUsageRead); err != nil {
		return err
	}
	id := r.PathValue("request_id")
	rec, err := b.Store().UsageRecord(r.Context(), p.OrgID, id)
	if err != nil {
		if platform.ErrorKind(err) == platform.KindNotFound {
			return notFound("no usage record for request %q: the ID is unknown, or its record is older than the retention (billing.usage_retention) and was pruned; the rollups in GET /api/v1/usage still count it", id)
		}
		return err
	}
	httpjson.Encode(w, http.StatusOK, toUsageRecord(rec))
	return nil
}
