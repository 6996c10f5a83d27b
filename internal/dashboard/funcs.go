package dashboard

import (
	"fmt"
	"html/template"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/tollgate-dev/tollgate/internal/money"
	"github.com/tollgate-dev/tollgate/internal/platform"
)

// templateFuncs are the helpers templates may call: links under the mount
// prefix, and the one way each kind of value is written.
func templateFuncs(base string, assets map[string]asset) template.FuncMap {
	return template.FuncMap{
		"path": func(p string) string { return base + p },
		"asset": func(name string) string {
			return base + "/dashboard/static/" + name + "?v=" + assets[name].version
		},
		"usd":      usd,
		"cents":    centsHTML,
		"usdExact": func(m money.Micros) string { return "$" + money.Decimal(m) },
		"num":      num,
		"dt":       dt,
		"dtp": func(t *time.Time) string {
			if t == nil {
				return "—"
			}
			return dt(*t)
		},
		"date":  func(t time.Time) string { return t.UTC().Format("2006-01-02") },
		"when":  when,
		"stamp": stamp,
		"words": func(s string) string { return strings.ReplaceAll(s, "_", " ") },
		// breakAfterDots lets "billing.transaction_posted" wrap after its
		// dots, where it reads well, instead of anywhere.
		"breakAfterDots": func(s string) template.HTML {
			return template.HTML(strings.ReplaceAll(template.HTMLEscapeString(s), ".", ".<wbr>"))
		},
		"ago":      ago,
		"roles":    func() []platform.Role { return platform.Roles },
		"roleDesc": func(r platform.Role) string { return r.Description() },
		"badge":    badge,
		"initial": func(s string) string {
			if s == "" {
				return "?"
			}
			return strings.ToUpper(s[:1])
		},
		"pct": func(part, whole money.Micros) int {
			if whole <= 0 {
				if part > 0 {
					return 100
				}
				return 0
			}
			return int(min(100*int64(part)/int64(whole), 100))
		},
		"add":    func(a, b int) int { return a + b },
		"list":   func(s ...string) []string { return s },
		"nameOr": nameOr,
		"chartCard": func(heading, total string, c *chart) any {
			return struct {
				Heading, Total string
				Chart          *chart
			}{heading, total, c}
		},
	}
}

// usd writes an amount of money for people: cents when it has no finer
// part, otherwise every significant micro-dollar ("$0.000123").
func usd(m money.Micros) string {
	neg := m < 0
	if neg {
		m = -m
	}
	var s string
	if m%10_000 == 0 {
		s = fmt.Sprintf("%s.%02d", group(int64(m/money.PerDollar)), int64(m%money.PerDollar)/10_000)
	} else {
		d := money.Decimal(m)
		whole, frac, _ := strings.Cut(d, ".")
		n, _ := strconv.ParseInt(whole, 10, 64)
		s = group(n) + "." + frac
	}
	if neg {
		return "−$" + s
	}
	return "$" + s
}

// cents writes an amount for a glance: to the nearest cent (half away from
// zero) from a dollar up, where fractions of a cent are noise; below a
// dollar, where they are much of the amount, every significant
// micro-dollar, as usd does. exact is usd's writing, and rounded reports
// whether shown differs from it.
func cents(m money.Micros) (shown, exact string, rounded bool) {
	exact = usd(m)
	r := m % 10_000
	if r == 0 || (m < money.PerDollar && m > -money.PerDollar) {
		return exact, exact, false
	}
	c := m - r
	switch {
	case r >= 5_000 && c <= math.MaxInt64-10_000:
		c += 10_000
	case r <= -5_000 && c >= math.MinInt64+10_000:
		c -= 10_000
	}
	return usd(c), exact, true
}

// centsHTML is cents for templates: a rounded amount carries its exact
// value in a tooltip.
func centsHTML(m money.Micros) template.HTML {
	shown, exact, rounded := cents(m)
	if !rounded {
		// Digits, separators and signs only: nothing to escape.
		return template.HTML(shown)
	}
	return template.HTML(`<span class="rounded" title="` + exact + ` exactly">` + shown + `</span>`)
}

// num writes an integer with thousands separators.
func num(v any) string {
	switch n := v.(type) {
	case int:
		return group(int64(n))
	case int64:
		return group(n)
	}
	return fmt.Sprint(v)
}

func group(n int64) string {
	neg := n < 0
	if neg {
		n = -n
	}
	s := strconv.FormatInt(n, 10)
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	if neg {
		return "-" + b.String()
	}
	return b.String()
}

// dt writes an instant in UTC, to the minute.
func dt(t time.Time) string {
	if t.IsZero() {
		return "—"
	}
	return t.UTC().Format("2006-01-02 15:04 UTC")
}

// when writes an instant compactly, to the minute in UTC: "Nov 26, 14:45
// UTC", with the year when it is not now's ("Dec 31 2025, 23:59 UTC").
// Tables show it; stamp goes in its title.
func when(t, now time.Time) string {
	if t.IsZero() {
		return "—"
	}
	t = t.UTC()
	if t.Year() == now.UTC().Year() {
		return t.Format("Jan 2, 15:04 UTC")
	}
	return t.Format("Jan 2 2006, 15:04 UTC")
}

// stamp writes an instant exactly, in RFC 3339 (UTC).
func stamp(t time.Time) string { return t.UTC().Format(time.RFC3339) }

// ago writes how long before now t was, roughly.
func ago(t *time.Time, now time.Time) string {
	if t == nil {
		return "never"
	}
	d := now.Sub(*t)
	switch {
	case d < time.Minute:
		return "just now"
	case d < time.Hour:
		return plural(int(d/time.Minute), "minute") + " ago"
	case d < 48*time.Hour:
		return plural(int(d/time.Hour), "hour") + " ago"
	}
	return plural(int(d/(24*time.Hour)), "day") + " ago"
}

func plural(n int, unit string) string {
	if n == 1 {
		return "1 " + unit
	}
	return strconv.Itoa(n) + " " + unit + "s"
}

// badge is the CSS class of a status badge.
func badge(status any) string {
	switch fmt.Sprint(status) {
	case "active", "ok":
		return "badge badge-ok"
	case "rotating", "pending", "disabled":
		return "badge badge-warn"
	case "revoked", "expired", "deleted":
		return "badge badge-off"
	}
	return "badge"
}
