package multi

import (
	"net/url"
	"strings"
	"time"

	"github.com/tollgate-dev/tollgate/internal/search"
)

// Apply returns the results that pass f, in order, for filters a provider
// could not apply itself:
//   - Domains keeps, ExcludeDomains drops, a result whose host is a listed
//     domain or a subdomain of one;
//   - PublishedAfter/Before bound Date, UpdatedAfter/Before bound
//     LastUpdated (Date standing in when a page reports no update); bounds
//     are inclusive, and a result with no date fails any bound on it;
//   - Languages keeps results in one of them (by primary subtag), and those
//     whose language is unknown.
//
// Mode is not applied: only the providers know what a result is.
func Apply(rs []search.Result, f search.Filters) []search.Result {
	allow, deny := normDomains(f.Domains), normDomains(f.ExcludeDomains)
	out := make([]search.Result, 0, len(rs))
	for _, r := range rs {
		host := hostOf(r.URL)
		if len(allow) > 0 && !inDomains(host, allow) {
			continue
		}
		if inDomains(host, deny) {
			continue
		}
		if !within(r.Date, f.PublishedAfter, f.PublishedBefore) {
			continue
		}
		updated := r.LastUpdated
		if updated == nil {
			updated = r.Date
		}
		if !within(updated, f.UpdatedAfter, f.UpdatedBefore) {
			continue
		}
		if !languageOK(r.Language, f.Languages) {
			continue
		}
		out = append(out, r)
	}
	return out
}

func within(t *time.Time, after, before time.Time) bool {
	if after.IsZero() && before.IsZero() {
		return true
	}
	if t == nil {
		return false
	}
	return (after.IsZero() || !t.Before(after)) && (before.IsZero() || !t.After(before))
}

func languageOK(lang string, want []string) bool {
	if len(want) == 0 || lang == "" {
		return true
	}
	primary := func(s string) string {
		s = strings.ToLower(strings.TrimSpace(s))
		p, _, _ := strings.Cut(strings.ReplaceAll(s, "_", "-"), "-")
		return p
	}
	l := primary(lang)
	for _, w := range want {
		if primary(w) == l {
			return true
		}
	}
	return false
}

// normDomains lowercases the filter's domains and strips what users paste
// with them: a scheme, a path, a leading "*." or ".", a trailing dot.
func normDomains(ds []string) []string {
	out := make([]string, 0, len(ds))
	for _, d := range ds {
		d = strings.ToLower(strings.TrimSpace(d))
		if i := strings.Index(d, "://"); i >= 0 {
			d = d[i+3:]
		}
		if i := strings.IndexAny(d, "/?#"); i >= 0 {
			d = d[:i]
		}
		d = strings.TrimPrefix(strings.TrimPrefix(d, "*"), ".")
		d = strings.TrimSuffix(d, ".")
		if d != "" {
			out = append(out, d)
		}
	}
	return out
}

func inDomains(host string, domains []string) bool {
	if host == "" {
		return false
	}
	for _, d := range domains {
		if host == d || strings.HasSuffix(host, "."+d) {
			return true
		}
	}
	return false
}

func hostOf(raw string) string {
	u, err := url.Parse(strings.TrimSpace(raw))
	if err != nil {
		return ""
	}
	return strings.TrimSuffix(strings.ToLower(u.Hostname()), ".")
}
