package dashboard

import (
	"fmt"
	"html/template"
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
		"usdExact": func(m money.Micros) string { return "$" + money.Decimal(m) },
		"num":      num,
		"dt":       dt,
		"dtp": func(t *time.Time) string {
			if t == nil {
				return "—"
			}
			return dt(*t)
		},
		"date":     func(t time.Time) string { return t.UTC().Format("2006-01-02") },
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
