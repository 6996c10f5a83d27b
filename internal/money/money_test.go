package money

import (
	"encoding/json"
	"errors"
	"math"
	"testing"
)

func TestParseAndFormat(t *testing.T) {
	for _, tc := range []struct {
		in      string
		want    Micros
		decimal string
		bad     bool
	}{
		{"12", 12_000_000, "12", false},
		{"12.5", 12_500_000, "12.5", false},
		{"$0.000001", 1, "0.000001", false},
		{"-3.25", -3_250_000, "-3.25", false},
		{".5", 500_000, "0.5", false},
		{"1,000.00", 1_000_000_000, "1000", false},
		{"1000000000", Max, "1000000000", false},
		{"1000000000.000001", 0, "", true},
		{"99999999999999999999", 0, "", true},
		{"0.0000001", 0, "", true},
		{"12.5.1", 0, "", true},
		{"abc", 0, "", true},
		{"", 0, "", true},
		{".", 0, "", true},
		{"1e3", 0, "", true},
		{"+5", 0, "", true},
	} {
		got, err := Parse(tc.in)
		if (err != nil) != tc.bad {
			t.Fatalf("Parse(%q) error = %v, want bad=%v", tc.in, err, tc.bad)
		}
		if tc.bad {
			continue
		}
		if got != tc.want || Decimal(got) != tc.decimal {
			t.Fatalf("Parse(%q) = %d (%s), want %d (%s)", tc.in, got, Decimal(got), tc.want, tc.decimal)
		}
		back, err := Parse(Format(got))
		if err != nil || back != got {
			t.Fatalf("round trip of %q via %q = %d, %v", tc.in, Format(got), back, err)
		}
	}
	if Format(math.MinInt64) != "-9223372036854.775808" {
		t.Fatalf("Format(MinInt64) = %s", Format(math.MinInt64))
	}
}

func TestCheckedArithmetic(t *testing.T) {
	if _, err := Add(math.MaxInt64, 1); !errors.Is(err, ErrOverflow) {
		t.Fatalf("Add overflow: %v", err)
	}
	if _, err := Add(math.MinInt64, -1); !errors.Is(err, ErrOverflow) {
		t.Fatalf("Add underflow: %v", err)
	}
	if s, err := Add(Max, Max); err != nil || s != 2*Max {
		t.Fatalf("Add(Max, Max) = %d, %v", s, err)
	}
	for _, tc := range []struct {
		n, m, d int64
		want    Micros
		err     bool
	}{
		{402, 1_000_000, 1_000_000, 402, false},     // 402 tokens at $1/1M
		{832, 15_000_000, 1_000_000, 12_480, false}, // 832 tokens at $15/1M
		{1, 150_000, 1_000_000, 1, false},           // a fraction of a micro rounds up
		{7, 150_000, 1_000_000, 2, false},           // 1.05 → 2
		{0, 150_000, 1_000_000, 0, false},           // nothing costs nothing
		{math.MaxInt64, math.MaxInt64, 1, 0, true},  // product overflows
		{math.MaxInt64, 2, 1, 0, true},              // quotient overflows int64
		{1 << 40, 1 << 40, 1 << 20, 1 << 60, false}, // 128-bit intermediate
		{-1, 1, 1, 0, true},
	} {
		got, err := MulDiv(tc.n, tc.m, tc.d)
		if (err != nil) != tc.err || got != tc.want {
			t.Fatalf("MulDiv(%d, %d, %d) = %d, %v", tc.n, tc.m, tc.d, got, err)
		}
	}
}

func TestJSONIsAnExactNumber(t *testing.T) {
	b, err := json.Marshal(map[string]Dollars{"a": 60, "b": 24_150, "c": 0})
	if err != nil || string(b) != `{"a":0.00006,"b":0.02415,"c":0}` {
		t.Fatalf("json = %s, %v", b, err)
	}
}

func FuzzParse(f *testing.F) {
	for _, s := range []string{"12.50", "$1,000", "-0.000001", "1e9", ".", "999999999.999999"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		m, err := Parse(s)
		if err != nil {
			return
		}
		if m > Max || m < -Max {
			t.Fatalf("Parse(%q) = %d beyond Max", s, m)
		}
		if back, err := Parse(Format(m)); err != nil || back != m {
			t.Fatalf("round trip %q → %d → %q → %d, %v", s, m, Format(m), back, err)
		}
	})
}
