package admin

import (
	"encoding/json"
	"testing"

	"github.com/tollgate-dev/tollgate/internal/money"
	"github.com/tollgate-dev/tollgate/internal/platform"
)

// FuzzReadAmount feeds the amount fields of money-moving requests
// whatever a client may send: an amount is read exactly or refused with an
// invalid-request error naming a field, never a panic or a silent rounding.
func FuzzReadAmount(f *testing.F) {
	for _, seed := range []struct{ micros, dollars string }{
		{"5000000", ""}, {"", `"12.50"`}, {"1.5", ""}, {`"5"`, ""}, {"", "12"}, {"5", `"5"`},
		{"99999999999999999999", ""}, {"-1", ""}, {"", `"-0.000001"`}, {"null", "null"}, {"", `"1e9"`}, {"{}", ""},
	} {
		f.Add(seed.micros, seed.dollars)
	}
	f.Fuzz(func(t *testing.T, micros, dollars string) {
		// The fields come out of a request body already decoded as JSON.
		for _, raw := range []string{micros, dollars} {
			if raw != "" && !json.Valid([]byte(raw)) {
				t.Skip()
			}
		}
		v, param, ok, err := readAmount("amount", json.RawMessage(micros), json.RawMessage(dollars))
		if err != nil {
			if platform.ErrorKind(err) != platform.KindInvalid || platform.ErrorParam(err) == "" {
				t.Fatalf("readAmount(%q, %q) error %v is not an invalid-request error naming a field", micros, dollars, err)
			}
			return
		}
		if !ok {
			if v != 0 {
				t.Fatalf("no amount but value %d", v)
			}
			return
		}
		switch param {
		case "amount":
			var s string
			if json.Unmarshal([]byte(dollars), &s) != nil {
				t.Fatalf("accepted non-string dollars %q", dollars)
			}
			if want, perr := money.Parse(s); perr != nil || want != v {
				t.Fatalf("dollars %q read as %d, money.Parse says %d, %v", dollars, v, want, perr)
			}
		case "amount_micros":
			var n int64
			if json.Unmarshal([]byte(micros), &n) != nil || money.Micros(n) != v {
				t.Fatalf("micros %q read as %d", micros, v)
			}
		default:
			t.Fatalf("param %q", param)
		}
	})
}
