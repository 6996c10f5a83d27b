// Package sqlstore implements store.Store over database/sql for two
// backends: SQLite through the pure-Go modernc.org/sqlite driver (the
// embedded default, in WAL mode) and PostgreSQL through pgx. The SQL is
// hand-written and shared; the few dialect differences (placeholders, row
// locks, error codes, DDL) are isolated in dialect.
package sqlstore

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	_ "github.com/jackc/pgx/v5/stdlib" // registers the "pgx" driver
	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/lock"
	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/tollgate-dev/tollgate/internal/platform"
	"github.com/tollgate-dev/tollgate/internal/store"
)

//go:embed migrations
var migrations embed.FS

// Store is the SQL implementation of store.Store.
type Store struct {
	db *sql.DB
	d  dialect
	// stmts caches prepared statements (SQLite only; nil on PostgreSQL).
	stmts *stmtCache
	// writeMu serialises this process's write transactions (SQLite only).
	writeMu *sync.Mutex
	// Now is the clock for timestamps the store sets itself (audit events,
	// revocations). Tests replace it.
	Now func() time.Time
}

var _ store.Store = (*Store)(nil)

// IsPostgres reports whether a database URL selects PostgreSQL.
func IsPostgres(url string) bool {
	return strings.HasPrefix(url, "postgres://") || strings.HasPrefix(url, "postgresql://")
}

// Open connects to a database without migrating it. url is a postgres://
// URL or a SQLite file path.
func Open(ctx context.Context, url string) (*Store, error) {
	var (
		db  *sql.DB
		d   dialect
		err error
	)
	if IsPostgres(url) {
		d = postgresDialect{}
		db, err = sql.Open("pgx", url)
		if err == nil {
			db.SetMaxOpenConns(20)
			db.SetMaxIdleConns(10)
			db.SetConnMaxIdleTime(5 * time.Minute)
		}
	} else {
		d = sqliteDialect{}
		if dir := filepath.Dir(url); dir != "" {
			if mkErr := os.MkdirAll(dir, 0o700); mkErr != nil {
				return nil, fmt.Errorf("create data directory %s: %w", dir, mkErr)
			}
		}
		// WAL lets readers run beside the writer; BEGIN IMMEDIATE takes the
		// write lock up front so concurrent writers queue on busy_timeout
		// instead of failing on a lock upgrade.
		dsn := "file:" + url + "?_pragma=busy_timeout(10000)&_pragma=journal_mode(WAL)" +
			"&_pragma=foreign_keys(1)&_pragma=synchronous(NORMAL)&_txlock=immediate"
		db, err = sql.Open("sqlite", dsn)
		if err == nil {
			// Connections stay open, so the statements prepared on them do.
			db.SetMaxOpenConns(8)
			db.SetMaxIdleConns(8)
		}
	}
	if err != nil {
		return nil, fmt.Errorf("open database: %w", err)
	}
	s := &Store{db: db, d: d, Now: func() time.Time { return time.Now().UTC().Truncate(time.Microsecond) }}
	if d.name() == "sqlite" {
		s.stmts = &stmtCache{db: db}
		s.writeMu = &sync.Mutex{}
	}
	if err := s.Ping(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("connect to %s database: %w", d.name(), err)
	}
	return s, nil
}

// Backend names the database in use: "sqlite" or "postgres".
func (s *Store) Backend() string { return s.d.name() }

// DB exposes the connection pool for tests that inspect raw tables.
func (s *Store) DB() *sql.DB { return s.db }

// Ping checks the connection.
func (s *Store) Ping(ctx context.Context) error { return s.db.PingContext(ctx) }

// Close closes the pool.
func (s *Store) Close() error {
	s.stmts.close()
	return s.db.Close()
}

// MigrationStatus is one migration and whether it has been applied.
type MigrationStatus struct {
	Version   int64     `json:"version"`
	Name      string    `json:"name"`
	Applied   bool      `json:"applied"`
	AppliedAt time.Time `json:"applied_at,omitzero"`
}

func (s *Store) provider(log *slog.Logger) (*goose.Provider, error) {
	fsys, err := fs.Sub(migrations, "migrations/"+s.d.name())
	if err != nil {
		return nil, err
	}
	opts := []goose.ProviderOption{goose.WithDisableGlobalRegistry(true)}
	if log != nil {
		opts = append(opts, goose.WithSlog(log))
	}
	if s.d.name() == "postgres" {
		// Replicas starting together must not migrate at the same time.
		locker, err := lock.NewPostgresSessionLocker()
		if err != nil {
			return nil, err
		}
		opts = append(opts, goose.WithSessionLocker(locker))
	}
	return goose.NewProvider(s.d.gooseDialect(), s.db, fsys, opts...)
}

// Migrate applies every pending migration, calling progress (when not nil)
// after each one, and returns how many were applied.
func (s *Store) Migrate(ctx context.Context, progress func(version int64, name string, took time.Duration)) (int, error) {
	p, err := s.provider(nil)
	if err != nil {
		return 0, fmt.Errorf("migrate: %w", err)
	}
	n := 0
	for {
		r, err := p.UpByOne(ctx)
		if errors.Is(err, goose.ErrNoNextVersion) {
			return n, nil
		}
		if err != nil {
			return n, fmt.Errorf("migrate: %w", err)
		}
		n++
		if progress != nil {
			progress(r.Source.Version, filepath.Base(r.Source.Path), r.Duration)
		}
	}
}

// MigrationStatuses lists every known migration and whether it is applied.
func (s *Store) MigrationStatuses(ctx context.Context) ([]MigrationStatus, error) {
	p, err := s.provider(nil)
	if err != nil {
		return nil, fmt.Errorf("migration status: %w", err)
	}
	st, err := p.Status(ctx)
	if err != nil {
		return nil, fmt.Errorf("migration status: %w", err)
	}
	out := make([]MigrationStatus, 0, len(st))
	for _, m := range st {
		out = append(out, MigrationStatus{
			Version:   m.Source.Version,
			Name:      filepath.Base(m.Source.Path),
			Applied:   m.State == goose.StateApplied,
			AppliedAt: m.AppliedAt.UTC(),
		})
	}
	return out, nil
}

// dialect isolates what differs between SQLite and PostgreSQL.
type dialect interface {
	name() string
	gooseDialect() goose.Dialect
	// rebind turns '?' placeholders into the backend's own.
	rebind(q string) string
	// lockOrg serialises changes to one organization's memberships.
	lockOrg(ctx context.Context, tx *sql.Tx, orgID string) error
	// lockGroupKeys locks a group's keys in ID order, the order TouchKeys
	// updates them in, so that revoking them all cannot deadlock with it.
	lockGroupKeys(ctx context.Context, tx *sql.Tx, groupID string) error
	// forUpdate and forShare end a SELECT, inside a transaction, whose rows
	// must stay locked until commit. PostgreSQL runs READ COMMITTED, where a
	// read-modify-write without them races with other writers (two
	// revocations both auditing, an update writing back a stale row, a key
	// inserted into a group being deleted). SQLite's IMMEDIATE transactions
	// already hold the database's one write lock, so there they are empty.
	forUpdate() string
	forShare() string
	isUnique(err error) bool
}

type sqliteDialect struct{}

func (sqliteDialect) name() string                { return "sqlite" }
func (sqliteDialect) gooseDialect() goose.Dialect { return goose.DialectSQLite3 }
func (sqliteDialect) rebind(q string) string      { return q }

// SQLite transactions begin IMMEDIATE, which already serialises writers.
func (sqliteDialect) lockOrg(context.Context, *sql.Tx, string) error { return nil }

func (sqliteDialect) lockGroupKeys(context.Context, *sql.Tx, string) error { return nil }

func (sqliteDialect) forUpdate() string { return "" }
func (sqliteDialect) forShare() string  { return "" }

func (sqliteDialect) isUnique(err error) bool {
	var e *sqlite.Error
	if errors.As(err, &e) {
		c := e.Code()
		return c == sqlite3.SQLITE_CONSTRAINT_UNIQUE || c == sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY
	}
	return false
}

type postgresDialect struct{}

func (postgresDialect) name() string                { return "postgres" }
func (postgresDialect) gooseDialect() goose.Dialect { return goose.DialectPostgres }

func (postgresDialect) rebind(q string) string {
	var b strings.Builder
	b.Grow(len(q) + 16)
	n := 0
	for i := 0; i < len(q); i++ {
		if q[i] == '?' {
			n++
			fmt.Fprintf(&b, "$%d", n)
			continue
		}
		b.WriteByte(q[i])
	}
	return b.String()
}

func (postgresDialect) lockOrg(ctx context.Context, tx *sql.Tx, orgID string) error {
	_, err := tx.ExecContext(ctx, "SELECT 1 FROM orgs WHERE id = $1 FOR UPDATE", orgID)
	return err
}

// lockGroupKeys sorts with the "C" collation: byte order, as sort.Strings
// in TouchKeys.
func (postgresDialect) lockGroupKeys(ctx context.Context, tx *sql.Tx, groupID string) error {
	rows, err := tx.QueryContext(ctx, `SELECT id FROM api_keys WHERE group_id = $1 AND revoked_at IS NULL
		ORDER BY id COLLATE "C" FOR UPDATE`, groupID)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() { // the server locks each row as it returns it
	}
	return rows.Err()
}

func (postgresDialect) forUpdate() string { return " FOR UPDATE" }
func (postgresDialect) forShare() string  { return " FOR SHARE" }

func (postgresDialect) isUnique(err error) bool {
	var e *pgconn.PgError
	return errors.As(err, &e) && e.Code == "23505"
}

// tx runs fn in a transaction and commits it, mapping driver errors.
func (s *Store) tx(ctx context.Context, fn func(*sql.Tx) error) error {
	if s.writeMu != nil {
		// SQLite has one writer at a time, and a writer that finds the lock
		// taken polls for it in sleeps of milliseconds. Queueing this
		// process's writers on a mutex hands the lock over at once; other
		// processes on the same file still meet busy_timeout.
		s.writeMu.Lock()
		defer s.writeMu.Unlock()
	}
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return s.mapErr(fmt.Errorf("begin: %w", err))
	}
	if err := fn(tx); err != nil {
		_ = tx.Rollback()
		return s.mapErr(err)
	}
	if err := tx.Commit(); err != nil {
		return s.mapErr(fmt.Errorf("commit: %w", err))
	}
	return nil
}

// mapErr is the one place driver errors become domain errors.
func (s *Store) mapErr(err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, sql.ErrNoRows):
		return fmt.Errorf("%w: %w", platform.ErrNotFound, err)
	case s.d.isUnique(err):
		return fmt.Errorf("%w: %w", platform.ErrConflict, err)
	}
	return err
}

// querier is what both *sql.DB and *sql.Tx offer.
type querier interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

func (s *Store) exec(ctx context.Context, q querier, query string, args ...any) (sql.Result, error) {
	query = s.d.rebind(query)
	if st := s.stmts.get(ctx, q, query); st != nil {
		return st.ExecContext(ctx, args...)
	}
	return q.ExecContext(ctx, query, args...)
}

func (s *Store) queryRow(ctx context.Context, q querier, query string, args ...any) *sql.Row {
	query = s.d.rebind(query)
	if st := s.stmts.get(ctx, q, query); st != nil {
		return st.QueryRowContext(ctx, args...)
	}
	return q.QueryRowContext(ctx, query, args...)
}

func (s *Store) query(ctx context.Context, q querier, query string, args ...any) (*sql.Rows, error) {
	query = s.d.rebind(query)
	if st := s.stmts.get(ctx, q, query); st != nil {
		return st.QueryContext(ctx, args...)
	}
	return q.QueryContext(ctx, query, args...)
}

// mustAffect turns an UPDATE that matched nothing into not_found.
func mustAffect(res sql.Result, err error) error {
	if err != nil {
		return err
	}
	n, err := res.RowsAffected()
	if err != nil {
		return err
	}
	if n == 0 {
		return sql.ErrNoRows
	}
	return nil
}

// Times are stored as integer microseconds since the Unix epoch, UTC: the
// same in both backends and exact under comparison.
func ts(t time.Time) int64 { return t.UTC().UnixMicro() }

func fromTS(v int64) time.Time { return time.UnixMicro(v).UTC() }

func nullTS(t *time.Time) sql.NullInt64 {
	if t == nil {
		return sql.NullInt64{}
	}
	return sql.NullInt64{Int64: ts(*t), Valid: true}
}

func fromNullTS(v sql.NullInt64) *time.Time {
	if !v.Valid {
		return nil
	}
	t := fromTS(v.Int64)
	return &t
}
