package admin

import (
	"encoding/json"
	"net/http"

	"github.com/tollgate-dev/tollgate/internal/billing"
	"github.com/tollgate-dev/tollgate/internal/httpjson"
	"github.com/tollgate-dev/tollgate/internal/platform"
	"github.com/tollgate-dev/tollgate/internal/pricing"
)

func (d *Deps) listCaps(w http.ResponseWriter, r *http.Request, p platform.Principal) error {
	b, err := d.billingService()
	if err != nil {
		return err
	}
	cs, err := b.Caps(r.Context(), p)
	if err != nil {
		return err
	}
	httpjson.Encode(w, http.StatusOK, list(cs, toCap))
	return nil
}

func (d *Deps) setCap(w http.ResponseWriter, r *http.Request, p platform.Principal) error {
	b, err := d.billingService()
	if err != nil {
		return err
	}
	if err := platform.Authorize(p.Role, platform.ActBillingManage); err != nil {
		return err
	}
	var req struct {
		MonthlyCapMicros json.RawMessage `json:"monthly_cap_micros"`
		MonthlyCap       json.RawMessage `json:"monthly_cap"`
	}
	if err := d.decode(w, r, &req); err != nil {
		return err
	}
	scope, err := d.scope(r.Context(), p, r.PathValue("scope"), r.PathValue("scope_id"))
	if err != nil {
		return err
	}
	v, param, ok, err := readAmount("monthly_cap", req.MonthlyCapMicros, req.MonthlyCap)
	if err != nil {
		return err
	}
	if !ok {
		return platform.Invalid("monthly_cap_micros", "send the cap as monthly_cap_micros (integer micro-dollars) or monthly_cap (a decimal string of dollars such as \"25\")")
	}
	c, err := b.SetCap(r.Context(), p, &billing.Cap{Scope: scope, Monthly: v})
	if err != nil {
		return renameParam(err, "monthly_cap_micros", param)
	}
	httpjson.Encode(w, http.StatusOK, toCap(c))
	return nil
}

func (d *Deps) deleteCap(w http.ResponseWriter, r *http.Request, p platform.Principal) error {
	b, err := d.billingService()
	if err != nil {
		return err
	}
	if err := platform.Authorize(p.Role, platform.ActBillingManage); err != nil {
		return err
	}
	scope, err := d.scope(r.Context(), p, r.PathValue("scope"), r.PathValue("scope_id"))
	if err != nil {
		return err
	}
	if err := b.DeleteCap(r.Context(), p, scope); err != nil {
		if platform.ErrorKind(err) == platform.KindNotFound {
			return notFound("%s %s has no spend cap (see GET /api/v1/billing/caps)", scope.Kind, scope.ID)
		}
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (d *Deps) listLimits(w http.ResponseWriter, r *http.Request, p platform.Principal) error {
	b, err := d.billingService()
	if err != nil {
		return err
	}
	q := r.URL.Query()
	var scope *billing.Scope
	switch kind, id := q.Get("scope"), q.Get("scope_id"); {
	case kind == "" && id != "":
		return platform.Invalid("scope", "scope_id needs scope (org, group or key)")
	case kind != "":
		switch billing.ScopeKind(kind) {
		case billing.ScopeOrg, billing.ScopeGroup, billing.ScopeKey:
		default:
			return platform.Invalid("scope", "scope must be org, group or key, not %q", kind)
		}
		if id == "" {
			return platform.Invalid("scope_id", "scope %s needs scope_id, the ID of the %s", kind, kind)
		}
		s, err := d.scope(r.Context(), p, kind, id)
		if err != nil {
			return err
		}
		scope = &s
	}
	ls, err := b.Limits(r.Context(), p, scope)
	if err != nil {
		return err
	}
	httpjson.Encode(w, http.StatusOK, list(ls, toLimit))
	return nil
}

func (d *Deps) setLimit(w http.ResponseWriter, r *http.Request, p platform.Principal) error {
	b, err := d.billingService()
	if err != nil {
		return err
	}
	if err := platform.Authorize(p.Role, platform.ActGroupManage); err != nil {
		return err
	}
	var req struct {
		Model       string `json:"model"`
		RPM         *int64 `json:"rpm"`
		TPM         *int64 `json:"tpm"`
		Concurrency *int64 `json:"concurrency"`
	}
	if err := d.decode(w, r, &req); err != nil {
		return err
	}
	scope, err := d.scope(r.Context(), p, r.PathValue("scope"), r.PathValue("scope_id"))
	if err != nil {
		return err
	}
	// The PUT replaces the whole setting, so a field left out would
	// silently remove that limit: all three are required.
	for _, f := range []struct {
		name string
		v    *int64
	}{{"rpm", req.RPM}, {"tpm", req.TPM}, {"concurrency", req.Concurrency}} {
		if f.v == nil {
			return platform.Invalid(f.name, "%s is required: send rpm, tpm and concurrency, the whole setting (0 is no limit of that kind; all three 0 deletes the setting)", f.name)
		}
	}
	l := &billing.Limit{Scope: scope, Model: req.Model, RPM: *req.RPM, TPM: *req.TPM, Concurrency: *req.Concurrency}
	got, err := b.SetLimit(r.Context(), p, l)
	if err != nil {
		return err
	}
	out := toLimit(got)
	// Every field zero deleted the setting (or there was none to delete).
	out.Deleted = got.RPM == 0 && got.TPM == 0 && got.Concurrency == 0
	httpjson.Encode(w, http.StatusOK, out)
	return nil
}

func (d *Deps) listPrices(w http.ResponseWriter, r *http.Request, p platform.Principal) error {
	b, err := d.billingService()
	if err != nil {
		return err
	}
	ps, err := b.Prices(r.Context(), p)
	if err != nil {
		return err
	}
	book, err := pricing.NewBook(ps)
	if err != nil {
		return err
	}
	now := d.Now()
	httpjson.Encode(w, http.StatusOK, list(book.All(), func(x *pricing.Price) priceJSON {
		cur := book.At(x.Model, now)
		return toPrice(x, cur != nil && cur.ID == x.ID)
	}))
	return nil
}
