// Package gate admits, limits and settles every metered request. Admission
// reads the caller's policy fresh (so a top-up, a new cap or a new limit
// applies to the very next request), takes the rate limits that apply
// (key, group and organization, per model and for all models, with the
// usage tier's defaults), takes the concurrency slots, and reserves the
// most the request can cost. Settlement prices what was really used,
// makes the usage record durable (the ledger debit, the caps and the
// rollups move in the same transaction) before the client sees the final
// byte, corrects the token limits from the estimate to the real count and
// frees the slots.
package gate

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/tollgate-dev/tollgate/internal/billing"
	"github.com/tollgate-dev/tollgate/internal/metering"
	"github.com/tollgate-dev/tollgate/internal/money"
	"github.com/tollgate-dev/tollgate/internal/platform"
	"github.com/tollgate-dev/tollgate/internal/pricing"
	"github.com/tollgate-dev/tollgate/internal/ratelimit"
)

// Store is what the gate needs of billing's store.
type Store interface {
	Policy(ctx context.Context, orgID, groupID, keyID, model string, now time.Time) (*billing.Policy, error)
	Reserve(ctx context.Context, h *billing.Hold, requireCredits bool) error
	ReleaseHold(ctx context.Context, requestID string) error
	ExpireHolds(ctx context.Context, now time.Time) (int, error)
	ExtendHolds(ctx context.Context, requestIDs []string, until time.Time) error
	Settle(ctx context.Context, batch []*billing.Settlement) ([]bool, error)
	ListPrices(ctx context.Context) ([]*pricing.Price, error)
	PruneUsage(ctx context.Context, cutoff, minuteCutoff time.Time) (int, error)
}

// Config tunes the gate.
type Config struct {
	// TierRPM is the default requests-per-minute of an organization per
	// model by usage tier; "*" covers other models.
	TierRPM        map[string][]int64
	RequireCredits bool
	HoldTTL        time.Duration
	// SettleWorkers write usage concurrently (1 suits SQLite, whose writes
	// are serial anyway; a few suit PostgreSQL).
	SettleWorkers int
	// PriceRefresh is how often prices added by another replica are read.
	PriceRefresh time.Duration
	// Registerer, when set, receives the gate's metrics.
	Registerer prometheus.Registerer
	// BatchReservations group-commits reservations when the store can
	// (SQLite: one writer at a time). On PostgreSQL concurrent
	// transactions already run side by side, so each reserves on its own.
	BatchReservations bool
}

// Gate admits and settles requests.
type Gate struct {
	store    Store
	limiter  ratelimit.Limiter
	cfg      Config
	log      *slog.Logger
	now      func() time.Time
	prices   atomic.Pointer[pricing.Book]
	writer   *writer
	reserver *reserver // nil unless reservations are batched
	// live are the admitted tickets not yet settled, kept alive by Run.
	live    sync.Map // request ID → *Ticket
	refused *prometheus.CounterVec
	// writerDone is closed when the writer has drained.
	writerDone chan struct{}
}

// New returns a gate; call Run to start its background work.
func New(s Store, l ratelimit.Limiter, cfg Config, log *slog.Logger, now func() time.Time) *Gate {
	if now == nil {
		now = time.Now
	}
	if cfg.HoldTTL <= 0 {
		cfg.HoldTTL = 15 * time.Minute
	}
	if cfg.SettleWorkers <= 0 {
		cfg.SettleWorkers = 1
	}
	if cfg.PriceRefresh <= 0 {
		cfg.PriceRefresh = 10 * time.Second
	}
	g := &Gate{store: s, limiter: l, cfg: cfg, log: log, now: now,
		refused: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "tollgate_admission_refusals_total",
			Help: "Requests refused before any upstream call, by reason (rate_limit, tokens, concurrency, payment).",
		}, []string{"reason"})}
	g.writer = newWriter(s, cfg.SettleWorkers, log)
	if br, ok := s.(BatchReserver); ok && cfg.BatchReservations {
		g.reserver = newReserver(br, cfg.RequireCredits)
	}
	if cfg.Registerer != nil {
		cfg.Registerer.MustRegister(g.refused, g.writer.batch, g.writer.failed)
	}
	g.writerDone = make(chan struct{})
	go func() { g.writer.run(); close(g.writerDone) }()
	empty, _ := pricing.NewBook(nil)
	g.prices.Store(empty)
	return g
}

// Close writes every settlement already queued and stops the writer; later
// settlements are written one by one, synchronously.
func (g *Gate) Close() {
	if g.reserver != nil {
		g.reserver.close()
	}
	g.writer.close()
	<-g.writerDone
}

// reserve places a hold, batched with others when the store allows.
func (g *Gate) reserve(ctx context.Context, h *billing.Hold) error {
	if g.reserver != nil {
		if err, ok := g.reserver.reserve(h); ok {
			return err
		}
	}
	return g.store.Reserve(ctx, h, g.cfg.RequireCredits)
}

// LoadPrices reads the price book now.
func (g *Gate) LoadPrices(ctx context.Context) error {
	ps, err := g.store.ListPrices(ctx)
	if err != nil {
		return fmt.Errorf("load prices: %w", err)
	}
	b, err := pricing.NewBook(ps)
	if err != nil {
		return fmt.Errorf("load prices: %w", err)
	}
	g.prices.Store(b)
	return nil
}

// heartbeat is how often Run renews the holds and concurrency slots of
// requests still running; a slot's lease is a few heartbeats, so the slot
// of a process that died (or a release lost to a Redis hiccup) comes back
// within a minute and a half.
const heartbeat = 30 * time.Second

const slotLease = 3 * heartbeat

// Run refreshes prices, keeps the holds and slots of running requests
// alive, expires orphaned holds and prunes old usage until ctx ends.
func (g *Gate) Run(ctx context.Context, usageRetention, minuteRetention time.Duration) {
	beat := time.NewTicker(min(heartbeat, g.cfg.HoldTTL/3))
	defer beat.Stop()
	prices := time.NewTicker(g.cfg.PriceRefresh)
	holds := time.NewTicker(time.Minute)
	prune := time.NewTicker(time.Hour)
	defer prices.Stop()
	defer holds.Stop()
	defer prune.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-beat.C:
			g.keepAlive(ctx)
		case <-prices.C:
			if err := g.LoadPrices(ctx); err != nil && ctx.Err() == nil {
				g.log.Warn("price refresh failed; keeping the prices loaded before", "err", err)
			}
		case <-holds.C:
			if n, err := g.store.ExpireHolds(ctx, g.now()); err != nil && ctx.Err() == nil {
				g.log.Warn("expiring holds failed", "err", err)
			} else if n > 0 {
				g.log.Info("released reservations of requests that never settled", "holds", n)
			}
		case <-prune.C:
			now := g.now()
			if n, err := g.store.PruneUsage(ctx, now.Add(-usageRetention), now.Add(-minuteRetention)); err != nil && ctx.Err() == nil {
				g.log.Warn("pruning usage failed", "err", err)
			} else if n > 0 {
				g.log.Info("pruned raw usage records past retention", "records", n)
			}
		}
	}
}

// What a reservation assumes a model that bills searches, citation and
// reasoning tokens apart (Deep Research) may use; none is known before the
// call, and max_tokens does not bound them. A
// request that goes beyond is still billed in full, and may take its
// scope past a cap by the excess.
const (
	ReserveSearches        = 50
	ReserveCitationTokens  = 128_000
	ReserveReasoningTokens = 200_000
)

// keepAlive renews the holds and slots of the requests still running, so
// neither lapses under a long stream.
func (g *Gate) keepAlive(ctx context.Context) {
	var ids []string
	g.live.Range(func(k, v any) bool {
		ids = append(ids, k.(string))
		t := v.(*Ticket)
		if len(t.slots) > 0 {
			if _, err := g.limiter.Acquire(ctx, t.slots, t.a.RequestID, slotLease); err != nil && ctx.Err() == nil {
				g.log.Warn("renewing concurrency slots failed", "request_id", t.a.RequestID, "err", err)
			}
		}
		return true
	})
	if len(ids) == 0 {
		return
	}
	if err := g.store.ExtendHolds(ctx, ids, g.now().Add(g.cfg.HoldTTL).UTC()); err != nil && ctx.Err() == nil {
		g.log.Warn("renewing reservations failed", "requests", len(ids), "err", err)
	}
}

// Admission describes a request about to run.
type Admission struct {
	RequestID       string
	OrgID           string
	GroupID         string
	KeyID           string
	Model           string
	PromptTokens    int64 // the estimate before the call
	MaxOutputTokens int64
	ContextSize     pricing.ContextSize
}

// Ticket is an admitted request. Settle or Abandon it exactly once.
type Ticket struct {
	g        *Gate
	a        Admission
	price    *pricing.Price
	held     money.Micros
	tpm      []ratelimit.Rule
	slots    []ratelimit.Slot
	headers  http.Header
	finished atomic.Bool
}

// Headers are the x-ratelimit-* headers for the response.
func (t *Ticket) Headers() http.Header { return t.headers }

// Admit checks limits, caps and credits, in that order, and returns a
// ticket, or a 429, 402 or 503 error that says what to do.
func (g *Gate) Admit(ctx context.Context, a Admission) (*Ticket, error) {
	now := g.now()
	pol, err := g.store.Policy(ctx, a.OrgID, a.GroupID, a.KeyID, a.Model, now)
	if err != nil {
		return nil, fmt.Errorf("read policy: %w", err)
	}
	rpm, tpm, slots, names := g.rules(pol, a)
	rules := append(append([]ratelimit.Rule{}, rpm...), tpm...)
	t := &Ticket{g: g, a: a, tpm: tpm, headers: http.Header{}}
	if len(rules) > 0 {
		d, err := g.limiter.Take(ctx, rules)
		if err != nil {
			return nil, err
		}
		setHeaders(t.headers, rpm, tpm, d)
		if !d.Allowed {
			reason := "rate_limit"
			if d.Impossible {
				reason = "tokens"
			}
			g.refused.WithLabelValues(reason).Inc()
			return nil, limitError(t.headers, names[d.Denied], rules[d.Denied], d)
		}
	}
	if len(slots) > 0 {
		d, err := g.limiter.Acquire(ctx, slots, a.RequestID, slotLease)
		if err != nil || !d.Allowed {
			g.refund(ctx, rules)
			if err != nil {
				return nil, err
			}
			s := slots[d.Denied]
			g.refused.WithLabelValues("concurrency").Inc()
			return nil, &HeaderError{Err: &platform.Error{Kind: platform.KindRateLimited, RetryAfter: time.Second, Message: fmt.Sprintf(
				"Too many concurrent requests on %s: at most %d may run at once. Retry when one finishes, or raise the concurrency limit (docs/limits.md).",
				names[len(rules)+d.Denied], s.Limit)}, Headers: t.headers}
		}
		t.slots = slots
	}
	t.price = g.prices.Load().At(a.Model, now)
	if t.price == nil {
		t.price = pricing.Free
	}
	maxCost, err := pricing.MaxCost(t.price, pricing.Worst{PromptTokens: a.PromptTokens, MaxOutputTokens: a.MaxOutputTokens,
		ContextSize: a.ContextSize, CitationTokens: ReserveCitationTokens, SearchQueries: ReserveSearches,
		ReasoningTokens: ReserveReasoningTokens})
	if err != nil {
		t.release(ctx, rules)
		return nil, platform.Invalid("max_tokens", "this request's worst-case cost is beyond what Tollgate can price; lower max_tokens")
	}
	// What the policy just read already refuses most requests that cannot
	// be paid, without a write: a client looping at zero balance must not
	// become a stream of transactions. The reservation decides the rest.
	if err := precheck(pol, maxCost, g.cfg.RequireCredits); err != nil {
		t.release(ctx, nil) // the request counts against its rate limits
		g.refused.WithLabelValues("payment").Inc()
		return nil, &HeaderError{Err: err, Headers: t.headers}
	}
	h := &billing.Hold{RequestID: a.RequestID, OrgID: a.OrgID, GroupID: a.GroupID, KeyID: a.KeyID, Model: a.Model,
		Amount: maxCost, Month: billing.MonthOf(now), CreatedAt: now.UTC(), ExpiresAt: now.Add(g.cfg.HoldTTL).UTC()}
	if err := g.reserve(ctx, h); err != nil {
		if platform.ErrorKind(err) == platform.KindPaymentRequired {
			t.release(ctx, nil)
		} else {
			t.release(ctx, rules)
		}
		if platform.ErrorKind(err) == platform.KindPaymentRequired {
			g.refused.WithLabelValues("payment").Inc()
			return nil, &HeaderError{Err: err, Headers: t.headers}
		}
		return nil, fmt.Errorf("reserve: %w", err)
	}
	t.held = maxCost
	g.live.Store(a.RequestID, t)
	return t, nil
}

// precheck refuses, from the policy read for this request, what the
// reservation would certainly refuse.
func precheck(pol *billing.Policy, amount money.Micros, requireCredits bool) error {
	if avail := pol.Account.Available(); requireCredits && avail < amount {
		return billing.OutOfCredits(pol.Account.OrgID, amount, avail)
	}
	for _, c := range pol.Caps {
		if room := c.Monthly - c.Spent - c.HeldNow; room < amount {
			return billing.CapReached(c.Scope, c.Monthly, amount, room)
		}
	}
	return nil
}

// release undoes an admission that will not run: the rate-limit charges
// are refunded (a refused request is not counted) and the slots freed.
func (t *Ticket) release(ctx context.Context, rules []ratelimit.Rule) {
	t.g.refund(ctx, rules)
	if len(t.slots) > 0 {
		t.g.releaseSlots(ctx, t.slots, t.a.RequestID)
	}
}

func (g *Gate) refund(ctx context.Context, rules []ratelimit.Rule) {
	if len(rules) == 0 {
		return
	}
	back := make([]ratelimit.Rule, len(rules))
	for i, r := range rules {
		r.Cost = -r.Cost
		back[i] = r
	}
	if err := g.limiter.Charge(context.WithoutCancel(ctx), back); err != nil {
		g.log.Warn("refunding rate limits failed", "err", err)
	}
}

// Price returns the price the ticket's request is billed at.
func (t *Ticket) Price() *pricing.Price { return t.price }

// Cost prices rec's usage.
func (t *Ticket) Cost(rec *metering.Record) (pricing.Cost, error) {
	return Cost(t.price, rec)
}

// Cost prices a usage record. A request fee applies to requests that got
// an answer, whole or partial; a failure before any output is free.
func Cost(p *pricing.Price, rec *metering.Record) (pricing.Cost, error) {
	u := pricing.Usage{PromptTokens: int64(rec.PromptTokens), CompletionTokens: int64(rec.CompletionTokens),
		ReasoningTokens: int64(rec.ReasoningTokens), CitationTokens: int64(rec.CitationTokens),
		SearchQueries: int64(rec.SearchQueries), ContextSize: rec.ContextSize}
	if rec.Outcome == metering.OutcomeOK || rec.CompletionTokens > 0 {
		u.Requests = 1
	}
	if rec.Outcome != metering.OutcomeOK && rec.CompletionTokens == 0 && rec.ReasoningTokens == 0 {
		// Nothing was produced: the prompt was not served either.
		u.PromptTokens = 0
	}
	return pricing.Compute(p, u)
}

// Settle prices rec, stores it durably with its ledger debit, and frees
// the ticket's limits. It returns once the record is committed, so the
// caller may then send the final byte. rec.Cost is set.
func (t *Ticket) Settle(ctx context.Context, rec *metering.Record) error {
	if !t.finished.CompareAndSwap(false, true) {
		return errors.New("gate: ticket settled twice")
	}
	c, err := t.Cost(rec)
	if err != nil {
		// Only absurd counts overflow; bill what was reserved rather than
		// serve it free.
		t.g.log.Error("pricing failed; billing the reserved amount", "request_id", rec.RequestID, "err", err)
		c = pricing.Cost{PriceID: t.price.ID, Output: t.held, Total: t.held}
	}
	rec.Cost = c
	// The record is the hold's request: its ID releases the hold, and the
	// caller it names is the one admitted.
	rec.RequestID, rec.OrgID, rec.GroupID, rec.KeyID = t.a.RequestID, t.a.OrgID, t.a.GroupID, t.a.KeyID
	if rec.Model == "" {
		rec.Model = t.a.Model
	}
	if rec.ContextSize == "" {
		rec.ContextSize = t.a.ContextSize
	}
	err = t.g.writer.settle(ctx, &billing.Settlement{Record: *rec, Held: t.held})
	// Correct the token limits from the estimate to what was used.
	if len(t.tpm) > 0 {
		used := int64(rec.PromptTokens + rec.CompletionTokens)
		adj := make([]ratelimit.Rule, len(t.tpm))
		for i, r := range t.tpm {
			r.Cost = used - r.Cost
			adj[i] = r
		}
		if cerr := t.g.limiter.Charge(context.WithoutCancel(ctx), adj); cerr != nil {
			t.g.log.Warn("correcting token limits failed", "request_id", rec.RequestID, "err", cerr)
		}
	}
	t.g.live.Delete(t.a.RequestID)
	if len(t.slots) > 0 {
		t.g.releaseSlots(ctx, t.slots, t.a.RequestID)
	}
	return err
}

// releaseSlots frees slots, retrying in the background when the limiter
// cannot be reached (a Redis hiccup must not keep a key's slots taken
// until their lease ends).
func (g *Gate) releaseSlots(ctx context.Context, slots []ratelimit.Slot, holder string) {
	ctx = context.WithoutCancel(ctx)
	if err := g.limiter.Release(ctx, slots, holder); err == nil {
		return
	}
	go func() {
		for i := 1; i <= 4; i++ {
			time.Sleep(time.Duration(i*i) * 250 * time.Millisecond)
			if err := g.limiter.Release(ctx, slots, holder); err == nil {
				return
			} else if i == 4 {
				g.log.Warn("releasing concurrency slots failed; they lapse with their lease", "request_id", holder,
					"lease", slotLease, "err", err)
			}
		}
	}()
}

// HeaderError is an error that carries response headers (x-ratelimit-*).
type HeaderError struct {
	Err     error
	Headers http.Header
}

func (e *HeaderError) Error() string { return e.Err.Error() }
func (e *HeaderError) Unwrap() error { return e.Err }

// ResponseHeaders implements httpjson's header-carrying error.
func (e *HeaderError) ResponseHeaders() http.Header { return e.Headers }

func limitError(h http.Header, name string, r ratelimit.Rule, d ratelimit.Decision) error {
	unit := "requests"
	if r.Cost != 1 || name[:3] == "tpm" {
		unit = "tokens"
	}
	if d.Impossible {
		return &HeaderError{Headers: h, Err: platform.Invalid("messages",
			"This request needs about %d tokens but %s allows only %d tokens per minute; shorten it or raise the limit (docs/limits.md).",
			r.Cost, name[4:], r.Limit)}
	}
	ra := d.RetryAfter
	if ra < time.Millisecond {
		ra = time.Millisecond
	}
	return &HeaderError{Headers: h, Err: &platform.Error{Kind: platform.KindRateLimited, RetryAfter: ra, Message: fmt.Sprintf(
		"Rate limit reached for %s per minute on %s (limit %d). Retry after %s, or raise the limit (docs/limits.md).",
		unit, name[4:], r.Limit, ra.Round(time.Millisecond))}}
}

// setHeaders writes OpenAI's x-ratelimit-* headers from the tightest rule
// of each kind.
func setHeaders(h http.Header, rpm, tpm []ratelimit.Rule, d ratelimit.Decision) {
	write := func(suffix string, from, n int) {
		best := -1
		for i := from; i < from+n; i++ {
			if best < 0 || d.Results[i].Remaining < d.Results[best].Remaining {
				best = i
			}
		}
		if best < 0 {
			return
		}
		r := d.Results[best]
		h.Set("X-Ratelimit-Limit-"+suffix, strconv.FormatInt(r.Limit, 10))
		h.Set("X-Ratelimit-Remaining-"+suffix, strconv.FormatInt(r.Remaining, 10))
		h.Set("X-Ratelimit-Reset-"+suffix, r.Reset.Round(time.Millisecond).String())
	}
	write("Requests", 0, len(rpm))
	write("Tokens", len(rpm), len(tpm))
}

// rules turns a policy into the rate-limit rules and concurrency slots of
// one request, with a name for each to quote in errors.
func (g *Gate) rules(pol *billing.Policy, a Admission) (rpm, tpm []ratelimit.Rule, slots []ratelimit.Slot, names []string) {
	var tpmNames, slotNames []string
	orgRPM := false
	for _, l := range pol.Limits {
		model := l.Model
		if model == "" {
			model = "*"
		}
		scope := string(l.Scope.Kind) + " " + l.Scope.ID
		if model != "*" {
			scope += " for " + model
		}
		// The limit is part of the key: a changed limit starts a fresh
		// bucket instead of reading the old one's state at the new rate.
		key := string(l.Scope.Kind) + ":" + l.Scope.ID + ":" + model + ":"
		if l.RPM > 0 {
			rpm = append(rpm, ratelimit.Rule{Key: "rpm:" + key + strconv.FormatInt(l.RPM, 10), Limit: l.RPM, Period: time.Minute, Cost: 1})
			names = append(names, "rpm "+scope)
			if l.Scope.Kind == billing.ScopeOrg {
				orgRPM = true
			}
		}
		if l.TPM > 0 {
			tpm = append(tpm, ratelimit.Rule{Key: "tpm:" + key + strconv.FormatInt(l.TPM, 10), Limit: l.TPM, Period: time.Minute, Cost: max(a.PromptTokens, 0)})
			tpmNames = append(tpmNames, "tpm "+scope)
		}
		if l.Concurrency > 0 {
			slots = append(slots, ratelimit.Slot{Key: "conc:" + key + "0", Limit: l.Concurrency})
			slotNames = append(slotNames, scope)
		}
	}
	if !orgRPM {
		tiers, ok := g.cfg.TierRPM[a.Model]
		if !ok {
			tiers = g.cfg.TierRPM["*"]
		}
		tier := min(max(pol.Account.Tier, 0), len(tiers)-1)
		if tier >= 0 && tiers[tier] > 0 {
			rpm = append(rpm, ratelimit.Rule{Key: "rpm:tier:" + a.OrgID + ":" + a.Model + ":" + strconv.FormatInt(tiers[tier], 10),
				Limit: tiers[tier], Period: time.Minute, Cost: 1})
			names = append(names, fmt.Sprintf("rpm org %s for %s (usage tier %d default)", a.OrgID, a.Model, tier))
		}
	}
	names = append(append(names, tpmNames...), slotNames...)
	return rpm, tpm, slots, names
}
