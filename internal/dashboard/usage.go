package dashboard

import (
	"context"
	"math"
	"net/http"
	"net/url"
	"slices"
	"sort"
	"strconv"
	"time"

	"github.com/tollgate-dev/tollgate/internal/billing"
	"github.com/tollgate-dev/tollgate/internal/money"
	"github.com/tollgate-dev/tollgate/internal/platform"
)

// usageFilter is the usage page's query: a range, a bucket size, filters
// and an optional split into series.
type usageFilter struct {
	Range       string // 24h, 7d, 30d or custom
	From, To    time.Time
	FromDate    string // the custom range's dates, as typed
	ToDate      string
	Granularity billing.Granularity
	GroupID     string
	KeyID       string
	Model       string
	By          string // "", group, key or model
}

// maxHourlyRange keeps hourly charts readable (and their bars wider than
// a pixel).
const maxHourlyRange = 31 * 24 * time.Hour

// maxUsageRange is the longest range the page offers.
const maxUsageRange = 366 * 24 * time.Hour

// parseUsageFilter reads the query; defaults are the last 7 days by day.
func parseUsageFilter(q url.Values, now time.Time) (*usageFilter, error) {
	f := &usageFilter{Range: q.Get("range"), Granularity: billing.Granularity(q.Get("granularity")),
		GroupID: q.Get("group"), KeyID: q.Get("key"), Model: q.Get("model"), By: q.Get("by")}
	switch f.By {
	case "", "group", "key", "model":
	default:
		return nil, platform.Invalid("by", "Split by group, key or model.")
	}
	if f.Range == "" {
		f.Range = "7d"
	}
	if f.Granularity == "" {
		f.Granularity = billing.Day
		if f.Range == "24h" {
			f.Granularity = billing.Hour
		}
	}
	if f.Granularity != billing.Hour && f.Granularity != billing.Day {
		return nil, platform.Invalid("granularity", "Show usage by hour or by day.")
	}
	unit := 24 * time.Hour
	if f.Granularity == billing.Hour {
		unit = time.Hour
	}
	// A range ends with the current bucket (requests of this very minute
	// included) and starts on a bucket boundary: every bucket is whole.
	f.To = now.Truncate(unit).Add(unit)
	span := map[string]time.Duration{"24h": 24 * time.Hour, "7d": 7 * 24 * time.Hour, "30d": 30 * 24 * time.Hour}[f.Range]
	switch {
	case span > 0:
		f.From = f.To.Add(-span)
	case f.Range == "custom":
		f.FromDate, f.ToDate = q.Get("from"), q.Get("to")
		from, err := time.Parse("2006-01-02", f.FromDate)
		if err != nil {
			return nil, platform.Invalid("from", "Enter the first day as a date (YYYY-MM-DD).")
		}
		to, err := time.Parse("2006-01-02", f.ToDate)
		if err != nil {
			return nil, platform.Invalid("to", "Enter the last day as a date (YYYY-MM-DD).")
		}
		if to.Before(from) {
			return nil, platform.Invalid("to", "The last day must not be before the first.")
		}
		f.From, f.To = from, to.Add(24*time.Hour)
	default:
		return nil, platform.Invalid("range", "Pick a range: 24h, 7d, 30d or custom.")
	}
	switch d := f.To.Sub(f.From); {
	case d > maxUsageRange:
		return nil, platform.Invalid("from", "Pick at most a year.")
	case f.Granularity == billing.Hour && d > maxHourlyRange:
		return nil, platform.Invalid("granularity", "Hourly charts cover at most 31 days; pick days, or a shorter range.")
	}
	return f, nil
}

// query returns the filter's values as a query string, with changes.
func (f *usageFilter) query(set ...string) string {
	q := url.Values{}
	add := func(k, v string) {
		if v != "" {
			q.Set(k, v)
		}
	}
	add("range", f.Range)
	add("granularity", string(f.Granularity))
	if f.Range == "custom" {
		add("from", f.FromDate)
		add("to", f.ToDate)
	}
	add("group", f.GroupID)
	add("key", f.KeyID)
	add("model", f.Model)
	add("by", f.By)
	for i := 0; i+1 < len(set); i += 2 {
		if set[i+1] == "" {
			q.Del(set[i])
		} else {
			q.Set(set[i], set[i+1])
		}
	}
	return q.Encode()
}

// Query is the current filter as a query string (for the CSV link).
func (f *usageFilter) Query() string { return f.query() }

// RangeQuery is the query of the same view over another range.
func (f *usageFilter) RangeQuery(r string) string {
	g := ""
	if r == "24h" {
		g = string(billing.Hour)
	} else if f.Granularity == billing.Hour && r != "24h" {
		g = string(billing.Day)
	}
	return f.query("range", r, "granularity", g, "from", "", "to", "")
}

// total is one key's or model's usage over the range.
type total struct {
	ID       string
	Name     string
	Sub      string
	Requests int64
	Errors   int64
	Tokens   int64
	Cost     money.Micros
}

type usageView struct {
	F        *usageFilter
	Requests *chart
	Tokens   *chart
	Cost     *chart
	Total    total
	TopKeys  []total
	Models   []total
	Groups   []*platform.Group
	Keys     []*platform.APIKey
	ModelIDs []string
	// Table is the chart's data, one row per bucket.
	Table []total
	Empty bool
}

// maxSeries is how many series a split chart draws; the rest add up to
// "Other".
const maxSeries = 5

func (db *Dashboard) usagePage(w http.ResponseWriter, r *http.Request, c *reqCtx) error {
	ctx := r.Context()
	if err := platform.Authorize(c.p.Role, platform.ActUsageRead); err != nil {
		return err
	}
	v := &usageView{}
	status := http.StatusOK
	f, ferr := parseUsageFilter(r.URL.Query(), db.d.Now())
	if ferr != nil {
		// A bad filter is shown next to the filters, over the default view.
		status = statusOf(ferr)
		if f, _ = parseUsageFilter(url.Values{}, db.d.Now()); f == nil {
			return ferr
		}
	}
	v.F = f
	var err error
	if v.Groups, err = db.d.Gov.Groups(ctx, c.p); err != nil {
		return err
	}
	if v.Keys, err = db.d.Gov.Keys(ctx, c.p, ""); err != nil {
		return err
	}
	names := db.usageNames(v.Groups, v.Keys)
	base := billing.UsageQuery{GroupID: f.GroupID, KeyID: f.KeyID, Model: f.Model, From: f.From, To: f.To,
		Granularity: f.Granularity}

	// The chart: one query, split by the chosen dimension.
	q := base
	if f.By != "" {
		q.By = []string{f.By}
	}
	rows, err := db.d.Billing.Usage(ctx, c.p, q)
	if err != nil {
		return err
	}
	db.buildCharts(v, f, rows, names)

	// Top keys and models over the same range and filters.
	if v.TopKeys, err = db.topUsage(ctx, c, base, "key", names); err != nil {
		return err
	}
	if v.Models, err = db.topUsage(ctx, c, base, "model", names); err != nil {
		return err
	}
	seen := map[string]bool{}
	for _, m := range v.Models {
		seen[m.ID] = true
	}
	if prices, err := db.d.Billing.Prices(ctx, c.p); err == nil {
		for _, p := range prices {
			seen[p.Model] = true
		}
	}
	if f.Model != "" {
		seen[f.Model] = true
	}
	for m := range seen {
		v.ModelIDs = append(v.ModelIDs, m)
	}
	slices.Sort(v.ModelIDs)
	pv := db.view(r, c, "usage", "Usage", v)
	if ferr != nil {
		pv.forms = map[string]*form{"usage": {Values: r.URL.Query(), errors: map[string]string{platform.ErrorParam(ferr): platform.ErrorMessage(ferr)}}}
	}
	db.render(w, r, status, "usage", pv)
	return nil
}

// usageNames maps group and key IDs to what people call them.
func (db *Dashboard) usageNames(gs []*platform.Group, ks []*platform.APIKey) map[string][2]string {
	out := map[string][2]string{}
	for _, g := range gs {
		out["group:"+g.ID] = [2]string{g.Name, ""}
	}
	for _, k := range ks {
		out["key:"+k.ID] = [2]string{k.Name, k.Hint}
	}
	return out
}

func seriesName(by string, u billing.UsageRow, names map[string][2]string) (id, name, sub string) {
	switch by {
	case "group":
		id = u.GroupID
	case "key":
		id = u.KeyID
	case "model":
		return u.Model, u.Model, ""
	default:
		return "", "All", ""
	}
	if n, ok := names[by+":"+id]; ok {
		return id, n[0], n[1]
	}
	if id == "" {
		return id, "(none)", ""
	}
	return id, id, ""
}

func (db *Dashboard) buildCharts(v *usageView, f *usageFilter, rows []billing.UsageRow, names map[string][2]string) {
	step := 24 * time.Hour
	if f.Granularity == billing.Hour {
		step = time.Hour
	}
	var buckets []time.Time
	index := map[int64]int{}
	for t := f.From; t.Before(f.To); t = t.Add(step) {
		index[t.Unix()] = len(buckets)
		buckets = append(buckets, t)
	}
	// Series are ranked by requests; beyond maxSeries they join "Other".
	type agg struct {
		total
		req, tok, cost []float64
	}
	byID := map[string]*agg{}
	var order []*agg
	perBucket := make([]total, len(buckets))
	prompt, completion := make([]float64, len(buckets)), make([]float64, len(buckets))
	for _, u := range rows {
		i, ok := index[u.Start.UTC().Unix()]
		if !ok {
			continue
		}
		id, name, sub := seriesName(f.By, u, names)
		a := byID[id]
		if a == nil {
			a = &agg{total: total{ID: id, Name: name, Sub: sub}, req: make([]float64, len(buckets)),
				tok: make([]float64, len(buckets)), cost: make([]float64, len(buckets))}
			byID[id] = a
			order = append(order, a)
		}
		tokens := u.PromptTokens + u.CompletionTokens + u.ReasoningTokens
		a.Requests += u.Requests
		a.Cost += u.Cost
		a.req[i] += float64(u.Requests)
		a.tok[i] += float64(tokens)
		a.cost[i] += float64(u.Cost)
		prompt[i] += float64(u.PromptTokens)
		completion[i] += float64(u.CompletionTokens + u.ReasoningTokens)
		b := &perBucket[i]
		b.Requests += u.Requests
		b.Errors += u.Errors
		b.Tokens += tokens
		b.Cost += u.Cost
		v.Total.Requests += u.Requests
		v.Total.Errors += u.Errors
		v.Total.Tokens += tokens
		v.Total.Cost += u.Cost
	}
	v.Empty = v.Total.Requests == 0
	sort.SliceStable(order, func(i, j int) bool { return order[i].Requests > order[j].Requests })
	if len(order) > maxSeries {
		other := &agg{total: total{Name: "Other"}, req: make([]float64, len(buckets)),
			tok: make([]float64, len(buckets)), cost: make([]float64, len(buckets))}
		for _, a := range order[maxSeries:] {
			for i := range buckets {
				other.req[i] += a.req[i]
				other.tok[i] += a.tok[i]
				other.cost[i] += a.cost[i]
			}
		}
		order = append(order[:maxSeries], other)
	}
	hourly := f.Granularity == billing.Hour
	v.Requests = &chart{ID: "chart-requests", Title: "Requests per " + string(f.Granularity), Buckets: buckets, Hourly: hourly,
		Integer: true, Format: func(x float64) string { return num(int64(x)) }}
	v.Tokens = &chart{ID: "chart-tokens", Title: "Tokens per " + string(f.Granularity), Buckets: buckets, Hourly: hourly,
		Integer: true, Narrow: true, Format: compact, Ticks: countTicks}
	// Costs are whole micro-dollars: an integer axis.
	v.Cost = &chart{ID: "chart-cost", Title: "Cost per " + string(f.Granularity), Buckets: buckets, Hourly: hourly,
		Line: true, Narrow: true, Integer: true, Format: func(x float64) string { return usd(money.Micros(math.Round(x))) }, Ticks: usdTicks}
	for i, a := range order {
		cls := "swatch s" + strconv.Itoa(min(i, len(palette)-1))
		v.Requests.Series = append(v.Requests.Series, series{Name: a.Name, Values: a.req, Class: cls})
		v.Cost.Series = append(v.Cost.Series, series{Name: a.Name, Values: a.cost, Class: cls})
		if f.By != "" {
			v.Tokens.Series = append(v.Tokens.Series, series{Name: a.Name, Values: a.tok, Class: cls})
		}
	}
	if len(order) == 0 {
		zero := make([]float64, len(buckets))
		v.Requests.Series = []series{{Name: "All", Values: zero, Class: "swatch s0"}}
		v.Cost.Series = v.Requests.Series
	}
	if f.By == "" {
		v.Tokens.Series = []series{{Name: "Prompt", Values: prompt, Class: "swatch s0"},
			{Name: "Completion", Values: completion, Class: "swatch s1"}}
	}
	for i, t := range buckets {
		perBucket[i].Name = bucketLabel(t, hourly, false)
	}
	v.Table = perBucket
}

// compact writes a large count briefly: 1.2K, 3.4M.
func compact(x float64) string {
	switch {
	case x >= 1e9:
		return strconv.FormatFloat(x/1e9, 'f', -1, 64) + "B"
	case x >= 1e6:
		return strconv.FormatFloat(x/1e6, 'f', -1, 64) + "M"
	case x >= 1e3:
		return strconv.FormatFloat(x/1e3, 'f', -1, 64) + "K"
	}
	return strconv.FormatFloat(x, 'f', -1, 64)
}

// topUsage sums usage over the range by key or model, largest first.
func (db *Dashboard) topUsage(ctx context.Context, c *reqCtx, q billing.UsageQuery, by string, names map[string][2]string) ([]total, error) {
	q.By = []string{by}
	var rows []billing.UsageRow
	for _, part := range totalParts(q) {
		r, err := db.d.Billing.Usage(ctx, c.p, part)
		if err != nil {
			return nil, err
		}
		rows = append(rows, r...)
	}
	sums := map[string]*total{}
	var out []*total
	for _, u := range rows {
		id, name, sub := seriesName(by, u, names)
		t := sums[id]
		if t == nil {
			t = &total{ID: id, Name: name, Sub: sub}
			sums[id] = t
			out = append(out, t)
		}
		t.Requests += u.Requests
		t.Errors += u.Errors
		t.Tokens += u.PromptTokens + u.CompletionTokens + u.ReasoningTokens
		t.Cost += u.Cost
	}
	sort.SliceStable(out, func(i, j int) bool {
		if out[i].Cost != out[j].Cost {
			return out[i].Cost > out[j].Cost
		}
		return out[i].Requests > out[j].Requests
	})
	res := make([]total, 0, min(len(out), 10))
	for _, t := range out[:min(len(out), 10)] {
		res = append(res, *t)
	}
	return res, nil
}

// totalParts splits an hourly query whose totals are all that is wanted
// into the same range's whole days, by the day, and the hours before its
// first midnight: a month's totals then read about 30 rows per series
// instead of 720, and come to the same sums (the range ends now, so its last
// day holds nothing after it).
func totalParts(q billing.UsageQuery) []billing.UsageQuery {
	if q.Granularity != billing.Hour {
		return []billing.UsageQuery{q}
	}
	midnight := q.From.Truncate(24 * time.Hour)
	if midnight.Before(q.From) {
		midnight = midnight.Add(24 * time.Hour)
	}
	if !midnight.Before(q.To) {
		return []billing.UsageQuery{q}
	}
	days := q
	days.Granularity, days.From = billing.Day, midnight
	if midnight.Equal(q.From) {
		return []billing.UsageQuery{days}
	}
	hours := q
	hours.To = midnight
	return []billing.UsageQuery{hours, days}
}
