package sqlstore

import (
	"cmp"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/tollgate-dev/tollgate/internal/billing"
	"github.com/tollgate-dev/tollgate/internal/money"
	"github.com/tollgate-dev/tollgate/internal/platform"
)

// Reservations. A hold adds its amount to the organization's held and to
// the held of the org's, group's and key's spend rows for its month;
// settling or releasing it takes exactly that stored amount off again. So
// at every commit each scope's spent + held is what its requests have
// spent plus the most those in flight may still spend, and a cap check of
// spent + held + amount <= cap can never let the month's spend pass the
// cap.

// DefaultHoldTTL is how long a hold placed without an expiry lives before
// ExpireHolds may release it.
const DefaultHoldTTL = time.Hour

// scopesOf lists the scopes a request counts against, outermost first (the
// order admission checks them and rows are locked in), without empty IDs.
func scopesOf(orgID, groupID, keyID string) []billing.Scope {
	out := make([]billing.Scope, 0, 3)
	for _, sc := range []billing.Scope{{Kind: billing.ScopeOrg, ID: orgID}, {Kind: billing.ScopeGroup, ID: groupID}, {Kind: billing.ScopeKey, ID: keyID}} {
		if sc.ID != "" {
			out = append(out, sc)
		}
	}
	return out
}

// scopeRank orders scope kinds outermost first.
func scopeRank(k billing.ScopeKind) int {
	switch k {
	case billing.ScopeOrg:
		return 0
	case billing.ScopeGroup:
		return 1
	}
	return 2
}

// available is a.Available() without wrapping around: a balance near the
// largest amount plus a credit limit saturates instead of turning negative.
func available(a *billing.Account) money.Micros {
	v, err := money.Add(a.Balance, -a.Held)
	if err != nil {
		return math.MinInt64
	}
	if v, err = money.Add(v, a.CreditLimit); err != nil {
		return math.MaxInt64
	}
	return v
}

// spendKey names one spend row.
type spendKey struct {
	scope billing.Scope
	month int64
}

// spendBook accumulates changes to spend rows within one transaction, so
// a batch writes each row once.
type spendBook map[spendKey]*spendDelta

type spendDelta struct {
	orgID       string
	spent, held int64
}

func (sb spendBook) add(orgID, groupID, keyID string, month time.Time, spent, held money.Micros) {
	for _, sc := range scopesOf(orgID, groupID, keyID) {
		k := spendKey{sc, ts(month)}
		d := sb[k]
		if d == nil {
			d = &spendDelta{orgID: orgID}
			sb[k] = d
		}
		d.spent += int64(spent)
		d.held += int64(held)
	}
}

// flushSpend writes the accumulated changes, in a fixed order.
func (s *Store) flushSpend(b *btx, sb spendBook) error {
	keys := make([]spendKey, 0, len(sb))
	for k := range sb {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(x, y spendKey) int {
		return cmp.Or(cmp.Compare(sb[x].orgID, sb[y].orgID), cmp.Compare(scopeRank(x.scope.Kind), scopeRank(y.scope.Kind)),
			cmp.Compare(x.scope.ID, y.scope.ID), cmp.Compare(x.month, y.month))
	})
	for _, k := range keys {
		d := sb[k]
		if d.spent == 0 && d.held == 0 {
			continue
		}
		if d.held < 0 {
			// Releasing holds: the row exists since the holds were placed.
			// (An upsert would not do: the CHECK on held applies to the row
			// it proposes to insert, before the conflict is found.)
			res, err := b.exec(`UPDATE billing_spend SET spent = spent + ?, held = held + ?
				WHERE scope_kind = ? AND scope_id = ? AND month = ?`,
				d.spent, d.held, string(k.scope.Kind), k.scope.ID, k.month)
			if err != nil {
				return fmt.Errorf("update spend of %s: %w", k.scope, err)
			}
			n, err := res.RowsAffected()
			if err != nil {
				return err
			}
			if n == 1 {
				continue
			}
			d.held = 0 // no row, so nothing was held here: count the spend alone
		}
		if _, err := b.exec(`INSERT INTO billing_spend (scope_kind, scope_id, month, org_id, spent, held)
			VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (scope_kind, scope_id, month)
			DO UPDATE SET spent = billing_spend.spent + excluded.spent, held = billing_spend.held + excluded.held`,
			string(k.scope.Kind), k.scope.ID, k.month, d.orgID, d.spent, d.held); err != nil {
			return fmt.Errorf("update spend of %s: %w", k.scope, err)
		}
	}
	return nil
}

// capsOf reads the caps of scopes.
func (s *Store) capsOf(b *btx, scopes []billing.Scope) (map[billing.Scope]money.Micros, error) {
	caps := map[billing.Scope]money.Micros{}
	if len(scopes) == 0 {
		return caps, nil
	}
	q := `SELECT scope_kind, scope_id, monthly_cap FROM billing_caps WHERE `
	var args []any
	for i, sc := range scopes {
		if i > 0 {
			q += ` OR `
		}
		q += `(scope_kind = ? AND scope_id = ?)`
		args = append(args, string(sc.Kind), sc.ID)
	}
	rows, err := b.query(q, args...)
	if err != nil {
		return nil, fmt.Errorf("read caps: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var (
			sc billing.Scope
			c  int64
		)
		if err := rows.Scan(&sc.Kind, &sc.ID, &c); err != nil {
			return nil, fmt.Errorf("scan cap: %w", err)
		}
		caps[sc] = money.Micros(c)
	}
	return caps, rows.Err()
}

// holdSpend adds amount to the held of sc's spend row for month, if the
// scope's cap (when capped) has room. The room is checked in the same
// statement that writes the row, against the row as it is once locked.
func (s *Store) holdSpend(b *btx, sc billing.Scope, orgID string, month int64, amount, limit money.Micros, capped bool) error {
	q := `INSERT INTO billing_spend (scope_kind, scope_id, month, org_id, spent, held) VALUES (?, ?, ?, ?, 0, ?)
		ON CONFLICT (scope_kind, scope_id, month) DO UPDATE SET held = billing_spend.held + excluded.held`
	args := []any{string(sc.Kind), sc.ID, month, orgID, int64(amount)}
	if capped {
		q += ` WHERE billing_spend.spent + billing_spend.held + excluded.held <= ?`
		args = append(args, int64(limit))
	}
	if !capped || amount <= limit { // a new row has room for up to the cap
		res, err := b.exec(q, args...)
		if err != nil {
			return fmt.Errorf("hold spend of %s: %w", sc, err)
		}
		n, err := res.RowsAffected()
		if err != nil {
			return err
		}
		if n > 0 {
			return nil
		}
	}
	var spent, held int64
	err := b.queryRow(`SELECT spent, held FROM billing_spend WHERE scope_kind = ? AND scope_id = ? AND month = ?`,
		string(sc.Kind), sc.ID, month).Scan(&spent, &held)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("read spend of %s: %w", sc, err)
	}
	return billing.CapReached(sc, limit, amount, limit-money.Micros(spent)-money.Micros(held))
}

// Reserve implements billing.Store. A hold without a Month counts against
// the month of its CreatedAt (itself the store's clock when zero); one
// without an ExpiresAt expires DefaultHoldTTL after it was created.
func (s *Store) Reserve(ctx context.Context, h *billing.Hold, requireCredits bool) error {
	hp, err := s.holdPlan(h)
	if err != nil {
		return err
	}
	return s.billingTx(ctx, func(b *btx) error { return s.reserveIn(b, hp, requireCredits) })
}

// ReserveBatch places many holds in one transaction, each on its own terms:
// a savepoint per hold makes each all or nothing, so errs[i] is hold i's
// refusal (or nil) exactly as Reserve would have returned it. err is a
// failure of the transaction itself, after which nothing was placed.
// SQLite, whose writers take turns, commits once per batch instead of once
// per request.
func (s *Store) ReserveBatch(ctx context.Context, hs []*billing.Hold, requireCredits bool) (errs []error, err error) {
	plans := make([]holdPlan, len(hs))
	planErrs := make([]error, len(hs))
	for i, h := range hs {
		plans[i], planErrs[i] = s.holdPlan(h)
	}
	err = s.billingTx(ctx, func(b *btx) error {
		errs = append([]error(nil), planErrs...)
		for i := range plans {
			if errs[i] != nil {
				continue
			}
			if _, err := b.exec(`SAVEPOINT hold`); err != nil {
				return fmt.Errorf("savepoint: %w", err)
			}
			rerr := s.reserveIn(b, plans[i], requireCredits)
			if rerr != nil {
				var perr *platform.Error
				if !errors.As(rerr, &perr) && !errors.Is(rerr, platform.ErrConflict) && !errors.Is(rerr, platform.ErrNotFound) {
					return rerr // not a refusal: the whole batch fails
				}
				if _, err := b.exec(`ROLLBACK TO SAVEPOINT hold`); err != nil {
					return fmt.Errorf("rollback to savepoint: %w", err)
				}
				errs[i] = s.mapErr(rerr)
			}
			if _, err := b.exec(`RELEASE SAVEPOINT hold`); err != nil {
				return fmt.Errorf("release savepoint: %w", err)
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return errs, nil
}

// holdPlan is a validated hold with its defaults filled in.
type holdPlan struct {
	h                *billing.Hold
	created, expires time.Time
	month            time.Time
	scopes           []billing.Scope
}

func (s *Store) holdPlan(h *billing.Hold) (holdPlan, error) {
	switch {
	case h.RequestID == "":
		return holdPlan{}, platform.Invalid("request_id", "a hold needs the ID of its request")
	case h.OrgID == "":
		return holdPlan{}, platform.Invalid("org_id", "a hold needs the organization it applies to")
	case h.Amount < 0 || h.Amount > money.Max:
		return holdPlan{}, platform.Invalid("amount_micros", "a hold of %s dollars is out of range (0 to %s)", money.Decimal(h.Amount), money.Decimal(money.Max))
	}
	p := holdPlan{h: h, created: h.CreatedAt, expires: h.ExpiresAt, scopes: scopesOf(h.OrgID, h.GroupID, h.KeyID)}
	if p.created.IsZero() {
		p.created = s.Now()
	}
	p.month = billing.MonthOf(p.created)
	if !h.Month.IsZero() {
		p.month = billing.MonthOf(h.Month)
	}
	if p.expires.IsZero() {
		p.expires = p.created.Add(DefaultHoldTTL)
	}
	return p, nil
}

// reserveIn places one hold inside b, or refuses it (possibly after
// writing part of it: the caller rolls back).
func (s *Store) reserveIn(b *btx, p holdPlan, requireCredits bool) error {
	h := p.h
	a, err := s.lockAccount(b, h.OrgID)
	if err != nil {
		return err
	}
	if _, err := s.ensureGrant(b, a, p.created); err != nil {
		return err
	}
	if avail := available(a); requireCredits && avail < h.Amount {
		return billing.OutOfCredits(h.OrgID, h.Amount, avail)
	}
	caps, err := s.capsOf(b, p.scopes)
	if err != nil {
		return err
	}
	for _, sc := range p.scopes {
		limit, capped := caps[sc]
		if err := s.holdSpend(b, sc, h.OrgID, ts(p.month), h.Amount, limit, capped); err != nil {
			return err
		}
	}
	if a.Held, err = money.Add(a.Held, h.Amount); err != nil {
		return platform.Invalid("amount_micros", "the organization's holds are out of range")
	}
	if err := s.saveAccount(b, a); err != nil {
		return err
	}
	res, err := b.exec(`INSERT INTO billing_holds (request_id, org_id, group_id, key_id, model, amount, month,
		created_at, expires_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (request_id) DO NOTHING`,
		h.RequestID, h.OrgID, h.GroupID, h.KeyID, h.Model, int64(h.Amount), ts(p.month), ts(p.created), ts(p.expires))
	if err != nil {
		return fmt.Errorf("insert hold: %w", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return err
	}
	if n == 0 {
		return conflict("request %s already holds a reservation", h.RequestID)
	}
	return nil
}

// releaseHolds deletes the holds matching where, all of the locked
// account a, and takes their stored amounts off a's held (the caller
// saves a) and, through sb, off their spend rows.
func (s *Store) releaseHolds(b *btx, a *billing.Account, sb spendBook, where string, args ...any) (int, error) {
	rows, err := b.query(`DELETE FROM billing_holds WHERE `+where+` RETURNING org_id, group_id, key_id, amount, month`, args...)
	if err != nil {
		return 0, fmt.Errorf("delete holds: %w", err)
	}
	defer rows.Close()
	n := 0
	for rows.Next() {
		var (
			org, group, key string
			amount, month   int64
		)
		if err := rows.Scan(&org, &group, &key, &amount, &month); err != nil {
			return 0, fmt.Errorf("scan hold: %w", err)
		}
		if org != a.OrgID {
			return 0, fmt.Errorf("release holds: a hold of %s matched while releasing %s's", org, a.OrgID)
		}
		a.Held -= money.Micros(amount)
		sb.add(org, group, key, fromTS(month), 0, -money.Micros(amount))
		n++
	}
	return n, rows.Err()
}

// ReleaseHold implements billing.Store.
func (s *Store) ReleaseHold(ctx context.Context, requestID string) error {
	return s.billingTx(ctx, func(b *btx) error {
		var orgID string
		err := b.queryRow(`SELECT org_id FROM billing_holds WHERE request_id = ?`, requestID).Scan(&orgID)
		if errors.Is(err, sql.ErrNoRows) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("read hold: %w", err)
		}
		a, err := s.lockAccount(b, orgID)
		if err != nil {
			return err
		}
		sb := spendBook{}
		n, err := s.releaseHolds(b, a, sb, `request_id = ?`, requestID)
		if err != nil || n == 0 { // n == 0: settled or released meanwhile
			return err
		}
		if err := s.flushSpend(b, sb); err != nil {
			return err
		}
		return s.saveAccount(b, a)
	})
}

// ExpireHolds implements billing.Store.
func (s *Store) ExpireHolds(ctx context.Context, now time.Time) (int, error) {
	var total int
	err := s.billingTx(ctx, func(b *btx) error {
		total = 0
		rows, err := b.query(`SELECT DISTINCT org_id FROM billing_holds WHERE expires_at < ?`, ts(now))
		if err != nil {
			return fmt.Errorf("find expired holds: %w", err)
		}
		var orgs []string
		for rows.Next() {
			var id string
			if err := rows.Scan(&id); err != nil {
				rows.Close()
				return fmt.Errorf("scan expired hold: %w", err)
			}
			orgs = append(orgs, id)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return fmt.Errorf("find expired holds: %w", err)
		}
		slices.Sort(orgs)
		for _, orgID := range orgs {
			a, err := s.lockAccount(b, orgID)
			if err != nil {
				return err
			}
			sb := spendBook{}
			n, err := s.releaseHolds(b, a, sb, `org_id = ? AND expires_at < ?`, orgID, ts(now))
			if err != nil {
				return err
			}
			if n == 0 {
				continue
			}
			total += n
			if err := s.flushSpend(b, sb); err != nil {
				return err
			}
			if err := s.saveAccount(b, a); err != nil {
				return err
			}
		}
		return nil
	})
	return total, err
}

// ExtendHolds pushes the expiry of the holds of requests still running to
// until, so ExpireHolds (on any replica) never releases a hold whose
// request is alive, however long it streams.
func (s *Store) ExtendHolds(ctx context.Context, requestIDs []string, until time.Time) error {
	for len(requestIDs) > 0 {
		n := min(len(requestIDs), maxRowsPerInsert)
		chunk := requestIDs[:n]
		requestIDs = requestIDs[n:]
		args := make([]any, 0, n+2)
		args = append(args, ts(until))
		for _, id := range chunk {
			args = append(args, id)
		}
		args = append(args, ts(until))
		q := `UPDATE billing_holds SET expires_at = ? WHERE request_id IN (?` + strings.Repeat(", ?", n-1) + `) AND expires_at < ?`
		if err := s.tx(ctx, func(tx *sql.Tx) error {
			_, err := s.exec(ctx, tx, q, args...)
			return err
		}); err != nil {
			return fmt.Errorf("extend holds: %w", err)
		}
	}
	return nil
}
