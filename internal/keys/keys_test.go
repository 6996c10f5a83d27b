package keys

import (
	"errors"
	"hash/crc32"
	"strings"
	"testing"
)

func TestGenerateParseRoundTrip(t *testing.T) {
	for _, prefix := range []string{DefaultKeyPrefix, DefaultAdminPrefix, "acme_"} {
		t.Run(prefix, func(t *testing.T) {
			seen := map[string]bool{}
			for range 200 {
				s, err := Generate(prefix)
				if err != nil {
					t.Fatal(err)
				}
				if got, want := len(s), Len(prefix); got != want {
					t.Fatalf("len(%q) = %d, want %d", s, got, want)
				}
				if err := Parse(s, prefix); err != nil {
					t.Fatalf("Parse(%q) = %v, want nil", s, err)
				}
				if seen[s] {
					t.Fatalf("Generate returned %q twice", s)
				}
				seen[s] = true
			}
		})
	}
}

func TestGenerateUsesWholeAlphabet(t *testing.T) {
	// 400 keys × 43 characters: every one of the 62 symbols should appear;
	// a biased or truncated alphabet would leave some out.
	counts := map[byte]int{}
	for range 400 {
		s, err := Generate(DefaultKeyPrefix)
		if err != nil {
			t.Fatal(err)
		}
		for i := len(DefaultKeyPrefix); i < len(DefaultKeyPrefix)+BodyLen; i++ {
			counts[s[i]]++
		}
	}
	if len(counts) != 62 {
		t.Fatalf("body used %d distinct symbols, want 62", len(counts))
	}
	for c, n := range counts {
		// Expected 400*43/62 ≈ 277 per symbol; 150 is far outside chance.
		if n < 150 || n > 420 {
			t.Errorf("symbol %q appeared %d times, expected about 277", c, n)
		}
	}
}

func TestParseRejects(t *testing.T) {
	good, err := Generate(DefaultKeyPrefix)
	if err != nil {
		t.Fatal(err)
	}
	flip := func(s string, i int) string {
		b := []byte(s)
		if b[i] == 'a' {
			b[i] = 'b'
		} else {
			b[i] = 'a'
		}
		return string(b)
	}
	tests := []struct {
		name string
		in   string
		want error
	}{
		{"empty", "", ErrPrefix},
		{"other prefix", "sk-" + good[5:], ErrPrefix},
		{"admin prefix", "tgadm-" + good[5:], ErrPrefix},
		{"truncated", good[:len(good)-1], ErrLength},
		{"extended", good + "x", ErrLength},
		{"bad char", good[:10] + "!" + good[11:], ErrCharset},
		{"non-ascii", good[:10] + "é" + good[12:], ErrCharset},
		{"typo in body", flip(good, 12), ErrChecksum},
		{"typo in checksum", flip(good, len(good)-2), ErrChecksum},
		{"swapped body chars", good[:6] + good[7:8] + good[6:7] + good[8:], ErrChecksum},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.name == "swapped body chars" && good[6] == good[7] {
				t.Skip("the two swapped characters are equal in this key")
			}
			if got := Parse(tt.in, DefaultKeyPrefix); !errors.Is(got, tt.want) {
				t.Errorf("Parse(%q) = %v, want %v", tt.in, got, tt.want)
			}
		})
	}
}

func TestChecksumIsCRC32OfBody(t *testing.T) {
	// Secret scanners recompute the checksum offline; pin the algorithm.
	s, err := Generate(DefaultKeyPrefix)
	if err != nil {
		t.Fatal(err)
	}
	body := s[len(DefaultKeyPrefix) : len(DefaultKeyPrefix)+BodyLen]
	sum := crc32.ChecksumIEEE([]byte(body))
	var want [ChecksumLen]byte
	putChecksum(want[:], sum)
	if got := s[len(s)-ChecksumLen:]; got != string(want[:]) {
		t.Fatalf("checksum = %q, want %q", got, want)
	}
}

func TestHashAndHint(t *testing.T) {
	s, err := Generate(DefaultKeyPrefix)
	if err != nil {
		t.Fatal(err)
	}
	h1, h2 := Hash(s), Hash(s)
	if h1 != h2 {
		t.Fatal("Hash is not deterministic")
	}
	if h1 == Hash(s[:len(s)-1]+"0") {
		t.Fatal("different keys hashed equal")
	}
	hint := Hint(s, DefaultKeyPrefix)
	if want := "pplx-…" + s[len(s)-4:]; hint != want {
		t.Fatalf("Hint = %q, want %q", hint, want)
	}
	if strings.Contains(hint, s[5:len(s)-4]) {
		t.Fatal("hint reveals the body")
	}
}

func TestValidatePrefix(t *testing.T) {
	tests := []struct {
		in string
		ok bool
	}{
		{"pplx-", true}, {"tgadm-", true}, {"acme_", true}, {"a1-", true},
		{"", false}, {"-", false}, {"pplx", false}, {"PPLX-", false}, {"pp lx-", false},
		{"averyveryverylongprefix-", false},
	}
	for _, tt := range tests {
		if err := ValidatePrefix(tt.in); (err == nil) != tt.ok {
			t.Errorf("ValidatePrefix(%q) = %v, want ok=%v", tt.in, err, tt.ok)
		}
	}
}

func TestParseDoesNotAllocate(t *testing.T) {
	s, err := Generate(DefaultKeyPrefix)
	if err != nil {
		t.Fatal(err)
	}
	if n := testing.AllocsPerRun(100, func() { _ = Parse(s, DefaultKeyPrefix); _ = Hash(s) }); n != 0 {
		t.Fatalf("Parse+Hash allocate %v times per run, want 0", n)
	}
}

// FuzzParse checks that Parse never panics, and that whatever it accepts
// has the right shape and a checksum that really matches.
func FuzzParse(f *testing.F) {
	good, err := Generate(DefaultKeyPrefix)
	if err != nil {
		f.Fatal(err)
	}
	for _, seed := range []string{good, "", "pplx-", "pplx-" + strings.Repeat("0", 49), good[:20], good + good} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if err := Parse(s, DefaultKeyPrefix); err != nil {
			return
		}
		if len(s) != Len(DefaultKeyPrefix) || !strings.HasPrefix(s, DefaultKeyPrefix) {
			t.Fatalf("Parse accepted %q of the wrong shape", s)
		}
		body := s[len(DefaultKeyPrefix) : len(DefaultKeyPrefix)+BodyLen]
		var want [ChecksumLen]byte
		putChecksum(want[:], crc32.ChecksumIEEE([]byte(body)))
		if s[len(s)-ChecksumLen:] != string(want[:]) {
			t.Fatalf("Parse accepted %q with a wrong checksum", s)
		}
	})
}
