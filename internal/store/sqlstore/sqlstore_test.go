package sqlstore_test

import (
	"testing"
	"time"

	"github.com/tollgate-dev/tollgate/internal/store/sqlstore"
	"github.com/tollgate-dev/tollgate/internal/store/storetest"
)

// openStore opens and migrates the database at url (a SQLite path or a
// postgres:// URL) and closes it when the test ends.
func openStore(t *testing.T, url string) *sqlstore.Store {
	t.Helper()
	s, err := sqlstore.Open(t.Context(), url)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	if _, err := s.Migrate(t.Context(), nil); err != nil {
		t.Fatalf("Migrate: %v", err)
	}
	return s
}

// harness hands s to the conformance suite, with its clock and raw database.
func harness(s *sqlstore.Store) storetest.Harness {
	return storetest.Harness{
		Store:    s,
		SetClock: func(now func() time.Time) { s.Now = now },
		DB:       s.DB(),
	}
}
