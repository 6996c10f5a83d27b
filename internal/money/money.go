// Package money is Tollgate's one representation of an amount: integer
// micro-dollars (1 USD = 1,000,000 micros). Floats never hold money: they
// cannot add up cents exactly, and a ledger that is off by one micro-dollar
// no longer balances. Arithmetic is checked, so an absurd amount is an
// error instead of a silent wrap-around.
package money

import (
	"errors"
	"fmt"
	"math"
	"math/bits"
	"strconv"
	"strings"
)

// Micros is an amount in micro-dollars.
type Micros int64

// PerDollar is the number of micros in one US dollar.
const PerDollar Micros = 1_000_000

// Max is the largest amount Tollgate accepts anywhere an operator types one
// (a top-up, a cap, a price): one billion dollars. Sums of many such
// amounts still fit in an int64 with room to spare.
const Max Micros = 1_000_000_000 * PerDollar

// ErrOverflow reports arithmetic whose result does not fit.
var ErrOverflow = errors.New("amount out of range")

// Add returns a+b, or ErrOverflow.
func Add(a, b Micros) (Micros, error) {
	s := a + b
	if (b > 0 && s < a) || (b < 0 && s > a) {
		return 0, ErrOverflow
	}
	return s, nil
}

// MulDiv returns n*m/d rounded up (a partial micro-dollar is charged as a
// whole one, so many tiny requests never add up to free usage), for
// non-negative n and m and positive d, or ErrOverflow.
func MulDiv(n, m, d int64) (Micros, error) {
	if n < 0 || m < 0 || d <= 0 {
		return 0, fmt.Errorf("money: MulDiv(%d, %d, %d): negative operand", n, m, d)
	}
	hi, lo := bits.Mul64(uint64(n), uint64(m))
	if hi >= uint64(d) {
		return 0, ErrOverflow
	}
	q, r := bits.Div64(hi, lo, uint64(d))
	if r != 0 {
		q++
	}
	if q > math.MaxInt64 {
		return 0, ErrOverflow
	}
	return Micros(q), nil
}

// String formats m as dollars with six decimals, e.g. "12.500000".
func (m Micros) String() string { return Format(m) }

// Format renders m as a dollar amount with all six decimals: "-0.000120".
func Format(m Micros) string {
	sign := ""
	u := uint64(m)
	if m < 0 {
		sign, u = "-", uint64(-(m+1))+1
	}
	return fmt.Sprintf("%s%d.%06d", sign, u/1_000_000, u%1_000_000)
}

// Decimal renders m as the shortest exact decimal number of dollars, the
// way Perplexity writes cost fields: 60 micros is "0.00006", 2 dollars is
// "2". It is valid JSON number syntax.
func Decimal(m Micros) string {
	s := Format(m)
	s = strings.TrimRight(s, "0")
	return strings.TrimSuffix(s, ".")
}

// Dollars is an amount that goes on the wire as a JSON number of dollars,
// exactly (Perplexity's usage.cost fields). Inside Tollgate amounts are
// Micros, which encode as integers.
type Dollars Micros

// MarshalJSON writes d as an exact JSON number of dollars.
func (d Dollars) MarshalJSON() ([]byte, error) { return []byte(Decimal(Micros(d))), nil }

// Parse reads a dollar amount as people type it: "12", "12.5", "$0.000001",
// "-3.25". More than six decimals, or more than Max, is an error: an
// amount is never silently rounded.
func Parse(s string) (Micros, error) {
	in := strings.TrimSpace(s)
	neg := false
	if rest, ok := strings.CutPrefix(in, "-"); ok {
		neg, in = true, rest
	}
	in = strings.TrimPrefix(in, "$")
	in = strings.ReplaceAll(in, ",", "")
	whole, frac, hasDot := strings.Cut(in, ".")
	if whole == "" && (!hasDot || frac == "") {
		return 0, fmt.Errorf("%q is not a dollar amount; write it like 12.50", s)
	}
	if len(frac) > 6 {
		return 0, fmt.Errorf("%q has more than six decimals; the smallest amount is 0.000001 (one micro-dollar)", s)
	}
	if !digits(whole) || !digits(frac) {
		return 0, fmt.Errorf("%q is not a dollar amount; write it like 12.50", s)
	}
	var w uint64
	if whole != "" {
		var err error
		if w, err = strconv.ParseUint(whole, 10, 64); err != nil || w > uint64(Max/PerDollar) {
			return 0, fmt.Errorf("%q is larger than the largest amount accepted, %s", s, Decimal(Max))
		}
	}
	var f uint64
	if frac != "" {
		f, _ = strconv.ParseUint(frac+strings.Repeat("0", 6-len(frac)), 10, 64)
	}
	m := Micros(w)*PerDollar + Micros(f)
	if m > Max {
		return 0, fmt.Errorf("%q is larger than the largest amount accepted, %s", s, Decimal(Max))
	}
	if neg {
		m = -m
	}
	return m, nil
}

func digits(s string) bool {
	for _, c := range s {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}
