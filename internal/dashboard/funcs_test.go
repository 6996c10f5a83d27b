package dashboard

import (
	"strings"
	"testing"
	"time"

	"github.com/tollgate-dev/tollgate/internal/money"
)

func TestNiceScale(t *testing.T) {
	tests := []struct {
		v, top, step float64
	}{
		{0, 4, 1},
		{1, 1, 0.25},
		{3, 3, 1},
		{7, 8, 2},
		{480, 600, 200},
		{610, 800, 200},
		{0.0042, 0.006, 0.002},
		{123456, 150000, 50000},
	}
	for _, tt := range tests {
		top, step := niceScale(tt.v, 4)
		if !near(top, tt.top) || !near(step, tt.step) || top < tt.v {
			t.Errorf("niceScale(%g) = %g, %g; want %g, %g", tt.v, top, step, tt.top, tt.step)
		}
	}
}

func near(a, b float64) bool { return a-b < 1e-9 && b-a < 1e-9 }

func TestFormats(t *testing.T) {
	tests := []struct{ got, want string }{
		{usd(0), "$0.00"},
		{usd(60_500_000), "$60.50"},
		{usd(1_234_567_890_000), "$1,234,567.89"},
		{usd(5124), "$0.005124"},
		{usd(-2_500_000), "−$2.50"},
		{usd(money.Micros(1_000_000_000_001)), "$1,000,000.000001"},
		{num(int64(1234567)), "1,234,567"},
		{num(-1000), "-1,000"},
		{compact(1500), "1.5K"},
		{compact(2_000_000), "2M"},
		{humanDuration(24 * time.Hour), "1 day"},
		{humanDuration(90 * time.Minute), "90 minutes"},
	}
	for _, tt := range tests {
		if tt.got != tt.want {
			t.Errorf("got %q, want %q", tt.got, tt.want)
		}
	}
}

func TestChartSVG(t *testing.T) {
	day := time.Date(2026, 5, 1, 0, 0, 0, 0, time.UTC)
	c := &chart{ID: "c", Title: "Requests <per day>", Buckets: []time.Time{day, day.AddDate(0, 0, 1), day.AddDate(0, 0, 2)},
		Integer: true, Format: func(x float64) string { return num(int64(x)) },
		Series: []series{{Name: "web <prod>", Values: []float64{3, 0, 1}}, {Name: "batch", Values: []float64{1, 0, 0}}}}
	svg := string(c.SVG())
	for _, want := range []string{`<title id="c-title">Requests &lt;per day&gt;</title>`,
		`<title>May 1 · web &lt;prod&gt;: 3</title>`, `<title>May 1 · batch: 1</title>`, `<title>May 3 · web &lt;prod&gt;: 1</title>`,
		`>4</text>`, `>0</text>`} {
		if !strings.Contains(svg, want) {
			t.Errorf("SVG lacks %s:\n%s", want, svg)
		}
	}
	if n := strings.Count(svg, `<rect class="bar"`); n != 3 {
		t.Errorf("%d bars, want 3 (zero values draw nothing)", n)
	}
	if strings.Contains(svg, "<prod>") {
		t.Error("a series name reached the SVG unescaped")
	}
}

func TestCents(t *testing.T) {
	tests := []struct {
		m            money.Micros
		shown, exact string
		wantRounded  bool
	}{
		{0, "$0.00", "$0.00", false},
		{60_500_000, "$60.50", "$60.50", false},
		{999_994_904, "$999.99", "$999.994904", true},
		{999_995_000, "$1,000.00", "$999.995", true},
		{1_000_004_999, "$1,000.00", "$1,000.004999", true},
		{-2_345_678, "−$2.35", "−$2.345678", true},
		// Below a dollar the fraction of a cent is much of the amount.
		{5_096, "$0.005096", "$0.005096", false},
		{999_999, "$0.999999", "$0.999999", false},
		{-5_096, "−$0.005096", "−$0.005096", false},
	}
	for _, tt := range tests {
		shown, exact, rounded := cents(tt.m)
		if shown != tt.shown || exact != tt.exact || rounded != tt.wantRounded {
			t.Errorf("cents(%d) = %q, %q, %v; want %q, %q, %v", tt.m, shown, exact, rounded, tt.shown, tt.exact, tt.wantRounded)
		}
	}
	if got, want := string(centsHTML(999_994_904)), `<span class="rounded" title="$999.994904 exactly">$999.99</span>`; got != want {
		t.Errorf("centsHTML = %s, want %s", got, want)
	}
}

func TestWhen(t *testing.T) {
	now := time.Date(2026, 11, 26, 15, 0, 0, 0, time.UTC)
	tests := []struct {
		t    time.Time
		want string
	}{
		{time.Date(2026, 11, 26, 14, 45, 59, 0, time.UTC), "Nov 26, 14:45 UTC"},
		{time.Date(2026, 1, 2, 3, 4, 0, 0, time.FixedZone("CET", 3600)), "Jan 2, 02:04 UTC"},
		{time.Date(2025, 12, 31, 23, 59, 0, 0, time.UTC), "Dec 31 2025, 23:59 UTC"},
		{time.Time{}, "—"},
	}
	for _, tt := range tests {
		if got := when(tt.t, now); got != tt.want {
			t.Errorf("when(%v) = %q, want %q", tt.t, got, tt.want)
		}
	}
	if got := stamp(time.Date(2026, 11, 26, 15, 45, 0, 0, time.FixedZone("X", 3600))); got != "2026-11-26T14:45:00Z" {
		t.Errorf("stamp = %q", got)
	}
}
