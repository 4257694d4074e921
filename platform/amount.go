package platform

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/shopspring/decimal"

	settle "github.com/settle-agent/settle-agent"
)

// Wire number types. The platform spec declares amounts decimal(16,2), quantities
// decimal(16,4) and unit prices decimal(16,6). Provinces send them as JSON numbers or as
// strings; these types accept both, exactly (never through float64), and write plain
// JSON numbers with a fixed shape. A value with more places than its type holds, an
// exponent, a sign other than a leading '-', or anything that is not a plain decimal is
// refused: the message is then a bad response, not a guess.

// Amount is a money amount on the wire, in fen (0.01 yuan). It marshals as a JSON number
// with exactly two places (25 fen -> 0.25, 2500 -> 25.00).
type Amount int64

// Cnt is a quantity on the wire in 1/10000 units; it marshals as a JSON number with the
// places it needs, at most four (2, 2.5, 0.0001).
type Cnt int64

// Pric is a unit price on the wire in 1/1000000 yuan; it marshals as a JSON number with
// at least two and at most six places (12.00, 0.123456).
type Pric int64

// AmountOf converts a domain amount to its wire form.
func AmountOf(m settle.Money) Amount { return Amount(m) }

// Money converts a wire amount to the domain type.
func (a Amount) Money() settle.Money { return settle.Money(a) }

// String formats a with exactly two places.
func (a Amount) String() string { return settle.Money(a).String() }

// MarshalJSON writes a as a JSON number with exactly two places.
func (a Amount) MarshalJSON() ([]byte, error) { return []byte(a.String()), nil }

// UnmarshalJSON accepts a JSON number or string holding a plain decimal with at most two
// places. JSON null leaves a unchanged.
func (a *Amount) UnmarshalJSON(b []byte) error {
	s, null, err := numberText(b, "amount")
	if err != nil || null {
		return err
	}
	m, err := settle.ParseMoney(trimZeros(s, 2))
	if err != nil {
		return fmt.Errorf("amount: %w", err)
	}
	*a = Amount(m)
	return nil
}

// CntOf converts a domain quantity to its wire form.
func CntOf(q settle.Qty) Cnt { return Cnt(q) }

// Qty converts a wire quantity to the domain type.
func (c Cnt) Qty() settle.Qty { return settle.Qty(c) }

// String formats c with the places it needs (at most four).
func (c Cnt) String() string { return settle.Qty(c).String() }

// MarshalJSON writes c as a JSON number.
func (c Cnt) MarshalJSON() ([]byte, error) { return []byte(c.String()), nil }

// UnmarshalJSON accepts a JSON number or string with at most four places.
func (c *Cnt) UnmarshalJSON(b []byte) error {
	s, null, err := numberText(b, "cnt")
	if err != nil || null {
		return err
	}
	q, err := settle.ParseQty(trimZeros(s, 4))
	if err != nil {
		return fmt.Errorf("cnt: %w", err)
	}
	*c = Cnt(q)
	return nil
}

// PricOf converts a domain unit price to its wire form.
func PricOf(p settle.Price) Pric { return Pric(p) }

// Price converts a wire unit price to the domain type.
func (p Pric) Price() settle.Price { return settle.Price(p) }

// String formats p with the places it needs (at least two, at most six).
func (p Pric) String() string { return settle.Price(p).String() }

// MarshalJSON writes p as a JSON number.
func (p Pric) MarshalJSON() ([]byte, error) { return []byte(p.String()), nil }

// UnmarshalJSON accepts a JSON number or string with at most six places.
func (p *Pric) UnmarshalJSON(b []byte) error {
	s, null, err := numberText(b, "pric")
	if err != nil || null {
		return err
	}
	v, err := settle.ParsePrice(trimZeros(s, 6))
	if err != nil {
		return fmt.Errorf("pric: %w", err)
	}
	*p = Pric(v)
	return nil
}

// ratioPlaces bounds the places a Ratio may carry (the spec's ratios are decimal(5,4);
// a little room is left for provinces that send more).
const ratioPlaces = 8

// Ratio is a proportion such as selfpay_prop or pool_prop_selfpay ("0.1", 0.15). It wraps
// an exact decimal; the zero value is 0. It marshals as a JSON number.
type Ratio struct {
	decimal.Decimal
}

// RatioOf wraps d.
func RatioOf(d decimal.Decimal) Ratio { return Ratio{d} }

// ParseRatio parses a plain decimal ("0.15", "1") with at most eight places.
func ParseRatio(s string) (Ratio, error) {
	if s == "" || len(s) > 32 || strings.ContainsAny(s, "eE+ _") || !plainDecimal(s) {
		return Ratio{}, fmt.Errorf("ratio %q: %w", clip(s), settle.ErrDecimal)
	}
	d, err := decimal.NewFromString(s)
	if err != nil {
		return Ratio{}, fmt.Errorf("ratio %q: %w", clip(s), settle.ErrDecimal)
	}
	if -d.Exponent() > ratioPlaces && !d.Equal(d.Round(ratioPlaces)) {
		return Ratio{}, fmt.Errorf("ratio %q has more than %d places: %w", clip(s), ratioPlaces, settle.ErrDecimal)
	}
	return Ratio{d}, nil
}

// String formats r without an exponent ("0.15", "0").
func (r Ratio) String() string { return r.Decimal.String() }

// MarshalJSON writes r as a JSON number.
func (r Ratio) MarshalJSON() ([]byte, error) { return []byte(r.String()), nil }

// UnmarshalJSON accepts a JSON number or string holding a plain decimal.
func (r *Ratio) UnmarshalJSON(b []byte) error {
	s, null, err := numberText(b, "ratio")
	if err != nil || null {
		return err
	}
	v, err := ParseRatio(s)
	if err != nil {
		return err
	}
	*r = v
	return nil
}

// MarshalText writes r as a plain decimal (TOML, CSV, form values).
func (r Ratio) MarshalText() ([]byte, error) { return []byte(r.String()), nil }

// UnmarshalText parses a plain decimal, as ParseRatio does (no exponent).
func (r *Ratio) UnmarshalText(b []byte) error {
	v, err := ParseRatio(string(b))
	if err != nil {
		return err
	}
	*r = v
	return nil
}

// numberText returns the decimal text of a JSON number or string token. null reports a
// JSON null (the field then keeps its value, as encoding/json does for every type).
func numberText(b []byte, what string) (s string, null bool, err error) {
	t := strings.TrimSpace(string(b))
	switch {
	case t == "null":
		return "", true, nil
	case t == "":
		return "", false, fmt.Errorf("%s: empty: %w", what, settle.ErrDecimal)
	case t[0] == '"':
		if err := json.Unmarshal([]byte(t), &s); err != nil {
			return "", false, fmt.Errorf("%s: %w", what, err)
		}
		if !plainDecimal(s) {
			return "", false, fmt.Errorf("%s %q: %w", what, clip(s), settle.ErrDecimal)
		}
		return s, false, nil
	case t[0] == '-' || t[0] >= '0' && t[0] <= '9':
		if !plainDecimal(t) {
			return "", false, fmt.Errorf("%s %s: %w", what, clip(t), settle.ErrDecimal)
		}
		return t, false, nil
	}
	return "", false, fmt.Errorf("%s must be a decimal number such as 25.00, got %s: %w", what, clip(t), settle.ErrDecimal)
}

// trimZeros drops trailing zeros beyond places decimal places ("12.3400" -> "12.34" for
// two places): the value is exactly the same, so it is accepted; a non-zero digit beyond
// places is kept and refused by the parser.
func trimZeros(s string, places int) string {
	i := strings.IndexByte(s, '.')
	if i < 0 || len(s)-i-1 <= places {
		return s
	}
	t := strings.TrimRight(s, "0")
	if len(t)-i-1 > places {
		return s
	}
	if strings.HasSuffix(t, ".") {
		t = t[:len(t)-1]
	}
	return t
}

// plainDecimal reports whether s is -?digits(.digits)? with nothing else in it.
func plainDecimal(s string) bool {
	s = strings.TrimPrefix(s, "-")
	intPart, frac, dot := strings.Cut(s, ".")
	if intPart == "" || dot && frac == "" {
		return false
	}
	for _, part := range []string{intPart, frac} {
		for i := 0; i < len(part); i++ {
			if part[i] < '0' || part[i] > '9' {
				return false
			}
		}
	}
	return true
}

func clip(s string) string {
	if len(s) <= 32 {
		return s
	}
	return s[:32] + "…"
}
