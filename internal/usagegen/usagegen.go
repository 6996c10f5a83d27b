// Package usagegen fills a store with synthetic usage for benchmarks and
// scale tests: an organization with groups and keys, and any number of
// priced usage records spread over a time range, written through
// Store.Settle, the call the gateway's group-commit writer makes when
// requests finish. So the records, the ledger, the spend and the minute
// and day rollups end up exactly as production leaves them; nothing is
// written around the settlement path.
//
// The data is deterministic for a given seed, and the generator keeps a
// tally per hour, group, key and model of what it settled, so a test can
// check a report read from the rollups against sums it did not read from
// the store.
package usagegen

import (
	"context"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/tollgate-dev/tollgate/internal/billing"
	"github.com/tollgate-dev/tollgate/internal/governance"
	"github.com/tollgate-dev/tollgate/internal/metering"
	"github.com/tollgate-dev/tollgate/internal/money"
	"github.com/tollgate-dev/tollgate/internal/platform"
	"github.com/tollgate-dev/tollgate/internal/pricing"
)

// Settler is the store call that settles finished requests
// (billing.Store's Settle).
type Settler interface {
	Settle(ctx context.Context, batch []*billing.Settlement) ([]bool, error)
}

// Key is an API key usage is charged to.
type Key struct {
	ID, GroupID string
}

// Tenant is an organization made for a benchmark.
type Tenant struct {
	Org *platform.Org
	// Owner signs in with OwnerEmail and OwnerPassword.
	Owner         *platform.User
	OwnerEmail    string
	OwnerPassword string
	Principal     platform.Principal
	Groups        []*platform.Group
	Keys          []Key
}

// NewTenant creates, through governance (so every row is what the API
// would have written), an organization with an owner, groups groups of
// keysPerGroup keys each, and a top-up large enough that no usage ever
// takes the balance below zero.
func NewTenant(ctx context.Context, gov *governance.Service, bs *billing.Service, groups, keysPerGroup int) (*Tenant, error) {
	email := "owner@bench.test"
	b, err := gov.CreateOrg(ctx, platform.SystemActor("usagegen"), "Bench Corp", email)
	if err != nil {
		return nil, fmt.Errorf("usagegen: create org: %w", err)
	}
	t := &Tenant{Org: b.Org, Owner: b.User, OwnerEmail: email, OwnerPassword: b.Password,
		Principal: platform.Principal{OrgID: b.Org.ID, Role: platform.RoleOwner,
			Actor: platform.Actor{Type: platform.ActorUser, ID: b.User.ID}}}
	for g := range groups {
		grp, err := gov.CreateGroup(ctx, t.Principal, fmt.Sprintf("app-%02d", g+1), "")
		if err != nil {
			return nil, fmt.Errorf("usagegen: create group: %w", err)
		}
		t.Groups = append(t.Groups, grp)
		for k := range keysPerGroup {
			key, _, err := gov.CreateKey(ctx, t.Principal, grp.ID, fmt.Sprintf("%s-key-%d", grp.Name, k+1), nil)
			if err != nil {
				return nil, fmt.Errorf("usagegen: create key: %w", err)
			}
			t.Keys = append(t.Keys, Key{ID: key.ID, GroupID: grp.ID})
		}
	}
	if _, err := bs.Post(ctx, t.Principal, billing.PostRequest{Kind: billing.KindTopUp,
		Amount: 1_000_000 * money.PerDollar, Memo: "benchmark credits"}); err != nil {
		return nil, fmt.Errorf("usagegen: top up: %w", err)
	}
	return t, nil
}

// Models are the models usage is spread over, with their shares of
// requests: most traffic on the cheap model, a little on the dear ones.
var Models = []struct {
	Name  string
	Share float64
}{
	{"sonar", 0.50}, {"sonar-pro", 0.30}, {"sonar-reasoning-pro", 0.15}, {"sonar-deep-research", 0.05},
}

// Config is what to generate.
type Config struct {
	OrgID string
	Keys  []Key
	// Records is how many requests to settle.
	Records int
	// End is when the last request starts (exclusive); Span is how far
	// back the first starts (default 30 days). Start times are spread
	// evenly with jitter, oldest first, as a live gateway settles them.
	End  time.Time
	Span time.Duration
	// Batch is how many requests share one Settle transaction (default
	// 1000).
	Batch int
	// Seed makes the data reproducible.
	Seed uint64
	// Prices prices the requests; nil is the built-in list prices.
	Prices *pricing.Book
	// Progress, when set, is called after every batch with the records
	// settled so far.
	Progress func(done int)
}

// Cell is one hour of one key's use of one model.
type Cell struct {
	Hour           int64 // the hour's start, Unix seconds
	GroupID, KeyID string
	Model          string
}

// Totals sum requests.
type Totals struct {
	Requests, Errors                                int64
	PromptTokens, CompletionTokens, ReasoningTokens int64
	CitationTokens, SearchQueries                   int64
	Cost                                            money.Micros
}

func (t *Totals) add(u Totals) {
	t.Requests += u.Requests
	t.Errors += u.Errors
	t.PromptTokens += u.PromptTokens
	t.CompletionTokens += u.CompletionTokens
	t.ReasoningTokens += u.ReasoningTokens
	t.CitationTokens += u.CitationTokens
	t.SearchQueries += u.SearchQueries
	t.Cost += u.Cost
}

// Result is what Generate settled.
type Result struct {
	// Settled is the number of requests the store took as new (a request
	// ID already stored is skipped by Settle and not counted).
	Settled int
	// Elapsed is the wall time of the whole run, generation included.
	Elapsed time.Duration
	// Cells tallies every settled request by hour, group, key and model.
	Cells map[Cell]*Totals
}

// Filter selects cells: hours whose start is in [From, To), and the group,
// key and model when set.
type Filter struct {
	From, To              time.Time
	GroupID, KeyID, Model string
}

func (f Filter) match(c Cell) bool {
	return (f.From.IsZero() || c.Hour >= f.From.Unix()) && (f.To.IsZero() || c.Hour < f.To.Unix()) &&
		(f.GroupID == "" || c.GroupID == f.GroupID) && (f.KeyID == "" || c.KeyID == f.KeyID) &&
		(f.Model == "" || c.Model == f.Model)
}

// Sum adds up the cells f selects. When From and To are on boundaries of
// a report's buckets (hours, or UTC days), it is what that report's
// buckets in [From, To) hold.
func (r *Result) Sum(f Filter) Totals {
	var t Totals
	for c, u := range r.Cells {
		if f.match(c) {
			t.add(*u)
		}
	}
	return t
}

// SumBy is Sum split by "group", "key" or "model".
func (r *Result) SumBy(f Filter, by string) map[string]Totals {
	out := map[string]Totals{}
	for c, u := range r.Cells {
		if !f.match(c) {
			continue
		}
		id := map[string]string{"group": c.GroupID, "key": c.KeyID, "model": c.Model}[by]
		t := out[id]
		t.add(*u)
		out[id] = t
	}
	return out
}

// Generate settles cfg.Records synthetic requests through s, cfg.Batch at
// a time.
func Generate(ctx context.Context, s Settler, cfg Config) (*Result, error) {
	switch {
	case cfg.OrgID == "" || len(cfg.Keys) == 0:
		return nil, fmt.Errorf("usagegen: an organization and at least one key are required")
	case cfg.Records < 0:
		return nil, fmt.Errorf("usagegen: negative record count")
	case cfg.End.IsZero():
		return nil, fmt.Errorf("usagegen: no end time")
	}
	if cfg.Span <= 0 {
		cfg.Span = 30 * 24 * time.Hour
	}
	if cfg.Batch <= 0 {
		cfg.Batch = 1000
	}
	if cfg.Prices == nil {
		book, err := pricing.NewBook(pricing.Defaults())
		if err != nil {
			return nil, err
		}
		cfg.Prices = book
	}
	began := time.Now()
	g := newGen(cfg)
	res := &Result{Cells: map[Cell]*Totals{}}
	batch := make([]*billing.Settlement, 0, cfg.Batch)
	for i := 0; i < cfg.Records; {
		batch = batch[:0]
		for ; i < cfg.Records && len(batch) < cfg.Batch; i++ {
			st, err := g.settlement(i)
			if err != nil {
				return nil, err
			}
			batch = append(batch, st)
		}
		fresh, err := s.Settle(ctx, batch)
		if err != nil {
			return nil, fmt.Errorf("usagegen: settle records %d-%d: %w", i-len(batch), i-1, err)
		}
		for j, st := range batch {
			if fresh[j] {
				res.Settled++
				res.tally(&st.Record)
			}
		}
		if cfg.Progress != nil {
			cfg.Progress(i)
		}
	}
	res.Elapsed = time.Since(began)
	return res, nil
}

func (r *Result) tally(rec *metering.Record) {
	c := Cell{Hour: rec.StartedAt.Truncate(time.Hour).Unix(), GroupID: rec.GroupID, KeyID: rec.KeyID, Model: rec.Model}
	t := r.Cells[c]
	if t == nil {
		t = &Totals{}
		r.Cells[c] = t
	}
	t.add(Totals{Requests: 1, Errors: b2i(rec.Outcome != metering.OutcomeOK),
		PromptTokens: int64(rec.PromptTokens), CompletionTokens: int64(rec.CompletionTokens),
		ReasoningTokens: int64(rec.ReasoningTokens), CitationTokens: int64(rec.CitationTokens),
		SearchQueries: int64(rec.SearchQueries), Cost: rec.Cost.Total})
}

func b2i(b bool) int64 {
	if b {
		return 1
	}
	return 0
}

// gen draws requests.
type gen struct {
	cfg   Config
	rng   *rand.Rand
	start time.Time
	// keyCDF and modelCDF pick a key (the first keys busiest, like a few
	// production services and many small scripts) and a model.
	keyCDF, modelCDF []float64
}

func newGen(cfg Config) *gen {
	g := &gen{cfg: cfg, rng: rand.New(rand.NewPCG(cfg.Seed, cfg.Seed^0x9e3779b97f4a7c15)), start: cfg.End.Add(-cfg.Span)}
	var sum float64
	for i := range cfg.Keys {
		sum += 1 / float64(i+1)
		g.keyCDF = append(g.keyCDF, sum)
	}
	for i := range g.keyCDF {
		g.keyCDF[i] /= sum
	}
	sum = 0
	for _, m := range Models {
		sum += m.Share
		g.modelCDF = append(g.modelCDF, sum)
	}
	for i := range g.modelCDF {
		g.modelCDF[i] /= sum
	}
	return g
}

func pick(cdf []float64, u float64) int {
	for i, c := range cdf {
		if u < c {
			return i
		}
	}
	return len(cdf) - 1
}

// settlement is request i: its start is in the i-th of Records equal
// slices of the span, so starts are ascending and cover the span evenly.
func (g *gen) settlement(i int) (*billing.Settlement, error) {
	slice := float64(g.cfg.Span) / float64(g.cfg.Records)
	started := g.start.Add(time.Duration((float64(i) + g.rng.Float64()) * slice)).UTC().Truncate(time.Microsecond)
	key := g.cfg.Keys[pick(g.keyCDF, g.rng.Float64())]
	model := Models[pick(g.modelCDF, g.rng.Float64())].Name
	r := metering.Record{RequestID: fmt.Sprintf("req_usagegen_%d_%09d", g.cfg.Seed, i), OrgID: g.cfg.OrgID,
		GroupID: key.GroupID, KeyID: key.ID, Endpoint: "chat.completions", Model: model, ServedBy: model,
		Deployment: "bench", Stream: g.rng.IntN(2) == 0, ContextSize: pricing.ContextLow, Attempts: 1,
		StartedAt: started, Status: 200, Outcome: metering.OutcomeOK}
	u := pricing.Usage{ContextSize: r.ContextSize, Requests: 1}
	if g.rng.IntN(50) == 0 { // 2% fail upstream: billed nothing
		r.Status, r.Outcome, r.Error = 502, metering.OutcomeError, "upstream error"
		r.PromptTokens = 200 + g.rng.IntN(2800)
		u.Requests = 0
	} else {
		r.PromptTokens = 200 + g.rng.IntN(2800)
		r.CompletionTokens = 50 + g.rng.IntN(1150)
		if model == "sonar-deep-research" {
			r.ReasoningTokens = 1000 + g.rng.IntN(20000)
			r.CitationTokens = 500 + g.rng.IntN(5000)
			r.SearchQueries = 1 + g.rng.IntN(20)
		}
		u.PromptTokens, u.CompletionTokens = int64(r.PromptTokens), int64(r.CompletionTokens)
		u.ReasoningTokens, u.CitationTokens, u.SearchQueries = int64(r.ReasoningTokens), int64(r.CitationTokens), int64(r.SearchQueries)
	}
	r.TotalTokens = r.PromptTokens + r.CompletionTokens + r.ReasoningTokens
	r.Latency = time.Duration(300+g.rng.IntN(4000)) * time.Millisecond
	if p := g.cfg.Prices.At(model, started); p != nil {
		c, err := pricing.Compute(p, u)
		if err != nil {
			return nil, fmt.Errorf("usagegen: price request %d: %w", i, err)
		}
		r.Cost = c
	}
	return &billing.Settlement{Record: r}, nil
}
