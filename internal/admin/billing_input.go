package admin

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"strings"

	"github.com/tollgate-dev/tollgate/internal/billing"
	"github.com/tollgate-dev/tollgate/internal/money"
	"github.com/tollgate-dev/tollgate/internal/platform"
)

// billingService returns the billing service, or 503 when the server was
// wired without one.
func (d *Deps) billingService() (*billing.Service, error) {
	if d.Billing == nil {
		return nil, platform.Errorf(platform.KindUnavailable, "billing is not enabled on this server")
	}
	return d.Billing, nil
}

// readAmount reads a money field that a request may send two ways:
// integer micro-dollars in name_micros, or a decimal string of dollars in
// name (parsed exactly by money.Parse, never through a float). Exactly one
// may be present; ok is false when neither is. param is the field that
// carried the amount, so later errors can name what the client sent.
func readAmount(name string, micros, dollars json.RawMessage) (v money.Micros, param string, ok bool, err error) {
	mp := name + "_micros"
	hasM, hasD := present(micros), present(dollars)
	switch {
	case hasM && hasD:
		return 0, mp, false, platform.Invalid(mp, "send %s (integer micro-dollars) or %s (a decimal string of dollars such as \"12.50\"), not both", mp, name)
	case hasM:
		v, err := parseMicros(mp, name, micros)
		return v, mp, true, err
	case hasD:
		var s string
		if err := json.Unmarshal(dollars, &s); err != nil {
			return 0, name, false, platform.Invalid(name, "%s must be a string of dollars such as \"12.50\", not %s; to send an integer of micro-dollars use %s",
				name, strings.TrimSpace(string(dollars)), mp)
		}
		v, err := money.Parse(s)
		if err != nil {
			return 0, name, false, platform.Invalid(name, "%s: %v", name, err)
		}
		return v, name, true, nil
	}
	return 0, mp, false, nil
}

// present reports whether a raw JSON field was sent with a value (null
// counts as absent).
func present(raw json.RawMessage) bool {
	s := strings.TrimSpace(string(raw))
	return s != "" && s != "null"
}

// parseMicros reads an integer of micro-dollars. It refuses strings and
// fractions itself, with messages that say which field to use instead,
// rather than letting a fraction round or a string pass as a number.
func parseMicros(param, decimalName string, raw json.RawMessage) (money.Micros, error) {
	s := strings.TrimSpace(string(raw))
	n, err := strconv.ParseInt(s, 10, 64)
	if err == nil {
		return money.Micros(n), nil
	}
	if errors.Is(err, strconv.ErrRange) {
		return 0, platform.Invalid(param, "%s is out of range; the largest amount accepted is %s dollars (%d micro-dollars)",
			param, money.Decimal(money.Max), int64(money.Max))
	}
	if strings.HasPrefix(s, `"`) {
		return 0, platform.Invalid(param, "%s must be an integer number of micro-dollars (1 USD = 1000000), not a string; to send dollars as a string use %s",
			param, decimalName)
	}
	if s != "" && (s[0] == '-' || s[0] >= '0' && s[0] <= '9') && json.Valid(raw) {
		return 0, platform.Invalid(param, "%s must be a whole number of micro-dollars (1 USD = 1000000), not %s; to send dollars with decimals use %s",
			param, s, decimalName)
	}
	return 0, platform.Invalid(param, "%s must be an integer number of micro-dollars (1 USD = 1000000), not %s; to send dollars as a string use %s",
		param, s, decimalName)
}

// renameParam makes a service error about field from name the field the
// client actually sent (to): the service validates micro-dollars under
// their _micros name, but a client that sent "amount": "-5" should read
// about "amount".
func renameParam(err error, from, to string) error {
	var pe *platform.Error
	if from == to || !errors.As(err, &pe) || pe.Param != from {
		return err
	}
	c := *pe
	c.Param = to
	c.Message = strings.ReplaceAll(c.Message, from, to)
	return &c
}

// notFound is a 404 with a message that says what was not found.
func notFound(format string, args ...any) error {
	return platform.Errorf(platform.KindNotFound, format, args...)
}

// groupFilter resolves an optional group reference in a query: an ID, or
// the name of a live group. An ID that names no live group passes as is,
// so the usage and ledger of a deleted group stay readable.
func (d *Deps) groupFilter(ctx context.Context, p platform.Principal, ref string) (string, error) {
	if ref == "" {
		return "", nil
	}
	g, err := d.findGroup(ctx, p, ref)
	if err == nil {
		return g, nil
	}
	if strings.HasPrefix(ref, platform.PrefixGroup) && platform.ErrorKind(err) == platform.KindNotFound {
		return ref, nil
	}
	return "", err
}

// findGroup resolves a group ID or name to the ID of a live group of the
// caller's organization.
func (d *Deps) findGroup(ctx context.Context, p platform.Principal, ref string) (string, error) {
	gs, err := d.Service.Groups(ctx, p)
	if err != nil {
		return "", err
	}
	for _, g := range gs {
		if g.ID == ref {
			return g.ID, nil
		}
	}
	for _, g := range gs {
		if g.Name == ref {
			return g.ID, nil
		}
	}
	return "", notFound("no group %q in this organization (give a group ID or name; see GET /api/v1/groups)", ref)
}

// scope resolves the {scope}/{scope_id} of a cap or limit path to a scope
// of the caller's organization. A path that names nothing is a 404: an
// unknown scope kind, another organization, a group or key that does not
// exist. Groups may be named by ID or name.
func (d *Deps) scope(ctx context.Context, p platform.Principal, kind, id string) (billing.Scope, error) {
	s := billing.Scope{Kind: billing.ScopeKind(kind), ID: id}
	switch s.Kind {
	case billing.ScopeOrg:
		if id != p.OrgID {
			return s, notFound("organization %q: the org scope takes your organization's ID, %s", id, p.OrgID)
		}
	case billing.ScopeGroup:
		gid, err := d.findGroup(ctx, p, id)
		if err != nil {
			return s, err
		}
		s.ID = gid
	case billing.ScopeKey:
		if _, err := d.Service.Key(ctx, p, id); err != nil {
			if platform.ErrorKind(err) == platform.KindNotFound {
				return s, notFound("no key %q in this organization (see GET /api/v1/keys)", id)
			}
			return s, err
		}
	default:
		return s, notFound("unknown scope %q: the scope is org, group or key", kind)
	}
	return s, nil
}

// writeCSV sends rows (the first one the header) as a CSV attachment.
func writeCSV(w http.ResponseWriter, filename string, rows [][]string) error {
	var b bytes.Buffer
	cw := csv.NewWriter(&b)
	if err := cw.WriteAll(rows); err != nil {
		return err
	}
	w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	w.Header().Set("Content-Disposition", `attachment; filename="`+filename+`"`)
	w.Header().Set("Content-Length", strconv.Itoa(b.Len()))
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(b.Bytes())
	return nil
}

// wantCSV reads the format query parameter: json (the default) or csv.
func wantCSV(r *http.Request) (bool, error) {
	switch f := r.URL.Query().Get("format"); f {
	case "", "json":
		return false, nil
	case "csv":
		return true, nil
	default:
		return false, platform.Invalid("format", "format must be json or csv, not %q", f)
	}
}
