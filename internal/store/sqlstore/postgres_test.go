package sqlstore_test

import (
	"testing"

	"github.com/tollgate-dev/tollgate/internal/store/pgtest"
	"github.com/tollgate-dev/tollgate/internal/store/storetest"
)

// TestPostgres runs the conformance suite on PostgreSQL, with a database of
// its own for every subtest.
func TestPostgres(t *testing.T) {
	pgtest.AdminURL(t) // skip (or fail in CI) once, not in every subtest
	storetest.Run(t, func(t *testing.T) storetest.Harness {
		s := openStore(t, pgtest.URL(t))
		if got := s.Backend(); got != "postgres" {
			t.Fatalf("Backend() = %q, want postgres", got)
		}
		return harness(s)
	})
}

// TestPostgresBilling runs the billing suite on PostgreSQL, with a
// database of its own for every subtest; replicas are further pools on it.
func TestPostgresBilling(t *testing.T) {
	pgtest.AdminURL(t)
	storetest.RunBilling(t, func(t *testing.T) storetest.BillingHarness {
		url := pgtest.URL(t)
		return billingHarness(openStore(t, url), url)
	})
}
