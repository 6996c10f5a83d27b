package dashboard

import (
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/tollgate-dev/tollgate/internal/money"
)

func TestNiceScale(t *testing.T) {
	tests := []struct {
		v       float64
		integer bool
		top     float64
		step    float64
	}{
		{0, false, 4, 1},
		{1, false, 1, 0.25},
		{3, false, 3, 1},
		{7, false, 8, 2},
		{480, false, 600, 200},
		{610, false, 800, 200},
		{0.0042, false, 0.006, 0.002},
		{123456, false, 150000, 50000},
		{10, false, 10, 2.5},
		// Integer axes never get a line between two whole values.
		{1, true, 1, 1},
		{3, true, 3, 1},
		{10, true, 10, 5},
		{7, true, 8, 2},
		{5096, true, 6000, 2000},
		{100, true, 100, 25},
	}
	for _, tt := range tests {
		top, step := niceScale(tt.v, 4, tt.integer)
		if !near(top, tt.top) || !near(step, tt.step) || top < tt.v {
			t.Errorf("niceScale(%g, %v) = %g, %g; want %g, %g", tt.v, tt.integer, top, step, tt.top, tt.step)
		}
	}
}

func TestAxisTicks(t *testing.T) {
	tests := []struct {
		name   string
		format func([]float64) []string
		values []float64
		want   []string
	}{
		{"sub-cent dollars", usdTicks, []float64{0, 2000, 4000, 6000}, []string{"$0.000", "$0.002", "$0.004", "$0.006"}},
		{"quarter cents", usdTicks, []float64{0, 2500, 5000, 7500}, []string{"$0.0000", "$0.0025", "$0.0050", "$0.0075"}},
		{"micro-dollars", usdTicks, []float64{0, 1, 2, 3}, []string{"$0.000000", "$0.000001", "$0.000002", "$0.000003"}},
		{"cents", usdTicks, []float64{0, 50_000, 100_000}, []string{"$0.00", "$0.05", "$0.10"}},
		{"dimes", usdTicks, []float64{0, 500_000, 1_000_000, 1_500_000}, []string{"$0.00", "$0.50", "$1.00", "$1.50"}},
		{"whole dollars", usdTicks, []float64{0, 5e6, 10e6, 15e6}, []string{"$0", "$5", "$10", "$15"}},
		{"thousands of dollars", usdTicks, []float64{0, 2.5e9, 5e9}, []string{"$0", "$2,500", "$5,000"}},
		{"small counts", countTicks, []float64{0, 25, 50, 75, 100}, []string{"0", "25", "50", "75", "100"}},
		{"counts under a step of 1K", countTicks, []float64{0, 250, 500, 750, 1000}, []string{"0", "250", "500", "750", "1,000"}},
		{"thousands", countTicks, []float64{0, 2500, 5000, 7500, 10000}, []string{"0", "2.5K", "5.0K", "7.5K", "10.0K"}},
		{"whole thousands", countTicks, []float64{0, 5000, 10000}, []string{"0", "5K", "10K"}},
		{"millions", countTicks, []float64{0, 2.5e6, 5e6}, []string{"0", "2.5M", "5.0M"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.format(tt.values); !slices.Equal(got, tt.want) {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
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

// TestCostAxis draws a cost chart whose largest value is a fraction of a
// cent: its axis labels must all have the same number of decimals.
func TestCostAxis(t *testing.T) {
	day := time.Date(2026, 5, 1, 0, 0, 0, 0, time.UTC)
	c := &chart{ID: "cost", Title: "Cost", Buckets: []time.Time{day, day.AddDate(0, 0, 1)}, Line: true, Narrow: true, Integer: true,
		Format: func(x float64) string { return usd(money.Micros(x)) }, Ticks: usdTicks,
		Series: []series{{Name: "All", Values: []float64{0, 5096}}}}
	svg := string(c.SVG())
	labels := regexp.MustCompile(`dominant-baseline="middle">([^<]*)</text>`).FindAllStringSubmatch(svg, -1)
	var got []string
	for _, l := range labels {
		got = append(got, l[1])
	}
	if want := []string{"$0.000", "$0.002", "$0.004", "$0.006"}; !slices.Equal(got, want) {
		t.Errorf("cost axis labels %q, want %q", got, want)
	}
	if !strings.Contains(svg, "<title>May 2 · All: $0.005096</title>") {
		t.Errorf("the tooltip lost the exact cost:\n%s", svg)
	}
}
