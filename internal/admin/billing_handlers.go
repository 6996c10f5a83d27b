package admin

import (
	"encoding/json"
	"net/http"
	"strings"
	"time"

	"github.com/tollgate-dev/tollgate/internal/billing"
	"github.com/tollgate-dev/tollgate/internal/httpjson"
	"github.com/tollgate-dev/tollgate/internal/money"
	"github.com/tollgate-dev/tollgate/internal/platform"
)

// maxLedgerPage bounds one ledger page. The handler asks the service for
// one more row than the page to learn whether another page exists, and the
// service serves at most 1000.
const maxLedgerPage = 500

func (d *Deps) getBalance(w http.ResponseWriter, r *http.Request, p platform.Principal) error {
	b, err := d.billingService()
	if err != nil {
		return err
	}
	a, err := b.Balance(r.Context(), p)
	if err != nil {
		return err
	}
	httpjson.Encode(w, http.StatusOK, toAccount(a))
	return nil
}

func (d *Deps) updateBillingSettings(w http.ResponseWriter, r *http.Request, p platform.Principal) error {
	b, err := d.billingService()
	if err != nil {
		return err
	}
	// The role is checked before the body is read, so a caller who may not
	// change settings learns that first, whatever it sent.
	if err := platform.Authorize(p.Role, platform.ActBillingManage); err != nil {
		return err
	}
	var req struct {
		CreditLimitMicros  json.RawMessage `json:"credit_limit_micros"`
		CreditLimit        json.RawMessage `json:"credit_limit"`
		MonthlyGrantMicros json.RawMessage `json:"monthly_grant_micros"`
		MonthlyGrant       json.RawMessage `json:"monthly_grant"`
	}
	if err := d.decode(w, r, &req); err != nil {
		return err
	}
	var set billing.Settings
	cl, clParam, ok, err := readAmount("credit_limit", req.CreditLimitMicros, req.CreditLimit)
	if err != nil {
		return err
	}
	if ok {
		set.CreditLimit = &cl
	}
	mg, mgParam, ok, err := readAmount("monthly_grant", req.MonthlyGrantMicros, req.MonthlyGrant)
	if err != nil {
		return err
	}
	if ok {
		set.MonthlyGrant = &mg
	}
	if set.CreditLimit == nil && set.MonthlyGrant == nil {
		return platform.Invalid("credit_limit_micros", "nothing to change: send credit_limit_micros (or credit_limit) and/or monthly_grant_micros (or monthly_grant)")
	}
	a, err := b.UpdateSettings(r.Context(), p, set)
	if err != nil {
		return renameParam(renameParam(err, "credit_limit_micros", clParam), "monthly_grant_micros", mgParam)
	}
	httpjson.Encode(w, http.StatusOK, toAccount(a))
	return nil
}

func (d *Deps) listLedger(w http.ResponseWriter, r *http.Request, p platform.Principal) error {
	b, err := d.billingService()
	if err != nil {
		return err
	}
	if err := platform.Authorize(p.Role, platform.ActBillingRead); err != nil {
		return err
	}
	q := r.URL.Query()
	f := billing.LedgerFilter{Kind: billing.Kind(q.Get("kind")), Before: q.Get("before")}
	if f.From, err = queryTime(r, "from"); err != nil {
		return err
	}
	if f.To, err = queryTime(r, "to"); err != nil {
		return err
	}
	if !f.From.IsZero() && !f.To.IsZero() && !f.From.Before(f.To) {
		return platform.Invalid("from", "from must be before to")
	}
	if f.Limit, err = queryInt(r, "limit", 100, 1, maxLedgerPage); err != nil {
		return err
	}
	if f.GroupID, err = d.groupFilter(r.Context(), p, q.Get("group")); err != nil {
		return err
	}
	want := f.Limit
	f.Limit++
	ts, err := b.Ledger(r.Context(), p, f)
	if err != nil {
		return err
	}
	more := len(ts) > want
	if more {
		ts = ts[:want]
	}
	out := list(ts, toTransaction)
	out.HasMore = more
	if more {
		out.NextCursor = ts[len(ts)-1].ID
	}
	httpjson.Encode(w, http.StatusOK, out)
	return nil
}

// postTransaction is POST /billing/topups, /grants, /refunds and
// /adjustments: one manual money movement of kind.
func (d *Deps) postTransaction(kind billing.Kind) handler {
	return func(w http.ResponseWriter, r *http.Request, p platform.Principal) error {
		b, err := d.billingService()
		if err != nil {
			return err
		}
		if err := platform.Authorize(p.Role, platform.ActBillingManage); err != nil {
			return err
		}
		var req struct {
			AmountMicros json.RawMessage `json:"amount_micros"`
			Amount       json.RawMessage `json:"amount"`
			Memo         string          `json:"memo"`
		}
		if err := d.decode(w, r, &req); err != nil {
			return err
		}
		amt, param, ok, err := readAmount("amount", req.AmountMicros, req.Amount)
		if err != nil {
			return err
		}
		if !ok {
			return platform.Invalid("amount_micros", "send the amount as amount_micros (integer micro-dollars) or amount (a decimal string of dollars such as \"12.50\")")
		}
		key := strings.TrimSpace(r.Header.Get("Idempotency-Key"))
		t, err := b.Post(r.Context(), p, billing.PostRequest{Kind: kind, Amount: amt, Memo: req.Memo, IdempotencyKey: key})
		if err != nil {
			return renameParam(renameParam(err, "amount_micros", param), "idempotency_key", "Idempotency-Key")
		}
		// A replay returns the transaction first posted with the key. If
		// that one moved another amount, the key was reused for a different
		// request: say so rather than pass the old one off as this one.
		want := amt
		if kind == billing.KindRefund {
			want = -amt
		}
		if t.Amount != want {
			return platform.Errorf(platform.KindConflict,
				"Idempotency-Key %q was already used for a %s of %s dollars (%s); send a new key for a new %s",
				key, kind, money.Decimal(t.Amount), t.ID, kind)
		}
		httpjson.Encode(w, http.StatusCreated, toTransaction(t))
		return nil
	}
}

func (d *Deps) getStatement(w http.ResponseWriter, r *http.Request, p platform.Principal) error {
	b, err := d.billingService()
	if err != nil {
		return err
	}
	if err := platform.Authorize(p.Role, platform.ActBillingRead); err != nil {
		return err
	}
	raw := r.PathValue("month")
	month, err := time.Parse("2006-01", raw)
	if err != nil {
		return notFound("no statement %q: a statement is named by its month, written YYYY-MM such as 2026-11", raw)
	}
	csvOut, err := wantCSV(r)
	if err != nil {
		return err
	}
	groupID, err := d.groupFilter(r.Context(), p, r.URL.Query().Get("group"))
	if err != nil {
		return err
	}
	s, err := b.Statement(r.Context(), p, groupID, month)
	if err != nil {
		return err
	}
	if csvOut {
		name := "tollgate-statement-" + month.Format("2006-01")
		if groupID != "" {
			name += "-" + groupID
		}
		return writeCSV(w, name+".csv", statementCSV(s, month))
	}
	httpjson.Encode(w, http.StatusOK, toStatement(s, month))
	return nil
}
