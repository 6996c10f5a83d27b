package sqlstore_test

import (
	"path/filepath"
	"testing"

	"github.com/tollgate-dev/tollgate/internal/store/storetest"
)

// TestSQLite runs the conformance suite on SQLite files, one per subtest.
func TestSQLite(t *testing.T) {
	storetest.Run(t, func(t *testing.T) storetest.Harness {
		s := openStore(t, filepath.Join(t.TempDir(), "tollgate.db"))
		if got := s.Backend(); got != "sqlite" {
			t.Fatalf("Backend() = %q, want sqlite", got)
		}
		return harness(s)
	})
}

// TestSQLiteBilling runs the billing suite on SQLite files, one per
// subtest; replicas are further pools on the same file.
func TestSQLiteBilling(t *testing.T) {
	storetest.RunBilling(t, func(t *testing.T) storetest.BillingHarness {
		path := filepath.Join(t.TempDir(), "tollgate.db")
		return billingHarness(openStore(t, path), path)
	})
}
