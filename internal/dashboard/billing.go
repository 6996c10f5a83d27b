package dashboard

import (
	"crypto/rand"
	"net/http"
	"net/url"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/tollgate-dev/tollgate/internal/billing"
	"github.com/tollgate-dev/tollgate/internal/money"
	"github.com/tollgate-dev/tollgate/internal/platform"
)

// ledgerPage is how many ledger lines a page shows.
const ledgerPage = 50

// tierView describes the organization's usage tier.
type tierView struct {
	Tier     int
	Lifetime money.Micros
	// Next is the next tier's threshold (0 at the top tier) and ToNext
	// what is left to buy to reach it.
	Next   money.Micros
	ToNext money.Micros
	Tiers  []tierRow
	// NoDefaults is set when no tier RPM is configured (limits.tier_rpm
	// empty): the tiers then limit nothing by themselves.
	NoDefaults bool
}

type tierRow struct {
	Tier      int
	Threshold money.Micros
	RPM       []modelRPM
	Current   bool
}

type modelRPM struct {
	Model string
	RPM   int64
}

// capRow is one spend cap with this month's spend.
type capRow struct {
	Cap       *billing.Cap
	ScopeName string
	Remaining money.Micros
	// Level is "", "near" (80 %) or "over" (reached), for the bar's colour.
	Level string
}

type billingView struct {
	Account   *billing.Account
	Tier      tierView
	Ledger    []*billing.Transaction
	Kinds     []billing.Kind
	Filter    ledgerFilterView
	Older     string // query of the next (older) page, when there is one
	Months    []time.Time
	Caps      []capRow
	Groups    []*platform.Group
	CreditKey string // idempotency key of the credits form
}

type ledgerFilterView struct {
	Kind, From, To string
	Before         string
}

func (db *Dashboard) billingPage(w http.ResponseWriter, r *http.Request, c *reqCtx) error {
	return db.showBilling(w, r, c, http.StatusOK, "", nil)
}

func (db *Dashboard) showBilling(w http.ResponseWriter, r *http.Request, c *reqCtx, status int, formName string, f *form) error {
	ctx := r.Context()
	acct, err := db.d.Billing.Balance(ctx, c.p)
	if err != nil {
		return err
	}
	v := &billingView{Account: acct, Tier: db.tier(acct), CreditKey: strings.ToLower(rand.Text()),
		Kinds: []billing.Kind{billing.KindTopUp, billing.KindGrant, billing.KindGrantExpiry, billing.KindUsage,
			billing.KindRefund, billing.KindAdjustment}}

	// The ledger, filtered and paged (newest first, cursor = last ID).
	q := r.URL.Query()
	v.Filter = ledgerFilterView{Kind: q.Get("kind"), From: q.Get("from"), To: q.Get("to"), Before: q.Get("before")}
	lf := billing.LedgerFilter{Kind: billing.Kind(v.Filter.Kind), Before: v.Filter.Before, Limit: ledgerPage + 1}
	var ferr error
	if v.Filter.From != "" {
		if lf.From, ferr = time.Parse("2006-01-02", v.Filter.From); ferr != nil {
			ferr = platform.Invalid("from", "Enter the first day as a date (YYYY-MM-DD).")
		}
	}
	if v.Filter.To != "" && ferr == nil {
		t, err := time.Parse("2006-01-02", v.Filter.To)
		if err != nil {
			ferr = platform.Invalid("to", "Enter the last day as a date (YYYY-MM-DD).")
		}
		lf.To = t.Add(24 * time.Hour)
	}
	if ferr == nil {
		v.Ledger, ferr = db.d.Billing.Ledger(ctx, c.p, lf)
		if ferr != nil && platform.ErrorKind(ferr) != platform.KindInvalid {
			return ferr
		}
	}
	if len(v.Ledger) > ledgerPage {
		v.Ledger = v.Ledger[:ledgerPage]
		older := url.Values{}
		for k, val := range map[string]string{"kind": v.Filter.Kind, "from": v.Filter.From, "to": v.Filter.To} {
			if val != "" {
				older.Set(k, val)
			}
		}
		older.Set("before", v.Ledger[len(v.Ledger)-1].ID)
		v.Older = older.Encode()
	}

	// Statements: every month from the organization's first to this one.
	now := db.d.Now()
	first := billing.MonthOf(now).AddDate(-11, 0, 0)
	if o, err := db.d.Gov.Org(ctx, c.p); err == nil && billing.MonthOf(o.CreatedAt).After(first) {
		first = billing.MonthOf(o.CreatedAt)
	}
	for m := billing.MonthOf(now); !m.Before(first); m = m.AddDate(0, -1, 0) {
		v.Months = append(v.Months, m)
	}

	// Spend caps with this month's spend.
	if v.Groups, err = db.d.Gov.Groups(ctx, c.p); err != nil {
		return err
	}
	caps, err := db.d.Billing.Caps(ctx, c.p)
	if err != nil {
		return err
	}
	v.Caps = db.capRows(caps, v.Groups, c)

	pv := db.view(r, c, "billing", "Billing", v)
	pv.forms = map[string]*form{}
	if ferr != nil {
		status = statusOf(ferr)
		pv.forms["ledger"] = &form{Values: q, errors: map[string]string{platform.ErrorParam(ferr): platform.ErrorMessage(ferr)}}
	}
	if f != nil {
		pv.forms[formName] = f
	}
	db.render(w, r, status, "billing", pv)
	return nil
}

func (db *Dashboard) capRows(caps []*billing.Cap, groups []*platform.Group, c *reqCtx) []capRow {
	names := map[string]string{}
	for _, g := range groups {
		names[g.ID] = g.Name
	}
	var out []capRow
	for _, cp := range caps {
		row := capRow{Cap: cp, Remaining: max(cp.Monthly-cp.Spent-cp.HeldNow, 0)}
		switch cp.Scope.Kind {
		case billing.ScopeOrg:
			row.ScopeName = "Whole organization"
		case billing.ScopeGroup:
			row.ScopeName = nameOr(names, cp.Scope.ID)
		default:
			row.ScopeName = "Key " + cp.Scope.ID
		}
		switch used := cp.Spent + cp.HeldNow; {
		case used >= cp.Monthly:
			row.Level = "over"
		case used*10 >= cp.Monthly*8:
			row.Level = "near"
		}
		out = append(out, row)
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Cap.Scope.Kind < out[j].Cap.Scope.Kind })
	return out
}

// tier describes where the organization stands among the usage tiers.
func (db *Dashboard) tier(a *billing.Account) tierView {
	t := tierView{Tier: a.Tier, Lifetime: a.LifetimeTopUps}
	if a.Tier < len(billing.TierThresholds) {
		t.Next = billing.TierThresholds[a.Tier]
		t.ToNext = max(t.Next-a.LifetimeTopUps, 0)
	}
	models := make([]string, 0, len(db.d.TierRPM))
	for m := range db.d.TierRPM {
		models = append(models, m)
	}
	// Named models first, then "*" (every other model).
	slices.SortFunc(models, func(a, b string) int {
		if (a == "*") != (b == "*") {
			if a == "*" {
				return 1
			}
			return -1
		}
		return strings.Compare(a, b)
	})
	t.NoDefaults = len(models) == 0
	_, others := db.d.TierRPM["*"]
	for i := 0; i <= len(billing.TierThresholds); i++ {
		row := tierRow{Tier: i, Current: i == a.Tier}
		if i > 0 {
			row.Threshold = billing.TierThresholds[i-1]
		}
		for _, m := range models {
			// As the gate does: a tier past a short list takes its last
			// value; an empty list (or 0) is no limit.
			var rpm int64
			if l := db.d.TierRPM[m]; len(l) > 0 {
				rpm = l[min(i, len(l)-1)]
			}
			row.RPM = append(row.RPM, modelRPM{Model: modelLabel(m), RPM: rpm})
		}
		if !others && !t.NoDefaults {
			// Models the table does not name are not limited by default.
			row.RPM = append(row.RPM, modelRPM{Model: modelLabel("*")})
		}
		t.Tiers = append(t.Tiers, row)
	}
	return t
}

func modelLabel(m string) string {
	if m == "*" {
		return "other models"
	}
	return m
}

// parseDollars reads a dollar amount as people type it ("12", "12.50").
func parseDollars(r *http.Request, field string) (money.Micros, error) {
	s := strings.TrimSpace(r.PostForm.Get(field))
	if s == "" {
		return 0, platform.Invalid(field, "Enter an amount in dollars, such as 50 or 12.50.")
	}
	v, err := money.Parse(s)
	if err != nil {
		return 0, platform.Invalid(field, "%s", err.Error())
	}
	return v, nil
}

// postCredits tops up or grants credits. The form carries an idempotency
// key, so a resubmitted form (reload, double click) posts once: billing
// keeps one transaction per key.
func (db *Dashboard) postCredits(w http.ResponseWriter, r *http.Request, c *reqCtx) error {
	kind := billing.Kind(r.PostForm.Get("kind"))
	if kind != billing.KindTopUp && kind != billing.KindGrant {
		return db.showBilling(w, r, c, http.StatusBadRequest, "credits",
			failed(r, platform.Invalid("kind", "Choose a top-up or a grant."), nil))
	}
	amount, err := parseDollars(r, "amount")
	if err == nil {
		var t *billing.Transaction
		key := r.PostForm.Get("idempotency_key")
		t, err = db.d.Billing.Post(r.Context(), c.p, billing.PostRequest{Kind: kind, Amount: amount,
			Memo: strings.TrimSpace(r.PostForm.Get("memo")), IdempotencyKey: key})
		if err == nil && t.Amount != amount {
			err = platform.Errorf(platform.KindConflict, "This form was already used for another amount; reload the page and try again.")
		}
	}
	if err != nil {
		if !formError(err) {
			return err
		}
		return db.showBilling(w, r, c, statusOf(err), "credits",
			failed(r, err, map[string]string{"amount_micros": "amount", "idempotency_key": "amount"}))
	}
	return db.seeOther(w, r, "/dashboard/billing", "credits-posted")
}

// scopeOf reads a cap's or limit's scope from a form, checking that it
// names something of the caller's organization.
func (db *Dashboard) scopeOf(r *http.Request, c *reqCtx, field string) (billing.Scope, error) {
	kind, id, _ := strings.Cut(r.PostForm.Get(field), ":")
	s := billing.Scope{Kind: billing.ScopeKind(kind), ID: id}
	switch s.Kind {
	case billing.ScopeOrg:
		s.ID = c.p.OrgID
	case billing.ScopeGroup:
		if _, err := db.d.Gov.Group(r.Context(), c.p, id); err != nil {
			return s, scopeErr(field, err)
		}
	case billing.ScopeKey:
		if _, err := db.d.Gov.Key(r.Context(), c.p, id); err != nil {
			return s, scopeErr(field, err)
		}
	default:
		return s, platform.Invalid(field, "Choose the organization, a group or a key.")
	}
	return s, nil
}

func scopeErr(field string, err error) error {
	if platform.ErrorKind(err) == platform.KindNotFound {
		return platform.Invalid(field, "That group or key does not exist in your organization.")
	}
	return err
}

func (db *Dashboard) setCap(w http.ResponseWriter, r *http.Request, c *reqCtx) error {
	scope, err := db.scopeOf(r, c, "scope")
	var amount money.Micros
	if err == nil {
		amount, err = parseDollars(r, "monthly_cap")
	}
	if err == nil {
		_, err = db.d.Billing.SetCap(r.Context(), c.p, &billing.Cap{Scope: scope, Monthly: amount})
	}
	if err != nil {
		if !formError(err) {
			return err
		}
		return db.showBilling(w, r, c, statusOf(err), "cap", failed(r, err, map[string]string{"monthly_cap_micros": "monthly_cap", "scope_id": "scope"}))
	}
	return db.seeOther(w, r, "/dashboard/billing#caps", "cap-set")
}

func (db *Dashboard) removeCap(w http.ResponseWriter, r *http.Request, c *reqCtx) error {
	scope, err := db.scopeOf(r, c, "scope")
	if err != nil {
		return err
	}
	if err := db.d.Billing.DeleteCap(r.Context(), c.p, scope); err != nil {
		return err
	}
	return db.seeOther(w, r, "/dashboard/billing#caps", "cap-removed")
}
