package dashboard

import (
	"fmt"
	"html/template"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/tollgate-dev/tollgate/internal/money"
)

// Charts are SVG drawn here, on the server, from the usage rollups: they
// show without JavaScript, print, and cost the browser nothing. Each bar or
// point has a <title> (the browser's tooltip, and what screen readers
// read); the page also offers the numbers as a table.

// palette colours series in order; the last is "Other".
var palette = []string{"#0f6b5c", "#2f6fed", "#dc6803", "#7a5af8", "#e31b54", "#98a2b3"}

// series is one named line or stack of a chart, a value per bucket.
type series struct {
	Name   string
	Values []float64
	Class  string // swatch class for the legend
}

// chart is one chart to draw.
type chart struct {
	ID      string // element id of the <svg>
	Title   string
	Buckets []time.Time
	Hourly  bool
	Series  []series
	Line    bool // lines instead of stacked bars
	// Integer values (counts) never get fractional grid lines.
	Integer bool
	// Narrow charts (half the page wide) get a narrower drawing, so
	// their labels are as large as the wide chart's.
	Narrow bool
	// Format writes a value (tooltips; axis labels when Ticks is nil).
	Format func(float64) string
	// Ticks writes the axis labels all at once, so that they can share a
	// number of decimals ("$0.000", "$0.002", not "$0.00", "$0.002").
	Ticks func(values []float64) []string
}

// Chart geometry, in viewBox units (the SVG scales to its container).
const (
	chartW      = 800.0
	chartH      = 240.0
	chartLeft   = 64.0
	chartRight  = 12.0
	chartTop    = 12.0
	chartBottom = 28.0
)

// SVG renders the chart.
func (c *chart) SVG() template.HTML {
	var b strings.Builder
	n := len(c.Buckets)
	width := chartW
	if c.Narrow {
		width = chartW * 0.6
	}
	plotW, plotH := width-chartLeft-chartRight, chartH-chartTop-chartBottom
	// The y axis covers the tallest stack (or point) rounded up to a
	// readable number.
	top := 0.0
	for i := 0; i < n; i++ {
		sum := 0.0
		for _, s := range c.Series {
			if c.Line {
				top = math.Max(top, s.Values[i])
			} else {
				sum += s.Values[i]
			}
		}
		top = math.Max(top, sum)
	}
	ymax, step := niceScale(top, 4, c.Integer)
	y := func(v float64) float64 { return chartTop + plotH - v/ymax*plotH }
	fmt.Fprintf(&b, `<svg class="chart" id="%s" data-testid="%s" viewBox="0 0 %g %g" role="img" aria-labelledby="%s-title">`,
		c.ID, c.ID, width, chartH, c.ID)
	fmt.Fprintf(&b, `<title id="%s-title">%s</title>`, c.ID, template.HTMLEscapeString(c.Title))
	// Horizontal grid lines with their values (multiples of the step, not
	// sums, so that no rounding error creeps in).
	var ticks []float64
	for i := 0; float64(i)*step <= ymax+step/2; i++ {
		ticks = append(ticks, float64(i)*step)
	}
	tickLabels := make([]string, len(ticks))
	if c.Ticks != nil {
		tickLabels = c.Ticks(ticks)
	} else {
		for i, v := range ticks {
			tickLabels[i] = c.Format(v)
		}
	}
	for i, v := range ticks {
		yy := y(v)
		cls := "grid"
		if i == 0 {
			cls = "axis"
		}
		fmt.Fprintf(&b, `<line class="%s" x1="%g" x2="%g" y1="%.1f" y2="%.1f"/>`, cls, chartLeft, width-chartRight, yy, yy)
		fmt.Fprintf(&b, `<text x="%g" y="%.1f" text-anchor="end" dominant-baseline="middle">%s</text>`,
			chartLeft-8, yy, template.HTMLEscapeString(tickLabels[i]))
	}
	if n == 0 {
		b.WriteString(`</svg>`)
		return template.HTML(b.String())
	}
	slot := plotW / float64(n)
	// Bucket labels: about seven (four on a narrow chart), evenly spread.
	labels := 7.0
	if c.Narrow {
		labels = 4
	}
	every := max(1, int(math.Ceil(float64(n)/labels)))
	for i := 0; i < n; i += every {
		x := chartLeft + slot*(float64(i)+0.5)
		fmt.Fprintf(&b, `<text x="%.1f" y="%g" text-anchor="middle">%s</text>`, x, chartH-8, bucketLabel(c.Buckets[i], c.Hourly, true))
	}
	if c.Line {
		c.lines(&b, slot, y)
	} else {
		c.bars(&b, slot, y)
	}
	b.WriteString(`</svg>`)
	return template.HTML(b.String())
}

func (c *chart) bars(b *strings.Builder, slot float64, y func(float64) float64) {
	w := math.Max(1, slot*0.72)
	if slot > 3 {
		w = math.Max(1, math.Min(slot-2, slot*0.72))
	}
	for i, t := range c.Buckets {
		x := chartLeft + slot*float64(i) + (slot-w)/2
		base := 0.0
		for si, s := range c.Series {
			v := s.Values[i]
			if v <= 0 {
				continue
			}
			y0, y1 := y(base), y(base+v)
			base += v
			tip := fmt.Sprintf("%s · %s: %s", bucketLabel(t, c.Hourly, false), s.Name, c.Format(v))
			fmt.Fprintf(b, `<rect class="bar" x="%.2f" y="%.2f" width="%.2f" height="%.2f" fill="%s" data-tip="%s"><title>%s</title></rect>`,
				x, y1, w, math.Max(y0-y1, 0.5), palette[min(si, len(palette)-1)],
				template.HTMLEscapeString(tip), template.HTMLEscapeString(tip))
		}
	}
}

func (c *chart) lines(b *strings.Builder, slot float64, y func(float64) float64) {
	for si, s := range c.Series {
		colour := palette[min(si, len(palette)-1)]
		var pts []string
		for i := range c.Buckets {
			pts = append(pts, fmt.Sprintf("%.1f,%.1f", chartLeft+slot*(float64(i)+0.5), y(s.Values[i])))
		}
		fmt.Fprintf(b, `<polyline class="line" points="%s" stroke="%s"/>`, strings.Join(pts, " "), colour)
		// Points carry the tooltips; with many buckets they are tiny.
		r := 3.0
		if len(c.Buckets) > 60 {
			r = 1.5
		}
		for i, t := range c.Buckets {
			tip := fmt.Sprintf("%s · %s: %s", bucketLabel(t, c.Hourly, false), s.Name, c.Format(s.Values[i]))
			fmt.Fprintf(b, `<circle class="dot" cx="%.1f" cy="%.1f" r="%g" fill="%s" data-tip="%s"><title>%s</title></circle>`,
				chartLeft+slot*(float64(i)+0.5), y(s.Values[i]), r, colour,
				template.HTMLEscapeString(tip), template.HTMLEscapeString(tip))
		}
	}
}

// bucketLabel names a bucket: "May 1" for days, "May 1 09:00" for hours
// (short drops the day of hours after the first of a day).
func bucketLabel(t time.Time, hourly, short bool) string {
	t = t.UTC()
	if !hourly {
		return t.Format("Jan 2")
	}
	if short && t.Hour() != 0 {
		return t.Format("15:04")
	}
	return t.Format("Jan 2 15:04")
}

// niceScale returns an axis maximum at or above v and the step between its
// grid lines, both round numbers (1, 2, 2.5 or 5 times a power of ten).
// An integer axis (counts, micro-dollars) only gets whole steps: a line
// at 2.5 requests would be labelled "2".
func niceScale(v float64, lines int, integer bool) (top, step float64) {
	if v <= 0 {
		return float64(lines), 1
	}
	raw := v / float64(lines)
	mag := math.Pow(10, math.Floor(math.Log10(raw)))
	step = 0
	for _, m := range []float64{1, 2, 2.5, 5, 10} {
		s := m * mag
		if integer {
			if s < 1 || math.Abs(s-math.Round(s)) > 1e-9 {
				continue
			}
			s = math.Round(s)
		}
		if s >= raw {
			step = s
			break
		}
	}
	if step == 0 { // an integer axis below one step of 1
		step = 1
	}
	return step * math.Ceil(v/step-1e-9), step
}

// usdTicks writes micro-dollar axis values as dollars, all with the same
// number of decimals: none when every value is whole dollars, otherwise
// the fewest (at least two, at most six) that write every value exactly.
func usdTicks(values []float64) []string {
	ms := make([]int64, len(values))
	dec := 0
	for i, v := range values {
		ms[i] = int64(math.Round(v))
		dec = max(dec, decimalsOf(ms[i], 6))
	}
	if dec > 0 {
		dec = max(dec, 2)
	}
	out := make([]string, len(ms))
	for i, m := range ms {
		// money.Format is the one exact writing of an amount: "-0.002000".
		whole, frac, _ := strings.Cut(money.Format(money.Micros(m)), ".")
		sign := ""
		if strings.HasPrefix(whole, "-") {
			sign, whole = "−", whole[1:]
		}
		n, _ := strconv.ParseInt(whole, 10, 64)
		out[i] = sign + "$" + group(n)
		if dec > 0 {
			out[i] += "." + frac[:dec]
		}
	}
	return out
}

// countTicks writes count axis values briefly ("2.5K"), in one unit (K, M
// or B: the largest the step reaches) and with one number of decimals;
// the baseline is "0".
func countTicks(values []float64) []string {
	ns := make([]int64, len(values))
	for i, v := range values {
		ns[i] = int64(math.Round(v))
	}
	step := int64(1)
	if len(ns) > 1 {
		step = ns[1] - ns[0]
	}
	scale, unit := 0, ""
	for _, u := range []struct {
		scale int
		unit  string
	}{{9, "B"}, {6, "M"}, {3, "K"}} {
		if step >= pow10(u.scale) {
			scale, unit = u.scale, u.unit
			break
		}
	}
	dec := 0
	for _, n := range ns {
		dec = max(dec, decimalsOf(n, scale))
	}
	out := make([]string, len(ns))
	for i, n := range ns {
		if n == 0 {
			out[i] = "0"
			continue
		}
		p := pow10(scale)
		out[i] = group(n / p)
		if dec > 0 {
			out[i] += "." + fmt.Sprintf("%0*d", scale, n%p)[:dec]
		}
		out[i] += unit
	}
	return out
}

// decimalsOf is how many decimals n/10^scale needs to be written exactly.
func decimalsOf(n int64, scale int) int {
	f := n % pow10(scale)
	if f < 0 {
		f = -f
	}
	if f == 0 {
		return 0
	}
	d := scale
	for f%10 == 0 {
		f /= 10
		d--
	}
	return d
}

func pow10(n int) int64 {
	p := int64(1)
	for range n {
		p *= 10
	}
	return p
}
