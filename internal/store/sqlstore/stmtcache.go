package sqlstore

import (
	"context"
	"database/sql"
	"sync"
	"sync/atomic"
)

// stmtCache keeps prepared statements by query text. The SQLite driver
// parses every statement it is handed afresh, and on the request path
// (admission and settlement run a dozen statements per request) parsing
// was a third of the store's CPU. pgx caches prepared statements per
// connection itself, so PostgreSQL does not use this.
type stmtCache struct {
	db *sql.DB
	m  sync.Map // query → *sql.Stmt
	n  atomic.Int64
	// pending marks queries being prepared in the background; wg waits
	// for those preparations at close.
	pending sync.Map
	mu      sync.Mutex
	closed  bool
	wg      sync.WaitGroup
}

// maxCachedStmts bounds the cache: statements whose text varies with their
// input (multi-row inserts, IN lists) must not grow it without end.
const maxCachedStmts = 512

// get returns a prepared statement for query, bound to q when q is a
// transaction, or nil when the query is to run unprepared this time.
func (c *stmtCache) get(ctx context.Context, q querier, query string) *sql.Stmt {
	if c == nil {
		return nil
	}
	tx, inTx := q.(*sql.Tx)
	v, ok := c.m.Load(query)
	if !ok {
		if c.n.Load() >= maxCachedStmts {
			return nil
		}
		if inTx {
			// Preparing on the pool needs a second connection while this
			// transaction holds one: with every connection in a
			// transaction that would deadlock. Prepare it in the
			// background and run this one unprepared.
			if _, busy := c.pending.LoadOrStore(query, true); !busy {
				c.mu.Lock()
				if !c.closed {
					c.wg.Add(1)
					go func() {
						defer c.wg.Done()
						c.prepare(context.WithoutCancel(ctx), query)
					}()
				}
				c.mu.Unlock()
			}
			return nil
		}
		if v = c.prepare(ctx, query); v == nil {
			return nil
		}
	}
	st := v.(*sql.Stmt)
	if inTx {
		// Reuses the statement already prepared on the transaction's
		// connection (or prepares it there); closed with the transaction.
		return tx.StmtContext(ctx, st)
	}
	if _, ok := q.(*sql.DB); ok {
		return st
	}
	return nil
}

// prepare prepares query on the pool and caches it; nil on failure (the
// unprepared call then reports the error).
func (c *stmtCache) prepare(ctx context.Context, query string) any {
	st, err := c.db.PrepareContext(ctx, query)
	if err != nil {
		c.pending.Delete(query)
		return nil
	}
	if prev, loaded := c.m.LoadOrStore(query, st); loaded {
		_ = st.Close()
		return prev
	}
	c.n.Add(1)
	return st
}

func (c *stmtCache) close() {
	if c == nil {
		return
	}
	// No preparation may outlive the store: it would hold a connection
	// (and the database's files) open after Close returned.
	c.mu.Lock()
	c.closed = true
	c.mu.Unlock()
	c.wg.Wait()
	c.m.Range(func(_, v any) bool {
		_ = v.(*sql.Stmt).Close()
		return true
	})
}
