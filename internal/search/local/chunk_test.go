package local

import (
	"strings"
	"testing"
)

func TestChunk(t *testing.T) {
	tests := []struct {
		name         string
		text         string
		wantPassages int
	}{
		{"empty", "", 0},
		{"one short paragraph", "Just a line.", 1},
		{"short tail joins the last passage", longText(3, 60) + "\n\nTail.", 1},
		{"long tail stays apart", longText(3, 60) + "\n\n" + longText(1, 60), 2},
		{"many paragraphs", longText(20, 60), 7},
		{"one huge paragraph splits at sentences", longText(1, 1000), 6},
		{"one huge sentence splits at words", strings.Repeat("word ", 550), 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Chunk(tt.text)
			if len(got) != tt.wantPassages {
				t.Errorf("%d passages, want %d", len(got), tt.wantPassages)
			}
			// No word is lost or reordered.
			if g, w := strings.Fields(strings.Join(got, " ")), strings.Fields(tt.text); strings.Join(g, " ") != strings.Join(w, " ") {
				t.Errorf("words changed")
			}
			for i, p := range got {
				n := wordCount(p)
				last := i == len(got)-1
				if n > maxWords+minWords/2 || (!last && n < minWords) {
					t.Errorf("passage %d has %d words", i, n)
				}
			}
		})
	}
}

func TestChunkCutsAtParagraphs(t *testing.T) {
	// Paragraphs of 60 words: every passage must end where a paragraph ends.
	text := longText(10, 60)
	for i, p := range Chunk(text) {
		if !strings.HasSuffix(p, ".") {
			t.Errorf("passage %d ends mid-paragraph: %q", i, p[max(0, len(p)-30):])
		}
	}
}
