package sqlstore

import (
	"cmp"
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/tollgate-dev/tollgate/internal/billing"
	"github.com/tollgate-dev/tollgate/internal/metering"
	"github.com/tollgate-dev/tollgate/internal/money"
	"github.com/tollgate-dev/tollgate/internal/platform"
)

// Settlement: the usage record, the ledger debit, the spend, the rollups
// and the release of the hold of every request of a batch, in one
// transaction. The usage record's primary key is what makes it idempotent:
// a request whose record is already stored is skipped entirely. Rows that
// many requests of a batch share (accounts, spend, rollups) are summed in
// memory and written once each.

const (
	minuteMicros = int64(time.Minute / time.Microsecond)
	dayMicros    = int64(24 * time.Hour / time.Microsecond)
)

// floorTo rounds v down to a multiple of step.
func floorTo(v, step int64) int64 {
	return v - ((v%step)+step)%step
}

// rollupKey names one rollup row.
type rollupKey struct {
	granularity                  string
	bucket                       int64
	orgID, groupID, keyID, model string
}

type rollupDelta struct {
	requests, errors, prompt, completion, reasoning, citation, search, cost int64
}

// rollupBook accumulates a batch's rollups.
type rollupBook map[rollupKey]*rollupDelta

func (rb rollupBook) add(r *metering.Record, started time.Time) {
	at := ts(started)
	// Hour rollups duplicate what the minute ones hold, an hour at a
	// time, so an hourly chart of a month reads a few thousand rows
	// instead of every minute of it.
	for _, g := range []struct {
		name string
		step int64
	}{{"minute", minuteMicros}, {"hour", hourMicros}, {"day", dayMicros}} {
		k := rollupKey{g.name, floorTo(at, g.step), r.OrgID, r.GroupID, r.KeyID, r.Model}
		d := rb[k]
		if d == nil {
			d = &rollupDelta{}
			rb[k] = d
		}
		d.requests++
		if r.Outcome != metering.OutcomeOK {
			d.errors++
		}
		d.prompt += int64(r.PromptTokens)
		d.completion += int64(r.CompletionTokens)
		d.reasoning += int64(r.ReasoningTokens)
		d.citation += int64(r.CitationTokens)
		d.search += int64(r.SearchQueries)
		d.cost += int64(r.Cost.Total)
	}
}

func (s *Store) flushRollups(b *btx, rb rollupBook) error {
	keys := make([]rollupKey, 0, len(rb))
	for k := range rb {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(x, y rollupKey) int {
		return cmp.Or(cmp.Compare(x.granularity, y.granularity), cmp.Compare(x.bucket, y.bucket),
			cmp.Compare(x.orgID, y.orgID), cmp.Compare(x.groupID, y.groupID), cmp.Compare(x.keyID, y.keyID),
			cmp.Compare(x.model, y.model))
	})
	for _, k := range keys {
		d := rb[k]
		if _, err := b.exec(`INSERT INTO usage_rollups (granularity, bucket, org_id, group_id, key_id, model,
			requests, errors, prompt_tokens, completion_tokens, reasoning_tokens, citation_tokens, search_queries, cost)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
			ON CONFLICT (granularity, bucket, org_id, group_id, key_id, model) DO UPDATE SET
			requests = usage_rollups.requests + excluded.requests, errors = usage_rollups.errors + excluded.errors,
			prompt_tokens = usage_rollups.prompt_tokens + excluded.prompt_tokens,
			completion_tokens = usage_rollups.completion_tokens + excluded.completion_tokens,
			reasoning_tokens = usage_rollups.reasoning_tokens + excluded.reasoning_tokens,
			citation_tokens = usage_rollups.citation_tokens + excluded.citation_tokens,
			search_queries = usage_rollups.search_queries + excluded.search_queries,
			cost = usage_rollups.cost + excluded.cost`,
			k.granularity, k.bucket, k.orgID, k.groupID, k.keyID, k.model, d.requests, d.errors, d.prompt,
			d.completion, d.reasoning, d.citation, d.search, d.cost); err != nil {
			return fmt.Errorf("update usage rollup: %w", err)
		}
	}
	return nil
}

// checkSettlement refuses a settlement no request could have produced.
func checkSettlement(i int, st *billing.Settlement) error {
	switch {
	case st == nil:
		return platform.Invalid("batch", "settlement %d is nil", i)
	case st.Record.RequestID == "" || st.Record.OrgID == "":
		return platform.Invalid("batch", "settlement %d has no request ID or organization", i)
	case st.Record.Cost.Total < 0:
		return platform.Invalid("batch", "settlement %d (request %s) has a negative cost", i, st.Record.RequestID)
	}
	return nil
}

// Settle implements billing.Store. A record's StartedAt, when zero, is the
// store's clock. Its usage transaction is dated when the request ended
// (StartedAt + Latency). A batch takes a handful of statements whatever
// its size: the records, the holds released, the ledger and its entries
// are each written many rows at a time.
func (s *Store) Settle(ctx context.Context, batch []*billing.Settlement) ([]bool, error) {
	if len(batch) == 0 {
		return []bool{}, nil
	}
	orgs := make([]string, 0, 1)
	for i, st := range batch {
		if err := checkSettlement(i, st); err != nil {
			return nil, err
		}
		if !slices.Contains(orgs, st.Record.OrgID) {
			orgs = append(orgs, st.Record.OrgID)
		}
	}
	slices.Sort(orgs)

	var fresh []bool
	err := s.billingTx(ctx, func(b *btx) error {
		accounts := make(map[string]*billing.Account, len(orgs))
		for _, orgID := range orgs {
			a, err := s.lockAccount(b, orgID)
			if err != nil {
				return err
			}
			accounts[orgID] = a
		}
		now := s.Now()
		var err error
		if fresh, err = s.insertRecords(b, batch, now); err != nil {
			return err
		}
		var newIDs []string
		for i, st := range batch {
			if fresh[i] {
				newIDs = append(newIDs, st.Record.RequestID)
			}
		}
		if len(newIDs) == 0 {
			return nil
		}
		dirty := map[string]bool{}
		sb, rb := spendBook{}, rollupBook{}
		if err := s.settleHolds(b, accounts, dirty, sb, newIDs); err != nil {
			return err
		}
		var txns []*billing.Transaction
		for i, st := range batch {
			if !fresh[i] {
				continue
			}
			r := &st.Record
			started := r.StartedAt
			if started.IsZero() {
				started = now
			}
			rb.add(r, started)
			cost := r.Cost.Total
			if cost == 0 {
				continue
			}
			sb.add(r.OrgID, r.GroupID, r.KeyID, billing.MonthOf(started), cost, 0)
			a := accounts[r.OrgID]
			// Dated when the request started, like its rollups and its
			// spend: a request that crosses a month's end belongs to one
			// month in every report.
			t := &billing.Transaction{Kind: billing.KindUsage, Amount: -cost, RequestID: r.RequestID,
				GroupID: r.GroupID, KeyID: r.KeyID, Model: r.Model, CreatedBy: systemID, CreatedAt: started}
			if err := move(a, t); err != nil {
				return err
			}
			a.GrantRemaining = max(0, a.GrantRemaining-cost)
			dirty[r.OrgID] = true
			txns = append(txns, t)
		}
		if err := s.writeTxns(b, txns); err != nil {
			return err
		}
		if err := s.flushSpend(b, sb); err != nil {
			return err
		}
		if err := s.flushRollups(b, rb); err != nil {
			return err
		}
		for _, orgID := range slices.Sorted(maps.Keys(dirty)) {
			if err := s.saveAccount(b, accounts[orgID]); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return fresh, nil
}

// insertRecords inserts the batch's usage records, skipping those already
// stored, and reports which were new. Of a request ID twice in one batch,
// the first is new.
func (s *Store) insertRecords(b *btx, batch []*billing.Settlement, now time.Time) ([]bool, error) {
	inserted := map[string]bool{}
	err := chunks(batch, func(part []*billing.Settlement) error {
		args := make([]any, 0, recordColCount*len(part))
		for _, st := range part {
			started := st.Record.StartedAt
			if started.IsZero() {
				started = now
			}
			args = append(args, recordArgs(&st.Record, started)...)
		}
		rows, err := b.query(`INSERT INTO usage_records (`+recordCols+`) VALUES `+valueRows(len(part), recordColCount)+
			` ON CONFLICT (request_id) DO NOTHING RETURNING request_id`, args...)
		if err != nil {
			return fmt.Errorf("insert usage records: %w", err)
		}
		defer rows.Close()
		for rows.Next() {
			var id string
			if err := rows.Scan(&id); err != nil {
				return fmt.Errorf("scan usage record: %w", err)
			}
			inserted[id] = true
		}
		return rows.Err()
	})
	if err != nil {
		return nil, err
	}
	fresh := make([]bool, len(batch))
	for i, st := range batch {
		id := st.Record.RequestID
		fresh[i] = inserted[id]
		delete(inserted, id)
	}
	return fresh, nil
}

// settleHolds releases the holds of the requests being settled: each
// hold's own stored amount comes off, whatever the settlement says was
// held.
func (s *Store) settleHolds(b *btx, accounts map[string]*billing.Account, dirty map[string]bool, sb spendBook, requestIDs []string) error {
	type hold struct {
		orgID, groupID, keyID string
		amount, month         int64
	}
	var holds []hold
	err := chunks(requestIDs, func(ids []string) error {
		args := make([]any, len(ids))
		for i, id := range ids {
			args[i] = id
		}
		rows, err := b.query(`DELETE FROM billing_holds WHERE request_id IN (`+strings.TrimSuffix(strings.Repeat("?, ", len(ids)), ", ")+`)
			RETURNING org_id, group_id, key_id, amount, month`, args...)
		if err != nil {
			return fmt.Errorf("release holds: %w", err)
		}
		defer rows.Close()
		for rows.Next() {
			var h hold
			if err := rows.Scan(&h.orgID, &h.groupID, &h.keyID, &h.amount, &h.month); err != nil {
				return fmt.Errorf("scan hold: %w", err)
			}
			holds = append(holds, h)
		}
		return rows.Err()
	})
	if err != nil {
		return err
	}
	for _, h := range holds {
		a := accounts[h.orgID]
		if a == nil { // a hold of another organization than its record: never in practice
			if a, err = s.lockAccount(b, h.orgID); err != nil {
				return err
			}
			accounts[h.orgID] = a
		}
		a.Held -= money.Micros(h.amount)
		dirty[h.orgID] = true
		sb.add(h.orgID, h.groupID, h.keyID, fromTS(h.month), 0, -money.Micros(h.amount))
	}
	return nil
}
