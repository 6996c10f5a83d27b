package local

import (
	"context"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/tollgate-dev/tollgate/internal/search"
)

// BenchmarkSearch measures Search and Passages over about 3,000 passages
// (1,000 documents of ~330 words drawn from a Zipf-distributed vocabulary).
func BenchmarkSearch(b *testing.B) {
	ctx := context.Background()
	ix := openTest(b, b.TempDir())
	rng := rand.New(rand.NewPCG(1, 2))
	zipf := rand.NewZipf(rng, 1.1, 1, 20000)
	word := func() string { return fmt.Sprintf("t%d", zipf.Uint64()) }
	for d := range 1000 {
		var text strings.Builder
		for p := range 3 {
			if p > 0 {
				text.WriteString("\n\n")
			}
			for i := range 110 {
				text.WriteString(word())
				if i%12 == 11 {
					text.WriteString(". ")
				} else {
					text.WriteString(" ")
				}
			}
		}
		_, err := ix.Put(ctx, Document{
			URL:   fmt.Sprintf("https://example.com/%d", d),
			Title: word() + " " + word(),
			Text:  text.String(),
		})
		if err != nil {
			b.Fatal(err)
		}
	}
	st := mustStatsB(b, ix)
	b.Logf("%d documents, %d passages, %d bytes on disk", st.Documents, st.Passages, st.DiskBytes)

	queries := make([]string, 64)
	for i := range queries {
		queries[i] = word() + " " + word() + " " + word() + " " + word()
	}
	b.Run("Search", func(b *testing.B) {
		i := 0
		for b.Loop() {
			if _, err := ix.Search(ctx, search.Query{Text: queries[i%len(queries)], Max: 10}); err != nil {
				b.Fatal(err)
			}
			i++
		}
	})
	b.Run("Passages", func(b *testing.B) {
		i := 0
		for b.Loop() {
			if _, err := ix.Passages(ctx, search.Query{Text: queries[i%len(queries)]}, 20); err != nil {
				b.Fatal(err)
			}
			i++
		}
	})
}

func mustStatsB(b *testing.B, ix *Index) Stats {
	b.Helper()
	st, err := ix.Stats(context.Background())
	if err != nil {
		b.Fatal(err)
	}
	return st
}
