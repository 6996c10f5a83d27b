package main

import (
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"testing"
	"time"

	"github.com/tollgate-dev/tollgate/internal/config"
	"github.com/tollgate-dev/tollgate/internal/platform"
	"github.com/tollgate-dev/tollgate/internal/store/sqlstore"
)

// BenchmarkHTTP measures a whole request through the real handler stack
// (request ID, access log, recovery, path clean-up, routing, key
// authentication, JSON reply), in process, against /healthz as the floor:
// the difference is what authentication and the key route add.
func BenchmarkHTTP(b *testing.B) {
	ctx := context.Background()
	st, err := sqlstore.Open(ctx, filepath.Join(b.TempDir(), "bench.db"))
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	if _, err := st.Migrate(ctx, nil); err != nil {
		b.Fatal(err)
	}
	c := config.Default()
	c.DataDir = b.TempDir()
	a, err := newApp(c, st, slog.New(slog.DiscardHandler), func() time.Time { return time.Now().UTC() })
	if err != nil {
		b.Fatal(err)
	}
	defer a.close()
	boot, err := a.svc.CreateOrg(ctx, platform.SystemActor("bench"), "Bench", "bench@example.test")
	if err != nil {
		b.Fatal(err)
	}
	owner := platform.Principal{OrgID: boot.Org.ID, Role: platform.RoleOwner, Actor: platform.SystemActor("bench")}
	g, err := a.svc.CreateGroup(ctx, owner, "bench", "")
	if err != nil {
		b.Fatal(err)
	}
	_, secret, err := a.svc.CreateKey(ctx, owner, g.ID, "bench", nil)
	if err != nil {
		b.Fatal(err)
	}
	for _, tc := range []struct {
		name, path, key string
		want            int
	}{
		{"healthz", "/healthz", "", 200},
		{"models-no-auth", "/v1/models", "", 200},
		{"v1-key-authenticated", "/v1/key", secret, 200},
		{"v1-key-malformed", "/v1/key", "pplx-" + secret[6:], 401},
	} {
		b.Run(tc.name, func(b *testing.B) {
			req := httptest.NewRequest(http.MethodGet, tc.path, nil)
			if tc.key != "" {
				req.Header.Set("Authorization", "Bearer "+tc.key)
			}
			b.ReportAllocs()
			for b.Loop() {
				w := httptest.NewRecorder()
				a.handler.ServeHTTP(w, req)
				if w.Code != tc.want {
					b.Fatalf("status %d, want %d", w.Code, tc.want)
				}
			}
		})
	}
}
