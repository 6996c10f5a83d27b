package multi

import (
	"net/url"
	"sort"
	"strings"
)

// trackingParams are query parameters that identify a campaign or a
// click, not a page; utm_* is matched by prefix.
var trackingParams = map[string]bool{
	"gclid": true, "gclsrc": true, "dclid": true, "fbclid": true, "msclkid": true,
	"yclid": true, "mc_cid": true, "mc_eid": true, "igshid": true, "_ga": true,
	"_gl": true, "_hsenc": true, "_hsmi": true, "mkt_tok": true, "ref_src": true,
	"oly_enc_id": true, "oly_anon_id": true, "vero_id": true, "wickedid": true,
}

// Canonical returns the form of a URL used to decide that two results are
// the same page: scheme and host lowercased, default port, fragment,
// trailing slashes and tracking parameters (utm_*, gclid, fbclid, …)
// dropped, remaining query parameters sorted. A string that is not an
// absolute URL is returned trimmed; "" for an empty one.
func Canonical(raw string) string {
	raw = strings.TrimSpace(raw)
	u, err := url.Parse(raw)
	if err != nil || u.Scheme == "" || u.Host == "" {
		return raw
	}
	u.Scheme = strings.ToLower(u.Scheme)
	host := strings.ToLower(u.Hostname())
	port := u.Port()
	if port == "" || (u.Scheme == "http" && port == "80") || (u.Scheme == "https" && port == "443") {
		u.Host = host
		if strings.Contains(host, ":") { // IPv6 literal
			u.Host = "[" + host + "]"
		}
	} else {
		u.Host = strings.ToLower(u.Host)
	}
	u.Fragment, u.RawFragment = "", ""
	u.Path = strings.TrimRight(u.Path, "/")
	u.RawPath = strings.TrimRight(u.RawPath, "/")

	var params []string
	for _, kv := range strings.Split(u.RawQuery, "&") {
		if kv == "" {
			continue
		}
		k, _, _ := strings.Cut(kv, "=")
		name, err := url.QueryUnescape(k)
		if err != nil {
			name = k
		}
		name = strings.ToLower(name)
		if strings.HasPrefix(name, "utm_") || trackingParams[name] {
			continue
		}
		params = append(params, kv)
	}
	sort.Strings(params)
	u.RawQuery = strings.Join(params, "&")
	u.ForceQuery = false
	return u.String()
}
