package tokens

import "testing"

func TestCount(t *testing.T) {
	c := New()
	tests := []struct {
		text string
		want int
	}{
		{"", 0},
		{"hello world", 2},        // cl100k: "hello", " world"
		{"tiktoken is great!", 6}, // OpenAI's cookbook example
		{"antidisestablishmentarianism", 6},
	}
	for _, tt := range tests {
		if got := c.Count(tt.text); got != tt.want {
			t.Errorf("Count(%q) = %d, want %d", tt.text, got, tt.want)
		}
	}
}

func TestCountChat(t *testing.T) {
	c := New()
	// OpenAI's cookbook: these two messages cost 3+1+2 + 3+1+c("Hi") ... with
	// priming; check the framing arithmetic rather than a magic total.
	msgs := []Message{{Role: "system", Text: "Be brief."}, {Role: "user", Text: "Hi", Name: "ada"}}
	want := 3 + (3 + c.Count("system") + c.Count("Be brief.")) + (3 + c.Count("user") + c.Count("Hi") + 1 + c.Count("ada"))
	if got := c.CountChat(msgs); got != want || got < 15 {
		t.Fatalf("CountChat = %d, want %d", got, want)
	}
}
