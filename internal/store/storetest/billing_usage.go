package storetest

import (
	"fmt"
	"testing"
	"time"

	"github.com/tollgate-dev/tollgate/internal/billing"
	"github.com/tollgate-dev/tollgate/internal/metering"
	"github.com/tollgate-dev/tollgate/internal/money"
	"github.com/tollgate-dev/tollgate/internal/platform"
)

var usageTests = []billingTest{
	{"SettleOnce", testSettleOnce},
	{"SettleConcurrent", testSettleConcurrent},
	{"SettleLargeBatch", testSettleLargeBatch},
	{"Rollups", testRollups},
	{"UsageRecord", testUsageRecord},
	{"Prune", testPruneUsage},
}

// settlements wraps records in settlements without holds.
func settlements(recs ...metering.Record) []*billing.Settlement {
	out := make([]*billing.Settlement, len(recs))
	for i := range recs {
		out[i] = &billing.Settlement{Record: recs[i]}
	}
	return out
}

// testSettleOnce: a request is settled once, whatever batches it comes in.
func testSettleOnce(t *testing.T, e *benv) {
	tn := e.tenant("Acme")
	now := e.clock.Now()
	a, b, c, d := e.record(tn, "sonar", 100, now), e.record(tn, "sonar", 200, now), e.record(tn, "sonar", 400, now), e.record(tn, "sonar", 800, now)
	steps := []struct {
		name      string
		batch     []metering.Record
		wantNew   []bool
		wantSpent money.Micros
	}{
		{"empty batch", nil, []bool{}, 0},
		{"first", []metering.Record{a, b, c}, []bool{true, true, true}, 700},
		{"the same batch again", []metering.Record{a, b, c}, []bool{false, false, false}, 700},
		{"one old, one new", []metering.Record{b, d}, []bool{false, true}, 1500},
		{"a duplicate within a batch", []metering.Record{d, d}, []bool{false, false}, 1500},
	}
	for _, s := range steps {
		fresh, err := e.b.Settle(e.ctx, settlements(s.batch...))
		if err != nil {
			t.Fatalf("%s: Settle: %v", s.name, err)
		}
		checkEqual(t, s.name+": new", fresh, s.wantNew)
		if got := e.account(tn.org.ID).Balance; got != -s.wantSpent {
			t.Fatalf("%s: balance %d, want %d", s.name, got, -s.wantSpent)
		}
	}
	e2 := e.record(tn, "sonar", 3, now)
	fresh, err := e.b.Settle(e.ctx, settlements(e2, e2))
	if err != nil {
		t.Fatalf("Settle: %v", err)
	}
	checkEqual(t, "a new request twice in one batch", fresh, []bool{true, false})
	rows := e.usage(billing.UsageQuery{OrgID: tn.org.ID, Granularity: billing.Day})
	if len(rows) != 1 || rows[0].Requests != 5 || rows[0].Cost != 1503 {
		t.Fatalf("usage after repeated settlements: %s; want 5 requests costing 1503", show(rows))
	}
	if n := len(e.ledger(tn.org.ID, billing.LedgerFilter{Kind: billing.KindUsage})); n != 5 {
		t.Fatalf("%d usage debits, want 5", n)
	}

	// Invalid settlements are refused whole.
	bad := e.record(tn, "sonar", -1, now)
	_, err = e.b.Settle(e.ctx, settlements(e.record(tn, "sonar", 1, now), bad))
	wantKind(t, "a negative cost", err, platform.KindInvalid)
	noOrg := e.record(tn, "sonar", 1, now)
	noOrg.OrgID = ""
	_, err = e.b.Settle(e.ctx, settlements(noOrg))
	wantKind(t, "a record without an organization", err, platform.KindInvalid)
	if got := e.account(tn.org.ID).Balance; got != -1503 {
		t.Fatalf("balance %d after refused batches, want -1503", got)
	}
	e.checkBooks(tn.org.ID)
}

// testSettleConcurrent: batches racing with the same records count each
// record once.
func testSettleConcurrent(t *testing.T, e *benv) {
	const (
		racers = 5
		size   = 20
	)
	acme, initech := e.tenant("Acme"), e.tenant("Initech")
	var stores []billing.Store
	for i := range racers {
		if i > 0 && e.replica != nil && i%2 == 0 {
			stores = append(stores, e.replica(t, e.clock.Now))
			continue
		}
		stores = append(stores, e.b)
	}
	for round := range rounds {
		var recs []metering.Record
		for i := range size {
			tn := acme
			if i%3 == 0 {
				tn = initech
			}
			recs = append(recs, e.record(tn, "sonar", money.Micros(1+i), e.clock.Now()))
		}
		var (
			fns   []func()
			fresh = make([][]bool, racers)
			errs  = make([]error, racers)
		)
		for r := range racers {
			// Each racer has the records in another order.
			batch := settlements(recs...)
			for i := range batch {
				j := (i + r*7) % len(batch)
				batch[i], batch[j] = batch[j], batch[i]
			}
			fns = append(fns, func() { fresh[r], errs[r] = stores[r].Settle(e.ctx, batch) })
		}
		race(fns...)
		counted := 0
		for r := range racers {
			if errs[r] != nil {
				t.Fatalf("round %d: Settle: %v", round, errs[r])
			}
			for _, n := range fresh[r] {
				if n {
					counted++
				}
			}
		}
		if counted != size {
			t.Fatalf("round %d: %d racers reported %d new records of %d", round, racers, counted, size)
		}
	}
	rows := e.usage(billing.UsageQuery{OrgID: acme.org.ID, Granularity: billing.Day})
	if len(rows) != 1 || rows[0].Requests != rounds*13 {
		t.Fatalf("acme's usage: %s; want %d requests", show(rows), rounds*13)
	}
	e.checkBooks(acme.org.ID, initech.org.ID)
}

// testSettleLargeBatch settles a batch as large as the meter sends.
func testSettleLargeBatch(t *testing.T, e *benv) {
	const n = 500
	tn := e.tenant("Acme")
	e.post(tn.org.ID, billing.KindTopUp, usd(10), "")
	batch := make([]*billing.Settlement, n)
	for i := range n {
		h := e.hold(tn, 2_000)
		if err := e.b.Reserve(e.ctx, h, true); err != nil {
			t.Fatalf("Reserve: %v", err)
		}
		rec := e.record(tn, []string{"sonar", "sonar-pro"}[i%2], 1_000, e.clock.Advance(time.Second))
		rec.RequestID = h.RequestID
		batch[i] = &billing.Settlement{Record: rec, Held: h.Amount}
	}
	fresh, err := e.b.Settle(e.ctx, batch)
	if err != nil {
		t.Fatalf("Settle(%d): %v", n, err)
	}
	for i, f := range fresh {
		if !f {
			t.Fatalf("record %d not new", i)
		}
	}
	if a := e.account(tn.org.ID); a.Balance != usd(10)-n*1_000 || a.Held != 0 {
		t.Fatalf("after a batch of %d: %s", n, show(a))
	}
	var requests int64
	for _, r := range e.usage(billing.UsageQuery{OrgID: tn.org.ID, Granularity: billing.Minute}) {
		requests += r.Requests
	}
	if requests != n {
		t.Fatalf("minute rollups count %d requests, want %d", requests, n)
	}
	e.checkBooks(tn.org.ID)
}

func (e *benv) usage(q billing.UsageQuery) []billing.UsageRow {
	e.t.Helper()
	rows, err := e.b.Usage(e.ctx, q)
	if err != nil {
		e.t.Fatalf("Usage(%+v): %v", q, err)
	}
	return rows
}

// testRollups settles records across minutes, hours and days and reads
// them back by every granularity, filter and split.
func testRollups(t *testing.T, e *benv) {
	tn := e.tenant("Acme")
	g2 := e.group(tn.org.ID, "Staging")
	k2 := e.key(tn.org.ID, g2.ID, "staging")
	other := e.tenant("Initech")
	t0 := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	at := func(d time.Duration) time.Time { return t0.Add(d) }
	failed := e.record(tn, "sonar", 0, at(50*time.Second))
	failed.Outcome, failed.Status, failed.Error = metering.OutcomeError, 502, "upstream failed"
	aborted := e.recordFor(tn.org.ID, g2.ID, k2.ID, "sonar-pro", 70, at(61*time.Second))
	aborted.Outcome = metering.OutcomeAborted
	e.settle(
		e.record(tn, "sonar", 1, at(10*time.Second)),
		failed,
		aborted,
		e.record(tn, "sonar-pro", 100, at(90*time.Minute)),
		e.recordFor(tn.org.ID, g2.ID, k2.ID, "sonar", 1000, at(12*time.Hour+10*time.Minute)),
		e.record(other, "sonar", 5, at(10*time.Second)),
	)
	// row builds a bucket of n requests costing cost.
	row := func(start time.Time, groupID, keyID, model string, n, errs int64, cost money.Micros) billing.UsageRow {
		return billing.UsageRow{Start: start, GroupID: groupID, KeyID: keyID, Model: model, Requests: n, Errors: errs,
			PromptTokens: 100 * n, CompletionTokens: 20 * n, ReasoningTokens: 3 * n, CitationTokens: 4 * n,
			SearchQueries: n, Cost: cost}
	}
	day2 := time.Date(2026, 3, 2, 0, 0, 0, 0, time.UTC)
	g1, k1 := tn.group.ID, tn.key.ID
	tests := []struct {
		name string
		q    billing.UsageQuery
		want []billing.UsageRow
	}{
		{"minute", billing.UsageQuery{Granularity: billing.Minute}, []billing.UsageRow{
			row(t0, "", "", "", 2, 1, 1), row(at(time.Minute), "", "", "", 1, 1, 70),
			row(at(90*time.Minute), "", "", "", 1, 0, 100), row(at(12*time.Hour+10*time.Minute), "", "", "", 1, 0, 1000)}},
		{"hour", billing.UsageQuery{Granularity: billing.Hour}, []billing.UsageRow{
			row(t0, "", "", "", 3, 2, 71), row(at(time.Hour), "", "", "", 1, 0, 100), row(day2, "", "", "", 1, 0, 1000)}},
		{"day", billing.UsageQuery{Granularity: billing.Day}, []billing.UsageRow{
			row(time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC), "", "", "", 4, 2, 171), row(day2, "", "", "", 1, 0, 1000)}},
		{"day by model", billing.UsageQuery{Granularity: billing.Day, By: []string{"model"}}, []billing.UsageRow{
			row(time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC), "", "", "sonar", 2, 1, 1),
			row(time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC), "", "", "sonar-pro", 2, 1, 170),
			row(day2, "", "", "sonar", 1, 0, 1000)}},
		{"hour by group and key, one model", billing.UsageQuery{Granularity: billing.Hour, Model: "sonar", By: []string{"key", "group"}},
			sortRows([]billing.UsageRow{row(t0, g1, k1, "", 2, 1, 1), row(day2, g2.ID, k2.ID, "", 1, 0, 1000)})},
		{"one group", billing.UsageQuery{Granularity: billing.Day, GroupID: g2.ID}, []billing.UsageRow{
			row(time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC), "", "", "", 1, 1, 70), row(day2, "", "", "", 1, 0, 1000)}},
		{"one key by model", billing.UsageQuery{Granularity: billing.Minute, KeyID: k1, By: []string{"model"}}, []billing.UsageRow{
			row(t0, "", "", "sonar", 2, 1, 1), row(at(90*time.Minute), "", "", "sonar-pro", 1, 0, 100)}},
		{"range [from, to)", billing.UsageQuery{Granularity: billing.Minute, From: at(time.Minute), To: at(90 * time.Minute)},
			[]billing.UsageRow{row(at(time.Minute), "", "", "", 1, 1, 70)}},
		{"hours of a range", billing.UsageQuery{Granularity: billing.Hour, From: at(time.Minute), To: at(91 * time.Minute)},
			[]billing.UsageRow{row(t0, "", "", "", 1, 1, 70), row(at(time.Hour), "", "", "", 1, 0, 100)}},
		// Whole hours come from the hour rollups, the minutes of the hours
		// a range cuts from the minute rollups: the first and last buckets
		// hold only what started in the range.
		{"hours of a longer range", billing.UsageQuery{Granularity: billing.Hour, From: at(time.Minute), To: at(12*time.Hour + 15*time.Minute)},
			[]billing.UsageRow{row(t0, "", "", "", 1, 1, 70), row(at(time.Hour), "", "", "", 1, 0, 100), row(day2, "", "", "", 1, 0, 1000)}},
		{"hours to a cut hour", billing.UsageQuery{Granularity: billing.Hour, From: t0, To: at(12*time.Hour + 10*time.Minute)},
			[]billing.UsageRow{row(t0, "", "", "", 3, 2, 71), row(at(time.Hour), "", "", "", 1, 0, 100)}},
		{"whole hours", billing.UsageQuery{Granularity: billing.Hour, From: at(time.Hour), To: at(13 * time.Hour)},
			[]billing.UsageRow{row(at(time.Hour), "", "", "", 1, 0, 100), row(day2, "", "", "", 1, 0, 1000)}},
		{"hours from a cut hour, by key", billing.UsageQuery{Granularity: billing.Hour, From: at(30 * time.Second), By: []string{"key"}},
			[]billing.UsageRow{row(t0, "", k2.ID, "", 1, 1, 70), row(at(time.Hour), "", k1, "", 1, 0, 100),
				row(day2, "", k2.ID, "", 1, 0, 1000)}},
		{"nothing", billing.UsageQuery{Granularity: billing.Day, Model: "sonar-deep-research"}, []billing.UsageRow{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.q.OrgID = tn.org.ID
			checkEqual(t, "usage", e.usage(tt.q), tt.want)
		})
	}
	_, err := e.b.Usage(e.ctx, billing.UsageQuery{OrgID: tn.org.ID, Granularity: "week"})
	wantKind(t, "an unknown granularity", err, platform.KindInvalid)
	_, err = e.b.Usage(e.ctx, billing.UsageQuery{OrgID: tn.org.ID, By: []string{"upstream"}})
	wantKind(t, "an unknown split", err, platform.KindInvalid)
	if rows := e.usage(billing.UsageQuery{OrgID: other.org.ID}); len(rows) != 1 || rows[0].Cost != 5 {
		t.Errorf("the other organization's usage: %s", show(rows))
	}
}

// sortRows orders rows as Usage does: by start, then group, key and model.
func sortRows(rows []billing.UsageRow) []billing.UsageRow {
	for i := 1; i < len(rows); i++ {
		for j := i; j > 0 && rowLess(rows[j], rows[j-1]); j-- {
			rows[j], rows[j-1] = rows[j-1], rows[j]
		}
	}
	return rows
}

func rowLess(a, b billing.UsageRow) bool {
	if !a.Start.Equal(b.Start) {
		return a.Start.Before(b.Start)
	}
	return fmt.Sprint(a.GroupID, "\x00", a.KeyID, "\x00", a.Model) < fmt.Sprint(b.GroupID, "\x00", b.KeyID, "\x00", b.Model)
}

// testUsageRecord: a settled record reads back whole, and only to its
// organization.
func testUsageRecord(t *testing.T, e *benv) {
	acme, initech := e.tenant("Acme"), e.tenant("Initech")
	rec := e.record(acme, "sonar-pro", 12_345, e.clock.Now().Add(123456*time.Microsecond))
	rec.ServedBy, rec.Deployment, rec.Stream, rec.TokensEstimated = "sonar", "openai-east", false, true
	rec.Cost.Reasoning, rec.Cost.Citation, rec.Cost.Search, rec.Cost.Request = 1, 2, 3, 4
	rec.Outcome, rec.Status, rec.Error, rec.Attempts = metering.OutcomeAborted, 200, "client went away", 2
	rec.TTFT = 0
	e.settle(rec)
	got, err := e.b.UsageRecord(e.ctx, acme.org.ID, rec.RequestID)
	if err != nil {
		t.Fatalf("UsageRecord: %v", err)
	}
	checkEqual(t, "the stored record", got, &rec)
	_, err = e.b.UsageRecord(e.ctx, initech.org.ID, rec.RequestID)
	wantNotFound(t, "another organization's record", err)
	_, err = e.b.UsageRecord(e.ctx, acme.org.ID, "req_unknown")
	wantNotFound(t, "an unknown request", err)
}

// testPruneUsage: raw records and minute rollups go; day rollups, the
// ledger and the idempotency of what was settled stay.
func testPruneUsage(t *testing.T, e *benv) {
	tn := e.tenant("Acme")
	day := func(d int) time.Time { return time.Date(2026, 3, d, 10, 0, 0, 0, time.UTC) }
	old, mid, recent := e.record(tn, "sonar", 10, day(1)), e.record(tn, "sonar", 20, day(2)), e.record(tn, "sonar", 40, day(3))
	e.settle(old, mid, recent)

	n, err := e.b.PruneUsage(e.ctx, day(2), day(3))
	if err != nil {
		t.Fatalf("PruneUsage: %v", err)
	}
	if n != 1 {
		t.Fatalf("PruneUsage deleted %d records, want 1", n)
	}
	_, err = e.b.UsageRecord(e.ctx, tn.org.ID, old.RequestID)
	wantNotFound(t, "a pruned record", err)
	if _, err := e.b.UsageRecord(e.ctx, tn.org.ID, mid.RequestID); err != nil {
		t.Fatalf("UsageRecord of a kept record: %v", err)
	}
	minutes := e.usage(billing.UsageQuery{OrgID: tn.org.ID, Granularity: billing.Minute})
	if len(minutes) != 1 || !minutes[0].Start.Equal(day(3)) {
		t.Fatalf("minute rollups after pruning: %s; want only March 3's", show(minutes))
	}
	hours := e.usage(billing.UsageQuery{OrgID: tn.org.ID, Granularity: billing.Hour})
	if len(hours) != 1 || !hours[0].Start.Equal(day(3)) {
		t.Fatalf("hour rollups after pruning: %s; want only March 3's", show(hours))
	}
	if days := e.usage(billing.UsageQuery{OrgID: tn.org.ID, Granularity: billing.Day}); len(days) != 3 {
		t.Fatalf("day rollups after pruning: %s; want all three", show(days))
	}
	if a := e.account(tn.org.ID); a.Balance != -70 {
		t.Fatalf("balance %d after pruning, want -70", a.Balance)
	}
	// A pruned request settled again is refused rather than debited twice.
	_, err = e.b.Settle(e.ctx, settlements(old))
	wantKind(t, "settling a pruned request again", err, platform.KindConflict)
	if a := e.account(tn.org.ID); a.Balance != -70 {
		t.Fatalf("balance %d, want -70", a.Balance)
	}
	e.checkBooks(tn.org.ID)
}
