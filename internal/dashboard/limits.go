package dashboard

import (
	"net/http"
	"sort"
	"strings"
	"time"

	"github.com/tollgate-dev/tollgate/internal/billing"
	"github.com/tollgate-dev/tollgate/internal/platform"
)

// limitRow is one rate-limit setting with what its scope used in the last
// whole minute.
type limitRow struct {
	Limit     *billing.Limit
	ScopeName string
	ScopeRef  string // "group:grp_…", the form's value for the scope
	UsedReq   int64
	UsedTok   int64
}

type scopeOption struct {
	Value, Label string
}

type limitsView struct {
	Limits []limitRow
	Tier   tierView
	// Defaults are the tier's default requests per minute per model.
	Defaults []modelRPM
	Scopes   []scopeOption
	// Minute is the minute the consumption figures cover.
	Minute, MinuteEnd time.Time
	// OrgReq and OrgTok are the organization's whole use in that minute.
	OrgReq, OrgTok int64
}

// The limiter keeps its counters in memory or Redis, where they cannot be
// listed cheaply; the consumption shown is read from the per-minute usage
// rollups instead: requests and tokens in the last whole minute, per scope.
// Requests in flight (the concurrency limit's counter) are not shown.
func (db *Dashboard) limitsPage(w http.ResponseWriter, r *http.Request, c *reqCtx) error {
	return db.showLimits(w, r, c, http.StatusOK, nil)
}

func (db *Dashboard) showLimits(w http.ResponseWriter, r *http.Request, c *reqCtx, status int, f *form) error {
	ctx := r.Context()
	ls, err := db.d.Billing.Limits(ctx, c.p, nil)
	if err != nil {
		return err
	}
	gs, err := db.d.Gov.Groups(ctx, c.p)
	if err != nil {
		return err
	}
	ks, err := db.d.Gov.Keys(ctx, c.p, "")
	if err != nil {
		return err
	}
	v := &limitsView{}
	names := map[string]string{}
	keyGroup := map[string]string{}
	v.Scopes = append(v.Scopes, scopeOption{"org:", "Whole organization"})
	for _, g := range gs {
		names["group:"+g.ID] = "Group " + g.Name
		if g.Status != platform.GroupDeleted {
			v.Scopes = append(v.Scopes, scopeOption{"group:" + g.ID, "Group: " + g.Name})
		}
	}
	now := db.d.Now()
	for _, k := range ks {
		names["key:"+k.ID] = "Key " + k.Name + " (" + k.Hint + ")"
		keyGroup[k.ID] = k.GroupID
		if s := k.Status(now); s == platform.KeyActive || s == platform.KeyRotating {
			v.Scopes = append(v.Scopes, scopeOption{"key:" + k.ID, "Key: " + k.Name + " (" + k.Hint + ")"})
		}
	}

	// Consumption in the last whole minute, by key and model, from the
	// minute rollups (a handful of rows).
	v.Minute = now.Truncate(time.Minute).Add(-time.Minute)
	v.MinuteEnd = v.Minute.Add(time.Minute)
	type use struct{ req, tok int64 }
	used := map[string]use{} // "scope:id|model" and "scope:id|" → use
	if platform.Can(c.p.Role, platform.ActUsageRead) {
		rows, err := db.d.Billing.Usage(ctx, c.p, billing.UsageQuery{From: v.Minute, To: v.MinuteEnd,
			Granularity: billing.Minute, By: []string{"key", "model"}})
		if err != nil {
			return err
		}
		for _, u := range rows {
			tok := u.PromptTokens + u.CompletionTokens + u.ReasoningTokens
			v.OrgReq += u.Requests
			v.OrgTok += tok
			for _, s := range []string{"org:" + c.p.OrgID, "group:" + keyGroup[u.KeyID], "key:" + u.KeyID} {
				for _, m := range []string{"", u.Model} {
					x := used[s+"|"+m]
					x.req += u.Requests
					x.tok += tok
					used[s+"|"+m] = x
				}
			}
		}
	}
	for _, l := range ls {
		ref := string(l.Scope.Kind) + ":" + l.Scope.ID
		row := limitRow{Limit: l, ScopeRef: ref, ScopeName: names[ref]}
		if l.Scope.Kind == billing.ScopeOrg {
			row.ScopeName, row.ScopeRef = "Whole organization", "org:"
		}
		if row.ScopeName == "" {
			row.ScopeName = ref
		}
		u := used[string(l.Scope.Kind)+":"+l.Scope.ID+"|"+l.Model]
		row.UsedReq, row.UsedTok = u.req, u.tok
		v.Limits = append(v.Limits, row)
	}
	order := map[billing.ScopeKind]int{billing.ScopeOrg: 0, billing.ScopeGroup: 1, billing.ScopeKey: 2}
	sort.SliceStable(v.Limits, func(i, j int) bool {
		a, b := v.Limits[i], v.Limits[j]
		if order[a.Limit.Scope.Kind] != order[b.Limit.Scope.Kind] {
			return order[a.Limit.Scope.Kind] < order[b.Limit.Scope.Kind]
		}
		return a.ScopeName+a.Limit.Model < b.ScopeName+b.Limit.Model
	})
	if platform.Can(c.p.Role, platform.ActBillingRead) {
		if acct, err := db.d.Billing.Balance(ctx, c.p); err == nil {
			v.Tier = db.tier(acct)
			for _, t := range v.Tier.Tiers {
				if t.Current {
					v.Defaults = t.RPM
				}
			}
		}
	} else {
		v.Tier.Tier = -1 // unknown to this role
	}
	pv := db.view(r, c, "limits", "Limits", v)
	if f != nil {
		pv.forms = map[string]*form{"limit": f}
	}
	db.render(w, r, status, "limits", pv)
	return nil
}

func (db *Dashboard) setLimit(w http.ResponseWriter, r *http.Request, c *reqCtx) error {
	scope, err := db.scopeOf(r, c, "scope")
	l := &billing.Limit{Scope: scope, Model: strings.TrimSpace(r.PostForm.Get("model"))}
	if err == nil {
		l.RPM, err = formInt(r, "rpm", 0, billing.MaxRPM)
	}
	if err == nil {
		l.TPM, err = formInt(r, "tpm", 0, billing.MaxTPM)
	}
	if err == nil {
		l.Concurrency, err = formInt(r, "concurrency", 0, billing.MaxConcurrency)
	}
	if err == nil {
		_, err = db.d.Billing.SetLimit(r.Context(), c.p, l)
	}
	if err != nil {
		if !formError(err) {
			return err
		}
		return db.showLimits(w, r, c, statusOf(err), failed(r, err, map[string]string{"scope_id": "scope"}))
	}
	return db.seeOther(w, r, "/dashboard/limits", "limit-saved")
}
