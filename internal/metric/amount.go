package metric

import (
	"fmt"
	"math"
	"math/big"
	"regexp"
	"strconv"
	"strings"
)

// Amount is money in cents (minor units), as the store keeps lead amounts
// (lead.Cents): sums of cents are exact, sums of floats are not.
//
// In JSON and CSV an amount is a plain number in the currency's major units
// with at most two decimals — 1250000 for 1,250,000.00 and 1250.5 for
// 1,250.50 — the same form API.md uses for a lead's amount, so a figure
// and the leads it sums read alike. The currency is the tenant's.
type Amount int64

// String writes the amount in major units, dropping trailing zero decimals:
// "1250000", "1250.5", "0.05", "-3".
func (a Amount) String() string {
	sign := ""
	u := uint64(a)
	if a < 0 {
		sign, u = "-", uint64(-a) // -MinInt64 wraps to itself, which uint64 reads right
	}
	s := fmt.Sprintf("%s%d.%02d", sign, u/100, u%100)
	s = strings.TrimSuffix(s, "0")
	s = strings.TrimSuffix(s, ".0")
	return strings.TrimSuffix(s, ".")
}

// MarshalJSON writes the amount as a JSON number in major units.
func (a Amount) MarshalJSON() ([]byte, error) { return []byte(a.String()), nil }

var amountRE = regexp.MustCompile(`^-?\d{1,16}(\.\d{1,2})?$`)

// UnmarshalJSON reads a number in major units exactly (no float on the way),
// for Go clients of the API and for tests.
func (a *Amount) UnmarshalJSON(b []byte) error {
	s := string(b)
	if !amountRE.MatchString(s) {
		return fmt.Errorf("amount %s: want a number with at most two decimals", s)
	}
	neg := strings.HasPrefix(s, "-")
	whole, frac, _ := strings.Cut(strings.TrimPrefix(s, "-"), ".")
	frac = (frac + "00")[:2]
	n, err := strconv.ParseInt(whole+frac, 10, 64)
	if err != nil {
		return fmt.Errorf("amount %s: %w", s, err)
	}
	if neg {
		n = -n
	}
	*a = Amount(n)
	return nil
}

// Major is the amount in major units as a float, for charts only; figures
// are computed on cents.
func (a Amount) Major() float64 { return float64(a) / 100 }

// roundCents rounds a fractional number of cents half away from zero, the
// way people round money.
func roundCents(c float64) Amount { return Amount(math.Round(c)) }

// roundRat rounds an exact fraction of cents half away from zero.
func roundRat(r *big.Rat) int64 {
	num, den := new(big.Int).Set(r.Num()), r.Denom() // Denom is positive
	neg := num.Sign() < 0
	num.Abs(num)
	// ⌊(2·num + den) / (2·den)⌋ is num/den rounded half up.
	q := new(big.Int).Div(new(big.Int).Add(new(big.Int).Lsh(num, 1), den), new(big.Int).Lsh(den, 1))
	if neg {
		q.Neg(q)
	}
	return q.Int64()
}
