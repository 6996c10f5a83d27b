package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/tollgate-dev/tollgate/internal/billing"
	"github.com/tollgate-dev/tollgate/internal/metering"
	"github.com/tollgate-dev/tollgate/internal/money"
	"github.com/tollgate-dev/tollgate/internal/platform"
)

const recordCols = `request_id, org_id, group_id, key_id, endpoint, model, served_by, deployment, stream,
	prompt_tokens, completion_tokens, reasoning_tokens, total_tokens, citation_tokens, search_queries, context_size,
	tokens_estimated, price_id, cost_input, cost_output, cost_reasoning, cost_citation, cost_search, cost_request,
	cost_total, status, outcome, error, attempts, started_at, latency, ttft`

// recordColCount is the number of recordCols.
const recordColCount = 32

func micros(d time.Duration) int64 { return int64(d / time.Microsecond) }

func recordArgs(r *metering.Record, started time.Time) []any {
	c := r.Cost
	return []any{r.RequestID, r.OrgID, r.GroupID, r.KeyID, r.Endpoint, r.Model, r.ServedBy, r.Deployment, r.Stream,
		r.PromptTokens, r.CompletionTokens, r.ReasoningTokens, r.TotalTokens, r.CitationTokens, r.SearchQueries,
		string(r.ContextSize), r.TokensEstimated, c.PriceID, int64(c.Input), int64(c.Output), int64(c.Reasoning),
		int64(c.Citation), int64(c.Search), int64(c.Request), int64(c.Total), r.Status, string(r.Outcome), r.Error,
		r.Attempts, ts(started), micros(r.Latency), micros(r.TTFT)}
}

func scanRecord(row rowScanner) (*metering.Record, error) {
	var (
		r                                               metering.Record
		input, output, reasoning, citation, search, req int64
		total, started, latency, ttft                   int64
	)
	if err := row.Scan(&r.RequestID, &r.OrgID, &r.GroupID, &r.KeyID, &r.Endpoint, &r.Model, &r.ServedBy,
		&r.Deployment, &r.Stream, &r.PromptTokens, &r.CompletionTokens, &r.ReasoningTokens, &r.TotalTokens,
		&r.CitationTokens, &r.SearchQueries, &r.ContextSize, &r.TokensEstimated, &r.Cost.PriceID, &input, &output,
		&reasoning, &citation, &search, &req, &total, &r.Status, &r.Outcome, &r.Error, &r.Attempts, &started,
		&latency, &ttft); err != nil {
		return nil, err
	}
	r.Cost.Input, r.Cost.Output, r.Cost.Reasoning = money.Micros(input), money.Micros(output), money.Micros(reasoning)
	r.Cost.Citation, r.Cost.Search, r.Cost.Request = money.Micros(citation), money.Micros(search), money.Micros(req)
	r.Cost.Total = money.Micros(total)
	r.StartedAt = fromTS(started)
	r.Latency, r.TTFT = time.Duration(latency)*time.Microsecond, time.Duration(ttft)*time.Microsecond
	return &r, nil
}

// UsageRecord implements billing.Store.
func (s *Store) UsageRecord(ctx context.Context, orgID, requestID string) (*metering.Record, error) {
	r, err := scanRecord(s.queryRow(ctx, s.db, `SELECT `+recordCols+` FROM usage_records
		WHERE request_id = ? AND org_id = ?`, requestID, orgID))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, notFound("no usage record of request %s (it may be older than the retention period)", requestID)
	}
	if err != nil {
		return nil, fmt.Errorf("read usage record: %w", err)
	}
	return r, nil
}

// PruneUsage implements billing.Store. Hour rollups go with the minute
// ones, once their whole hour is before minuteCutoff: an hourly query
// never reaches further back than the minutes it replaces.
func (s *Store) PruneUsage(ctx context.Context, cutoff, minuteCutoff time.Time) (int, error) {
	var n int64
	err := s.tx(ctx, func(tx *sql.Tx) error {
		res, err := s.exec(ctx, tx, `DELETE FROM usage_records WHERE started_at < ?`, ts(cutoff))
		if err != nil {
			return fmt.Errorf("prune usage records: %w", err)
		}
		if n, err = res.RowsAffected(); err != nil {
			return err
		}
		if _, err := s.exec(ctx, tx, `DELETE FROM usage_rollups WHERE granularity = 'minute' AND bucket < ?`,
			ts(minuteCutoff)); err != nil {
			return fmt.Errorf("prune minute rollups: %w", err)
		}
		if _, err := s.exec(ctx, tx, `DELETE FROM usage_rollups WHERE granularity = 'hour' AND bucket <= ?`,
			ts(minuteCutoff)-hourMicros); err != nil {
			return fmt.Errorf("prune hour rollups: %w", err)
		}
		return nil
	})
	return int(n), err
}

// hourMicros is an hour in the rollups' unit.
const hourMicros = int64(time.Hour / time.Microsecond)

// rollupRange is one read of the rollups of one granularity: rows whose
// bucket is in [lo, hi) (nil: unbounded), reported as start (an SQL
// expression of bucket).
type rollupRange struct {
	granularity, start string
	lo, hi             *int64
}

// usageRanges returns what a query of q's granularity reads. Minute and
// day buckets are the rollups of that name. An hour bucket holds the
// minute rollups of that hour that start in [From, To): whole hours are
// read from the hour rollups, and the minutes of an hour the range cuts
// (its first and last, when From or To is not on the hour) from the
// minute rollups, so an hourly chart of 30 days reads about 720 rows per
// series, not 43,200.
func usageRanges(q billing.UsageQuery) ([]rollupRange, error) {
	var lo, hi *int64
	if !q.From.IsZero() {
		v := ts(q.From)
		lo = &v
	}
	if !q.To.IsZero() {
		v := ts(q.To)
		hi = &v
	}
	switch q.Granularity {
	case billing.Minute:
		return []rollupRange{{"minute", "bucket", lo, hi}}, nil
	case billing.Day, "":
		return []rollupRange{{"day", "bucket", lo, hi}}, nil
	case billing.Hour:
	default:
		return nil, platform.Invalid("granularity", "granularity must be minute, hour or day, not %q", q.Granularity)
	}
	// The whole hours are [h0, h1).
	var h0, h1 *int64
	if lo != nil {
		v := floorTo(*lo+hourMicros-1, hourMicros)
		h0 = &v
	}
	if hi != nil {
		v := floorTo(*hi, hourMicros)
		h1 = &v
	}
	minutes := fmt.Sprintf("bucket - bucket %% %d", hourMicros)
	if h0 != nil && h1 != nil && *h0 >= *h1 {
		// No whole hour: the range is inside one or two hours.
		return []rollupRange{{"minute", minutes, lo, hi}}, nil
	}
	out := []rollupRange{{"hour", "bucket", h0, h1}}
	if lo != nil && *lo < *h0 {
		out = append(out, rollupRange{"minute", minutes, lo, h0})
	}
	if hi != nil && *h1 < *hi {
		out = append(out, rollupRange{"minute", minutes, h1, hi})
	}
	return out, nil
}

// usageCols are the counters of a rollup, summed by Usage.
var usageCols = []string{"requests", "errors", "prompt_tokens", "completion_tokens", "reasoning_tokens",
	"citation_tokens", "search_queries", "cost"}

// Usage implements billing.Store. It reads rollups only: minute, hour and
// day buckets from the rollups of that granularity (see usageRanges for
// the edges of an hourly range). A bucket is in the range when the rollup
// rows it sums start in [From, To).
func (s *Store) Usage(ctx context.Context, q billing.UsageQuery) ([]billing.UsageRow, error) {
	ranges, err := usageRanges(q)
	if err != nil {
		return nil, err
	}
	split := map[string]bool{}
	for _, by := range q.By {
		if by != "group" && by != "key" && by != "model" {
			return nil, platform.Invalid("by", "by must be group, key or model, not %q", by)
		}
		split[by] = true
	}
	// Each range is one SELECT of the rows it reads; their UNION ALL is
	// summed by bucket and split.
	var (
		parts []string
		args  []any
	)
	for _, r := range ranges {
		where := []string{"granularity = ?", "org_id = ?"}
		args = append(args, r.granularity, q.OrgID)
		if r.lo != nil {
			where, args = append(where, "bucket >= ?"), append(args, *r.lo)
		}
		if r.hi != nil {
			where, args = append(where, "bucket < ?"), append(args, *r.hi)
		}
		for _, f := range []struct{ col, v string }{{"group_id", q.GroupID}, {"key_id", q.KeyID}, {"model", q.Model}} {
			if f.v != "" {
				where, args = append(where, f.col+" = ?"), append(args, f.v)
			}
		}
		parts = append(parts, `SELECT `+r.start+` AS start_at, group_id, key_id, model, `+strings.Join(usageCols, ", ")+
			` FROM usage_rollups WHERE `+strings.Join(where, " AND "))
	}
	cols := []string{"start_at"}
	group := []string{"start_at"}
	order := []string{"start_at"}
	for _, c := range []struct{ by, col string }{{"group", "group_id"}, {"key", "key_id"}, {"model", "model"}} {
		if split[c.by] {
			cols, group, order = append(cols, c.col), append(group, c.col), append(order, s.bytewise(c.col))
		} else {
			cols = append(cols, "''")
		}
	}
	for _, c := range usageCols {
		cols = append(cols, sumCol(c))
	}
	rows, err := s.query(ctx, s.db, `SELECT `+strings.Join(cols, ", ")+` FROM (`+strings.Join(parts, " UNION ALL ")+
		`) u GROUP BY `+strings.Join(group, ", ")+` ORDER BY `+strings.Join(order, ", "), args...)
	if err != nil {
		return nil, fmt.Errorf("read usage: %w", err)
	}
	defer rows.Close()
	out := []billing.UsageRow{}
	for rows.Next() {
		var (
			u           billing.UsageRow
			start, cost int64
		)
		if err := rows.Scan(&start, &u.GroupID, &u.KeyID, &u.Model, &u.Requests, &u.Errors, &u.PromptTokens,
			&u.CompletionTokens, &u.ReasoningTokens, &u.CitationTokens, &u.SearchQueries, &cost); err != nil {
			return nil, fmt.Errorf("scan usage: %w", err)
		}
		u.Start, u.Cost = fromTS(start), money.Micros(cost)
		out = append(out, u)
	}
	return out, rows.Err()
}
