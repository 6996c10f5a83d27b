package sqlstore

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/tollgate-dev/tollgate/internal/money"
	"github.com/tollgate-dev/tollgate/internal/platform"
	"github.com/tollgate-dev/tollgate/internal/pricing"
)

// The price book. Versions are only ever added, so a usage record's
// PriceID always names the prices it was computed with. Request fees are
// stored one column per search context size; a size without a fee reads
// back absent from RequestPer1K (which prices it at zero, as before).

const priceCols = `id, model, effective_from, input_per_1m, output_per_1m, reasoning_per_1m, citation_per_1m,
	search_per_1k, request_low_per_1k, request_medium_per_1k, request_high_per_1k`

// fees returns the non-zero request fees of m, in a new map.
func fees(m map[pricing.ContextSize]money.Micros) map[pricing.ContextSize]money.Micros {
	out := map[pricing.ContextSize]money.Micros{}
	for size, v := range m {
		if v != 0 {
			out[size] = v
		}
	}
	return out
}

// ListPrices implements billing.Store: by model, then effective time.
func (s *Store) ListPrices(ctx context.Context) ([]*pricing.Price, error) {
	rows, err := s.query(ctx, s.db, `SELECT `+priceCols+` FROM prices ORDER BY `+s.bytewise("model")+`, effective_from`)
	if err != nil {
		return nil, fmt.Errorf("list prices: %w", err)
	}
	defer rows.Close()
	out := []*pricing.Price{}
	for rows.Next() {
		var (
			p                                                    pricing.Price
			from, in, outp, reasoning, citation, search, l, m, h int64
		)
		if err := rows.Scan(&p.ID, &p.Model, &from, &in, &outp, &reasoning, &citation, &search, &l, &m, &h); err != nil {
			return nil, fmt.Errorf("scan price: %w", err)
		}
		p.EffectiveFrom = fromTS(from)
		p.InputPer1M, p.OutputPer1M, p.ReasoningPer1M = money.Micros(in), money.Micros(outp), money.Micros(reasoning)
		p.CitationPer1M, p.SearchPer1K = money.Micros(citation), money.Micros(search)
		p.RequestPer1K = fees(map[pricing.ContextSize]money.Micros{
			pricing.ContextLow: money.Micros(l), pricing.ContextMedium: money.Micros(m), pricing.ContextHigh: money.Micros(h)})
		out = append(out, &p)
	}
	return out, rows.Err()
}

// AddPrice implements billing.Store. A price without an ID gets one. The
// audit event is instance-wide: its organization is "".
func (s *Store) AddPrice(ctx context.Context, p *pricing.Price, by platform.Actor) (*pricing.Price, error) {
	if err := p.Validate(); err != nil {
		return nil, err
	}
	out := *p
	out.EffectiveFrom = p.EffectiveFrom.UTC().Truncate(time.Microsecond)
	out.RequestPer1K = fees(p.RequestPer1K)
	if out.ID == "" {
		out.ID = platform.NewID(prefixPrice)
	}
	err := s.tx(ctx, func(tx *sql.Tx) error {
		res, err := s.exec(ctx, tx, `INSERT INTO prices (`+priceCols+`, created_at, created_by)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING`,
			out.ID, out.Model, ts(out.EffectiveFrom), int64(out.InputPer1M), int64(out.OutputPer1M),
			int64(out.ReasoningPer1M), int64(out.CitationPer1M), int64(out.SearchPer1K),
			int64(out.RequestPer1K[pricing.ContextLow]), int64(out.RequestPer1K[pricing.ContextMedium]),
			int64(out.RequestPer1K[pricing.ContextHigh]), ts(s.Now()), by.ID)
		if err != nil {
			return fmt.Errorf("insert price: %w", err)
		}
		if n, err := res.RowsAffected(); err != nil || n == 0 {
			if err != nil {
				return err
			}
			return conflict("price %s, or a price of %s taking effect at %s, already exists; prices are never edited: add a version with a later effective time",
				out.ID, out.Model, out.EffectiveFrom.Format("2006-01-02T15:04:05.999999Z07:00"))
		}
		return s.audit(ctx, tx, "", by, platform.AuditPriceAdded, "price", out.ID, map[string]string{
			"model": out.Model, "effective_from": out.EffectiveFrom.Format("2006-01-02T15:04:05.999999Z07:00")})
	})
	if err != nil {
		return nil, err
	}
	return &out, nil
}
