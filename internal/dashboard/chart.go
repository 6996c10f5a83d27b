package dashboard

import (
	"fmt"
	"html/template"
	"math"
	"strings"
	"time"
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
	Format func(float64) string
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
	ymax, step := niceScale(top, 4)
	if c.Integer && step < 1 {
		step, ymax = 1, math.Max(1, math.Ceil(top))
	}
	y := func(v float64) float64 { return chartTop + plotH - v/ymax*plotH }
	fmt.Fprintf(&b, `<svg class="chart" id="%s" data-testid="%s" viewBox="0 0 %g %g" role="img" aria-labelledby="%s-title">`,
		c.ID, c.ID, width, chartH, c.ID)
	fmt.Fprintf(&b, `<title id="%s-title">%s</title>`, c.ID, template.HTMLEscapeString(c.Title))
	// Horizontal grid lines with their values.
	for v := 0.0; v <= ymax+step/2; v += step {
		yy := y(v)
		cls := "grid"
		if v == 0 {
			cls = "axis"
		}
		fmt.Fprintf(&b, `<line class="%s" x1="%g" x2="%g" y1="%.1f" y2="%.1f"/>`, cls, chartLeft, width-chartRight, yy, yy)
		fmt.Fprintf(&b, `<text x="%g" y="%.1f" text-anchor="end" dominant-baseline="middle">%s</text>`,
			chartLeft-8, yy, template.HTMLEscapeString(c.Format(v)))
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
func niceScale(v float64, lines int) (top, step float64) {
	if v <= 0 {
		return float64(lines), 1
	}
	raw := v / float64(lines)
	mag := math.Pow(10, math.Floor(math.Log10(raw)))
	for _, m := range []float64{1, 2, 2.5, 5, 10} {
		step = m * mag
		if step >= raw {
			break
		}
	}
	return step * math.Ceil(v/step-1e-9), step
}
