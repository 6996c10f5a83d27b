package dashboard

import (
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/tollgate-dev/tollgate/internal/money"
)

// auditDetail is one fact of an audit event, written for people: amounts
// in dollars, instants in UTC, a role change as "member → admin".
type auditDetail struct {
	Label string
	Value string
	// Title is the exact value when Value rounds or shortens it.
	Title string
	// Code marks an ID or a key hint (set in monospace).
	Code bool
	// Link is a dashboard page about the value.
	Link string
}

// detailKind says how a detail's value is written.
type detailKind int

const (
	detailText   detailKind = iota
	detailWords             // "sign_out" → "sign out"
	detailMoney             // integer micro-dollars → "$12.50"
	detailSigned            // the same with "+" on credits
	detailTime              // RFC 3339 → "Nov 26, 14:45 UTC"
	detailCode              // IDs and hints
	detailGroup             // a group ID: its name, linked to its page
	detailLimit             // a rate limit: 0 is "no limit"
	detailModel             // a model; empty is every model
)

// auditKeys are the detail keys Tollgate writes (see the store's audit
// calls), in the order they are shown. Others are shown after them, by
// key, as they are.
var auditKeys = []struct {
	key, label string
	kind       detailKind
}{
	{"name", "Name", detailText},
	{"email", "Email", detailText},
	{"role", "Role", detailText},
	{"status", "Status", detailText},
	{"description", "Description", detailText},
	{"kind", "Kind", detailWords},
	{"amount_micros", "Amount", detailSigned},
	{"balance_after_micros", "Balance after", detailMoney},
	{"monthly_cap_micros", "Monthly cap", detailMoney},
	{"credit_limit_micros", "Credit limit", detailMoney},
	{"monthly_grant_micros", "Monthly grant", detailMoney},
	{"model", "Model", detailModel},
	{"rpm", "RPM", detailLimit},
	{"tpm", "TPM", detailLimit},
	{"concurrency", "In flight", detailLimit},
	{"effective_from", "Effective from", detailTime},
	{"hint", "Hint", detailCode},
	{"group_id", "Group", detailGroup},
	{"successor", "New key", detailCode},
	{"old_expires_at", "Old key works until", detailTime},
	{"keys_revoked", "Keys revoked", detailText},
	{"sessions_ended", "Sessions ended", detailText},
	{"reason", "Reason", detailWords},
	{"reference", "Reference", detailText},
}

// auditDetails writes an event's details for people. A role change
// ("from", "to") is one line; groups are named from groups (ID → name)
// when known; now decides whether instants need their year.
func auditDetails(d map[string]string, groups map[string]string, now time.Time) []auditDetail {
	var out []auditDetail
	seen := map[string]bool{}
	if from, ok := d["from"]; ok {
		if to, ok := d["to"]; ok {
			out = append(out, auditDetail{Label: "Role", Value: from + " → " + to})
			seen["from"], seen["to"] = true, true
		}
	}
	for _, k := range auditKeys {
		v, ok := d[k.key]
		if !ok {
			continue
		}
		seen[k.key] = true
		if det, ok := writeDetail(k.label, k.kind, v, groups, now); ok {
			out = append(out, det)
		}
	}
	var rest []string
	for k := range d {
		if !seen[k] {
			rest = append(rest, k)
		}
	}
	slices.Sort(rest)
	for _, k := range rest {
		out = append(out, auditDetail{Label: detailLabel(k), Value: d[k]})
	}
	return out
}

// writeDetail writes one known detail; ok is false when it says nothing
// (an empty reference). A value that does not parse as its kind is shown
// as it is.
func writeDetail(label string, kind detailKind, v string, groups map[string]string, now time.Time) (auditDetail, bool) {
	det := auditDetail{Label: label, Value: v}
	switch kind {
	case detailText:
		if v == "" {
			return det, false
		}
	case detailWords:
		det.Value = strings.ReplaceAll(v, "_", " ")
	case detailMoney, detailSigned:
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			break
		}
		shown, exact, rounded := cents(money.Micros(n))
		if kind == detailSigned && n > 0 {
			shown, exact = "+"+shown, "+"+exact
		}
		det.Value = shown
		if rounded {
			det.Title = exact + " exactly"
		}
	case detailTime:
		t, err := time.Parse(time.RFC3339Nano, v)
		if err != nil {
			break
		}
		det.Value, det.Title = when(t, now), stamp(t)
	case detailCode:
		det.Code = true
	case detailGroup:
		det.Link = "/dashboard/groups/" + v
		if n, ok := groups[v]; ok {
			det.Value, det.Title = n, v
		} else {
			det.Code = true
		}
	case detailLimit:
		if v == "0" {
			det.Value = "no limit"
		} else if n, err := strconv.ParseInt(v, 10, 64); err == nil {
			det.Value = group(n)
		}
	case detailModel:
		if v == "" {
			det.Value = "all models"
		} else {
			det.Code = true
		}
	}
	return det, true
}

// detailLabel makes a label of a key Tollgate does not know: "retry_after"
// → "Retry after".
func detailLabel(k string) string {
	s := strings.ReplaceAll(k, "_", " ")
	if s == "" {
		return "(empty)"
	}
	r, n := utf8.DecodeRuneInString(s)
	return string(unicode.ToUpper(r)) + s[n:]
}
