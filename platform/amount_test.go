package platform

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"

	settle "github.com/settle-agent/settle-agent"
)

func TestAmount_UnmarshalJSON(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want Amount
	}{
		{`25`, 2500},
		{`25.5`, 2550},
		{`25.00`, 2500},
		{`"25.00"`, 2500},
		{`"25"`, 2500},
		{`0.01`, 1},
		{`-1.20`, -120},
		{`"-0.05"`, -5},
		{`25.500`, 2550}, // trailing zeros keep the value exact
		{`99999999999999.99`, 9999999999999999},
	} {
		var a Amount
		if err := json.Unmarshal([]byte(tc.in), &a); err != nil {
			t.Errorf("Unmarshal(%s): %v", tc.in, err)
			continue
		}
		if a != tc.want {
			t.Errorf("Unmarshal(%s) = %d; want %d", tc.in, a, tc.want)
		}
	}
}

func TestAmount_UnmarshalJSON_Refused(t *testing.T) {
	for _, in := range []string{
		`25.001`, `"0.005"`, // more than two places
		`2.5e1`, `"2.5E1"`, `1e400`, // exponent
		`"NaN"`, `"Infinity"`, `"-Inf"`, `"0x10"`, // NaN-ish, hex
		`""`, `" 25"`, `"25 "`, `"+5"`, `"25."`, `".5"`, `"-.5"`, `"1,000.00"`, `"１２"`,
		`true`, `{}`, `[]`, `"25.00"x`,
		`123456789012345678`, // out of range
	} {
		a := Amount(7)
		err := json.Unmarshal([]byte(in), &a)
		if err == nil {
			t.Errorf("Unmarshal(%s) = %d, nil; want an error", in, a)
			continue
		}
		if a != 7 {
			t.Errorf("Unmarshal(%s) changed the value to %d on error", in, a)
		}
	}
}

func TestAmount_UnmarshalJSON_Null(t *testing.T) {
	a := Amount(7)
	if err := json.Unmarshal([]byte(`null`), &a); err != nil || a != 7 {
		t.Fatalf("Unmarshal(null) = %d, %v; want 7, nil", a, err)
	}
}

func TestAmount_ErrDecimal(t *testing.T) {
	var a Amount
	err := a.UnmarshalJSON([]byte(`1.001`))
	if !errors.Is(err, settle.ErrDecimal) {
		t.Fatalf("got %v; want settle.ErrDecimal", err)
	}
}

func TestWireNumbers_MarshalJSON(t *testing.T) {
	for _, tc := range []struct {
		v    any
		want string
	}{
		{Amount(25), `0.25`},
		{Amount(2500), `25.00`},
		{Amount(0), `0.00`},
		{Amount(-120), `-1.20`},
		{Cnt(20000), `2`},
		{Cnt(25000), `2.5`},
		{Cnt(1), `0.0001`},
		{Pric(12000000), `12.00`},
		{Pric(123456), `0.123456`},
		{Pric(1500000), `1.50`},
		{MustRatioForTest("0.15"), `0.15`},
		{Ratio{}, `0`},
	} {
		b, err := json.Marshal(tc.v)
		if err != nil {
			t.Fatalf("Marshal(%#v): %v", tc.v, err)
		}
		if string(b) != tc.want {
			t.Errorf("Marshal(%T %v) = %s; want %s", tc.v, tc.v, b, tc.want)
		}
	}
}

func MustRatioForTest(s string) Ratio {
	r, err := ParseRatio(s)
	if err != nil {
		panic(err)
	}
	return r
}

func TestCntPric_Places(t *testing.T) {
	var c Cnt
	if err := json.Unmarshal([]byte(`1.2345`), &c); err != nil || c != 12345 {
		t.Errorf("Cnt 1.2345 = %d, %v; want 12345", c, err)
	}
	if err := json.Unmarshal([]byte(`1.23456`), &c); err == nil {
		t.Errorf("Cnt 1.23456 accepted as %d; want an error", c)
	}
	var p Pric
	if err := json.Unmarshal([]byte(`"1.234567"`), &p); err != nil || p != 1234567 {
		t.Errorf("Pric 1.234567 = %d, %v; want 1234567", p, err)
	}
	if err := json.Unmarshal([]byte(`1.2345678`), &p); err == nil {
		t.Errorf("Pric 1.2345678 accepted as %d; want an error", p)
	}
}

func TestRatio_UnmarshalJSON(t *testing.T) {
	for in, want := range map[string]string{`0.15`: "0.15", `"0.1"`: "0.1", `1`: "1", `"0"`: "0"} {
		var r Ratio
		if err := json.Unmarshal([]byte(in), &r); err != nil || r.String() != want {
			t.Errorf("Ratio %s = %s, %v; want %s", in, r, err, want)
		}
	}
	for _, in := range []string{`1e-1`, `"NaN"`, `"abc"`, `0.123456789`, `true`, `""`} {
		var r Ratio
		if err := json.Unmarshal([]byte(in), &r); err == nil {
			t.Errorf("Ratio %s accepted as %s; want an error", in, r)
		}
	}
}

func TestRatio_Text(t *testing.T) {
	var r Ratio
	if err := r.UnmarshalText([]byte("0.85")); err != nil || r.String() != "0.85" {
		t.Errorf("UnmarshalText(0.85) = %s, %v", r, err)
	}
	if err := r.UnmarshalText([]byte("8.5e-1")); err == nil {
		t.Errorf("UnmarshalText(8.5e-1) accepted as %s; want an error", r)
	}
	if b, _ := r.MarshalText(); string(b) != "0.85" {
		t.Errorf("MarshalText = %s; want 0.85", b)
	}
}

func TestAmount_Conversions(t *testing.T) {
	m := settle.MustMoney("12.34")
	if got := AmountOf(m).Money(); got != m {
		t.Errorf("AmountOf(%s).Money() = %s", m, got)
	}
	q, _ := settle.ParseQty("1.5")
	if got := CntOf(q).Qty(); got != q {
		t.Errorf("CntOf(%s).Qty() = %s", q, got)
	}
	p, _ := settle.ParsePrice("0.125")
	if got := PricOf(p).Price(); got != p {
		t.Errorf("PricOf(%s).Price() = %s", p, got)
	}
}

// fuzzNumber checks the property every wire number keeps: whatever it accepts, it
// writes back as a plain decimal that reads back to the same value.
func fuzzNumber[T any, P interface {
	*T
	json.Unmarshaler
}](t *testing.T, in []byte, places int) {
	var v T
	if err := P(&v).UnmarshalJSON(in); err != nil {
		return
	}
	out, err := json.Marshal(v)
	if err != nil {
		t.Fatalf("Marshal after Unmarshal(%q): %v", in, err)
	}
	if strings.ContainsAny(string(out), "eE+\"") {
		t.Fatalf("Unmarshal(%q) then Marshal = %s; want a plain number", in, out)
	}
	if _, frac, ok := strings.Cut(string(out), "."); ok && len(frac) > places {
		t.Fatalf("Marshal = %s; more than %d places", out, places)
	}
	var back T
	if err := P(&back).UnmarshalJSON(out); err != nil {
		t.Fatalf("Unmarshal(Marshal) of %s: %v", out, err)
	}
	if any(back) != any(v) {
		t.Fatalf("round trip of %q: %v -> %s -> %v", in, v, out, back)
	}
}

func addNumberSeeds(f *testing.F) {
	for _, s := range []string{`25`, `25.5`, `"25.00"`, `-0.01`, `1.2345`, `0.123456`, `2.5e1`, `"NaN"`, `null`, `"1."`, `99999999999999.99`} {
		f.Add([]byte(s))
	}
}

func FuzzAmountUnmarshal(f *testing.F) {
	addNumberSeeds(f)
	f.Fuzz(func(t *testing.T, in []byte) { fuzzNumber[Amount](t, in, 2) })
}

func FuzzCntUnmarshal(f *testing.F) {
	addNumberSeeds(f)
	f.Fuzz(func(t *testing.T, in []byte) { fuzzNumber[Cnt](t, in, 4) })
}

func FuzzPricUnmarshal(f *testing.F) {
	addNumberSeeds(f)
	f.Fuzz(func(t *testing.T, in []byte) { fuzzNumber[Pric](t, in, 6) })
}
