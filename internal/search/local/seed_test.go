package local

import (
	"context"
	"testing"

	"github.com/tollgate-dev/tollgate/docs"
	"github.com/tollgate-dev/tollgate/internal/search"
)

func TestSeedDocs(t *testing.T) {
	ctx := context.Background()
	ix := openTest(t, t.TempDir())

	n, err := SeedDocs(ctx, ix, docs.FS)
	if err != nil {
		t.Fatal(err)
	}
	entries, err := docs.FS.ReadDir(".")
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("seeded %d documents, %+v", n, mustStats(t, ix))
	if n != len(entries) || n == 0 {
		t.Fatalf("seeded %d documents, want %d", n, len(entries))
	}
	// Seeding again changes nothing.
	if n, err := SeedDocs(ctx, ix, docs.FS); err != nil || n != 0 {
		t.Fatalf("second seed: %d, %v; want 0, nil", n, err)
	}

	tests := []struct {
		question string
		want     string
	}{
		{"how do I rotate an API key", SeedScheme + "keys.md"},
		{"How do I rotate a key?", SeedScheme + "keys.md"},
	}
	for _, tt := range tests {
		t.Run(tt.question, func(t *testing.T) {
			got, err := ix.Search(ctx, search.Query{Text: tt.question, Max: 5})
			if err != nil {
				t.Fatal(err)
			}
			if len(got) == 0 {
				t.Fatal("no results")
			}
			for i, r := range got {
				t.Logf("%d %.3f %s %q", i, r.Score, r.URL, r.Snippet[:min(len(r.Snippet), 120)])
			}
			if got[0].URL != tt.want {
				t.Errorf("first result %s, want %s", got[0].URL, tt.want)
			}
			if got[0].Title != "API keys and admin tokens" {
				t.Errorf("title %q", got[0].Title)
			}
		})
	}
}
