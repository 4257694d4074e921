package settle

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strings"

	"github.com/shopspring/decimal"
)

// Money is an amount of yuan held as integer fen (0.01 yuan). It is never a
// float: in JSON it is a decimal string with two places ("25.00").
type Money int64

// Qty is a quantity with up to four decimal places, held as 1/10000 units.
type Qty int64

// Price is a unit price with up to six decimal places, held as 1/1000000 yuan.
type Price int64

const (
	moneyPlaces = 2
	qtyPlaces   = 4
	pricePlaces = 6
)

// ParseMoney parses a decimal string with at most two places ("25", "25.5", "25.00").
func ParseMoney(s string) (Money, error) {
	v, err := parseFixed(s, moneyPlaces)
	return Money(v), err
}

// ParseInputMoney is ParseMoney for an amount the hospital sends (the API, HL7, the
// drop folder): a negative zero such as "-0.00" is refused, as no cashier system
// writes zero so. (The platform's answers are read with ParseMoney: they may.)
func ParseInputMoney(s string) (Money, error) {
	m, err := ParseMoney(s)
	if err == nil && m == 0 && strings.HasPrefix(s, "-") {
		return 0, fmt.Errorf("%q is a negative zero; write 0.00: %w", s, ErrDecimal)
	}
	return m, err
}

// MustMoney is ParseMoney for constants in code and tests; it panics on a bad string.
func MustMoney(s string) Money {
	m, err := ParseMoney(s)
	if err != nil {
		panic(err)
	}
	return m
}

// ParseQty parses a decimal string with at most four places.
func ParseQty(s string) (Qty, error) {
	v, err := parseFixed(s, qtyPlaces)
	return Qty(v), err
}

// ParsePrice parses a decimal string with at most six places.
func ParsePrice(s string) (Price, error) {
	v, err := parseFixed(s, pricePlaces)
	return Price(v), err
}

// String formats m with exactly two places.
func (m Money) String() string { return formatFixed(int64(m), moneyPlaces, moneyPlaces) }

// String formats q with the places it needs (at most four).
func (q Qty) String() string { return formatFixed(int64(q), qtyPlaces, 0) }

// String formats p with the places it needs, at least two (at most six).
func (p Price) String() string { return formatFixed(int64(p), pricePlaces, 2) }

// Decimal returns m as an exact decimal.
func (m Money) Decimal() decimal.Decimal { return decimal.New(int64(m), -moneyPlaces) }

// Decimal returns q as an exact decimal.
func (q Qty) Decimal() decimal.Decimal { return decimal.New(int64(q), -qtyPlaces) }

// Decimal returns p as an exact decimal.
func (p Price) Decimal() decimal.Decimal { return decimal.New(int64(p), -pricePlaces) }

// Bounds of Money: arithmetic that would leave them saturates (the unchecked
// functions) or fails with ErrOverflow (the checked ones); it never wraps.
const (
	MaxMoney = Money(math.MaxInt64)
	MinMoney = Money(math.MinInt64)
)

// MoneyFromDecimalChecked rounds d half-up (away from zero) to 0.01, or returns an
// error wrapping ErrOverflow when the result does not fit in Money.
func MoneyFromDecimalChecked(d decimal.Decimal) (Money, error) {
	bi := d.Round(moneyPlaces).Shift(moneyPlaces).BigInt()
	if !bi.IsInt64() {
		return 0, fmt.Errorf("%s yuan: %w", truncate(d.String(), 40), ErrOverflow)
	}
	return Money(bi.Int64()), nil
}

// MoneyFromDecimal rounds d half-up (away from zero) to 0.01. A value beyond Money's
// range saturates to MaxMoney or MinMoney (never wraps); use MoneyFromDecimalChecked
// where input decides the value.
func MoneyFromDecimal(d decimal.Decimal) Money {
	m, err := MoneyFromDecimalChecked(d)
	if err != nil {
		if d.Sign() < 0 {
			return MinMoney
		}
		return MaxMoney
	}
	return m
}

// LineAmountChecked is qty × unit price rounded half-up to 0.01, the rule every bill
// line keeps, or an error wrapping ErrOverflow when the product does not fit in Money.
// The product is computed exactly (no 64-bit intermediate).
func LineAmountChecked(q Qty, p Price) (Money, error) {
	m, err := MoneyFromDecimalChecked(q.Decimal().Mul(p.Decimal()))
	if err != nil {
		return 0, fmt.Errorf("qty %s × unit_price %s: %w", q, p, ErrOverflow)
	}
	return m, nil
}

// LineAmount is LineAmountChecked saturating instead of failing: a product too large
// for Money is MaxMoney (or MinMoney), which no stated amount equals, so a comparison
// with it fails instead of matching a wrapped value.
func LineAmount(q Qty, p Price) Money {
	return MoneyFromDecimal(q.Decimal().Mul(p.Decimal()))
}

// MulRatio returns m × ratio rounded half-up to 0.01 (ratio such as "0.85"),
// saturating at MaxMoney/MinMoney.
func (m Money) MulRatio(ratio decimal.Decimal) Money {
	return MoneyFromDecimal(m.Decimal().Mul(ratio))
}

// AddChecked returns m + n, or an error wrapping ErrOverflow when the sum does not fit.
func (m Money) AddChecked(n Money) (Money, error) {
	sum := m + n // Go's signed addition wraps; the wrap is detected below
	// Signed overflow: both operands have the same sign and the sum's sign differs.
	if (m >= 0) == (n >= 0) && (sum >= 0) != (m >= 0) {
		return 0, fmt.Errorf("%s + %s: %w", m, n, ErrOverflow)
	}
	return sum, nil
}

// MarshalJSON writes m as a decimal string.
func (m Money) MarshalJSON() ([]byte, error) { return []byte(`"` + m.String() + `"`), nil }

// UnmarshalJSON accepts only a decimal string: a JSON number is refused so that no
// float ever carries money.
func (m *Money) UnmarshalJSON(b []byte) error {
	v, err := unmarshalFixed(b, moneyPlaces, "money")
	if err == nil && v == 0 && bytes.HasPrefix(b, []byte(`"-`)) {
		err = fmt.Errorf("money %s is a negative zero; write \"0.00\": %w", b, ErrDecimal)
	}
	*m = Money(v)
	return err
}

// MarshalJSON writes q as a decimal string.
func (q Qty) MarshalJSON() ([]byte, error) { return []byte(`"` + q.String() + `"`), nil }

// UnmarshalJSON accepts only a decimal string.
func (q *Qty) UnmarshalJSON(b []byte) error {
	v, err := unmarshalFixed(b, qtyPlaces, "quantity")
	*q = Qty(v)
	return err
}

// MarshalJSON writes p as a decimal string.
func (p Price) MarshalJSON() ([]byte, error) { return []byte(`"` + p.String() + `"`), nil }

// UnmarshalJSON accepts only a decimal string.
func (p *Price) UnmarshalJSON(b []byte) error {
	v, err := unmarshalFixed(b, pricePlaces, "price")
	*p = Price(v)
	return err
}

// ErrDecimal is returned for a string that is not a plain decimal with the allowed places.
var ErrDecimal = errors.New("not a decimal")

func unmarshalFixed(b []byte, places int, what string) (int64, error) {
	if len(b) == 0 || b[0] != '"' {
		raw := truncate(string(b), 32)
		if _, err := decimal.NewFromString(raw); err == nil {
			// A JSON number: say what to send instead, in quotes.
			return 0, fmt.Errorf("%s is the JSON number %s; send it as a string: \"%s\": %w", what, raw, raw, ErrDecimal)
		}
		return 0, fmt.Errorf("%s is %s; send a decimal string such as \"25.00\": %w", what, raw, ErrDecimal)
	}
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return 0, fmt.Errorf("%s: %w", what, err)
	}
	return parseFixed(s, places)
}

// parseFixed parses a plain decimal (no exponent, no spaces) with at most places
// decimal places into an integer scaled by 10^places. The arithmetic is done by
// shopspring/decimal; this function only enforces the shape money must have.
func parseFixed(s string, places int) (int64, error) {
	if s == "" || len(s) > 32 || strings.ContainsAny(s, "eE+ _") {
		return 0, fmt.Errorf("%q: %w", truncate(s, 32), ErrDecimal)
	}
	if i := strings.IndexByte(s, '.'); i >= 0 && (i == len(s)-1 || i == 0 || s[0] == '-' && i == 1) {
		return 0, fmt.Errorf("%q: %w", s, ErrDecimal)
	}
	d, err := decimal.NewFromString(s)
	if err != nil {
		return 0, fmt.Errorf("%q: %w", s, ErrDecimal)
	}
	if -d.Exponent() > int32(places) && !d.Equal(d.Round(int32(places))) {
		return 0, fmt.Errorf("%q has more than %d decimal places: %w", s, places, ErrDecimal)
	}
	scaled := d.Shift(int32(places))
	if !scaled.IsInteger() || scaled.Abs().GreaterThan(decimal.New(1, 17)) {
		return 0, fmt.Errorf("%q is out of range: %w", s, ErrDecimal)
	}
	return scaled.IntPart(), nil
}

func formatFixed(v int64, places, minPlaces int) string {
	d := decimal.New(v, -int32(places))
	s := d.StringFixed(int32(places))
	if minPlaces < places {
		s = strings.TrimRight(s, "0")
		if dot := strings.IndexByte(s, '.'); dot >= 0 {
			for len(s)-dot-1 < minPlaces {
				s += "0"
			}
			s = strings.TrimSuffix(s, ".")
		}
	}
	return s
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

// MarshalText writes m as a decimal string (TOML, CSV, form values).
func (m Money) MarshalText() ([]byte, error) { return []byte(m.String()), nil }

// UnmarshalText parses a decimal string with at most two places.
func (m *Money) UnmarshalText(b []byte) error {
	v, err := ParseMoney(string(b))
	*m = v
	return err
}

// StandingCash is the patient's own cash share of the settlement that stands at the
// platform, against which what was collected offline is judged: the settlement's
// psn_cash_pay while it stands; 0 once it is cancelled, or when the bill was cancelled
// before it settled (nothing stands: all of it goes back). known is false while the
// bill still waits for the platform (nothing to judge yet). The one rule for
// workflow.DifferenceOf and the reconciliation.
func StandingCash(s *Split, settlementCancelled, billCancelled bool) (own Money, known bool) {
	switch {
	case s != nil && !settlementCancelled:
		return s.PsnCashPay, true
	case settlementCancelled || billCancelled:
		return 0, true
	}
	return 0, false
}

// Owed splits what was collected against what the patient really owes (own) into the
// refund the patient gets back or the amount still due: refund − due = collected − own,
// one of them 0.
func Owed(collected, own Money) (refund, due Money) {
	if d := collected - own; d > 0 {
		return d, 0
	}
	return 0, own - collected
}
