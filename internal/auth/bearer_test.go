package auth

import (
	"errors"
	"strings"
	"testing"
)

func TestParseBearer(t *testing.T) {
	tests := []struct {
		name, in, want string
		err            error
	}{
		{"plain", "Bearer pplx-abc", "pplx-abc", nil},
		{"lower-case scheme", "bearer pplx-abc", "pplx-abc", nil},
		{"upper-case scheme", "BEARER pplx-abc", "pplx-abc", nil},
		{"extra spaces", "Bearer    pplx-abc  ", "pplx-abc", nil},
		{"tab", "Bearer\tpplx-abc", "", ErrMalformedHeader},
		{"empty", "", "", ErrMissing},
		{"scheme only", "Bearer ", "", ErrMissing},
		{"scheme and blanks", "Bearer    ", "", ErrMissing},
		{"basic auth", "Basic dXNlcjpwYXNz", "", ErrMalformedHeader},
		{"no scheme", "pplx-abc", "", ErrMalformedHeader},
		{"token with space", "Bearer pplx-a bc", "", ErrMalformed},
		{"control char", "Bearer pplx-a\x01bc", "", ErrMalformed},
		{"non-ascii", "Bearer pplx-ä", "", ErrMalformed},
		{"too long", "Bearer " + strings.Repeat("a", 600), "", ErrMalformedHeader},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseBearer(tt.in)
			if !errors.Is(err, tt.err) {
				t.Fatalf("ParseBearer(%q) error = %v, want %v", tt.in, err, tt.err)
			}
			if got != tt.want {
				t.Fatalf("ParseBearer(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

// FuzzParseBearer checks that any header either fails with one of the
// declared errors or yields a non-empty token of visible ASCII that the
// header really contains.
func FuzzParseBearer(f *testing.F) {
	for _, s := range []string{"Bearer pplx-abc", "", "Basic x", "bearer  x ", "Bearer \x00", "BEARER " + strings.Repeat("z", 60)} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, h string) {
		tok, err := ParseBearer(h)
		if err != nil {
			if !errors.Is(err, ErrMissing) && !errors.Is(err, ErrMalformedHeader) && !errors.Is(err, ErrMalformed) {
				t.Fatalf("unexpected error %v", err)
			}
			return
		}
		if tok == "" || !strings.Contains(h, tok) {
			t.Fatalf("ParseBearer(%q) = %q", h, tok)
		}
		for i := 0; i < len(tok); i++ {
			if tok[i] <= ' ' || tok[i] >= 0x7f {
				t.Fatalf("token %q holds byte %#x", tok, tok[i])
			}
		}
	})
}
