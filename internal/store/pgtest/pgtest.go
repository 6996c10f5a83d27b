// Package pgtest gives tests their own PostgreSQL database on the machine's
// server, so tests that need PostgreSQL run in parallel without sharing
// state and leave nothing behind.
//
// The server is TOLLGATE_TEST_POSTGRES_URL (default DefaultURL), a role that
// may create databases. When it cannot be reached the tests skip, unless CI
// is set to true, where a missing server is a failure.
package pgtest

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"fmt"
	"net/url"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // registers the "pgx" driver
)

// EnvURL names the environment variable holding the server's URL.
const EnvURL = "TOLLGATE_TEST_POSTGRES_URL"

// DefaultURL is the server used when EnvURL is not set: a local server with
// trust authentication.
const DefaultURL = "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable"

// AdminURL returns the server's URL after checking that it answers. When it
// does not, it skips the test, or fails it when the environment variable CI
// is true.
func AdminURL(t testing.TB) string {
	t.Helper()
	admin := os.Getenv(EnvURL)
	if admin == "" {
		admin = DefaultURL
	}
	if _, err := url.Parse(admin); err != nil || !strings.HasPrefix(admin, "postgres://") && !strings.HasPrefix(admin, "postgresql://") {
		t.Fatalf("%s=%q is not a postgres:// URL", EnvURL, redact(admin))
	}
	db, err := sql.Open("pgx", admin)
	if err == nil {
		defer db.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		err = db.PingContext(ctx)
	}
	if err != nil {
		if ci, _ := strconv.ParseBool(os.Getenv("CI")); ci {
			t.Fatalf("PostgreSQL at %s is unreachable and CI is set, so the PostgreSQL tests cannot be skipped: %v",
				redact(admin), err)
		}
		t.Skipf("PostgreSQL at %s is unreachable (%v); to run these tests, start a server or set %s=postgres://user:password@host:5432/postgres?sslmode=disable (a role that may create databases)",
			redact(admin), err, EnvURL)
	}
	return admin
}

// URL creates an empty database for the test and returns its URL. The
// database is dropped, with any connections still open to it, when the test
// ends; tests should register their own cleanups (closing pools) after
// calling URL, so those run first.
func URL(t testing.TB) string {
	t.Helper()
	admin := AdminURL(t)
	name := "tollgate_test_" + randomSuffix()
	if err := exec(admin, `CREATE DATABASE "`+name+`"`); err != nil {
		t.Fatalf("pgtest: %v", err)
	}
	t.Cleanup(func() {
		if err := exec(admin, `DROP DATABASE IF EXISTS "`+name+`" WITH (FORCE)`); err != nil {
			t.Errorf("pgtest: %v", err)
		}
	})

	u, err := url.Parse(admin)
	if err != nil {
		t.Fatalf("parse %s: %v", EnvURL, err)
	}
	u.Path = "/" + name
	return u.String()
}

// exec runs one statement on the server through a short-lived pool, so test
// databases do not each hold an admin connection open.
func exec(admin, stmt string) error {
	db, err := sql.Open("pgx", admin)
	if err != nil {
		return fmt.Errorf("open %s: %w", redact(admin), err)
	}
	defer db.Close()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if _, err := db.ExecContext(ctx, stmt); err != nil {
		return fmt.Errorf("%s: %w", stmt, err)
	}
	return nil
}

// randomSuffix is 64 random bits in hex: database names stay unique across
// parallel tests and concurrent test binaries.
func randomSuffix() string {
	var b [8]byte
	_, _ = rand.Read(b[:]) // never fails (crypto/rand documents it)
	return hex.EncodeToString(b[:])
}

// redact hides a password in a URL for messages.
func redact(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "(unparsable URL)"
	}
	return u.Redacted()
}
