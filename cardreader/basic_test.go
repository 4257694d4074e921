package cardreader

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/settle-agent/settle-agent"
)

const goodBasic = "330100|330106199007074565|A33010001|330100D156000005A1B2C3D4E5F60001|王小明|3B6D00000086384A5443303103|3.00|20200101|20351231|SIM00001|SIMDEV01|"

// basicWith returns goodBasic with field i replaced by v.
func basicWith(i int, v string) string {
	f := strings.Split(goodBasic, "|")
	f[i] = v
	return strings.Join(f, "|")
}

// basicCases are basic-information strings ParseBasic is shown; results are in
// testdata/parse_basic.golden.
var basicCases = []parseCase{
	{"good", goodBasic, nil},
	{"no trailing bar", strings.TrimSuffix(goodBasic, "|"), nil},
	{"lowercase x check", basicWith(1, "11010519491231002x"), nil},
	{"spaces around fields", basicWith(4, " 王小明 "), nil},
	{"empty", "", ErrBadBasic},
	{"ten fields", strings.Join(strings.Split(goodBasic, "|")[:10], "|"), ErrBadBasic},
	{"twelve fields", goodBasic + "extra|", ErrBadBasic},
	{"two trailing bars", goodBasic + "|", ErrBadBasic},
	{"control char", basicWith(4, "王\x07明"), ErrBadBasic},
	{"region 5 digits", basicWith(0, "33010"), ErrBadRegion},
	{"region letters", basicWith(0, "33A100"), ErrBadRegion},
	{"id bad check digit", basicWith(1, "330106199007074566"), ErrBadIDNumber},
	{"id 15 digits", basicWith(1, "330106900707456"), ErrBadIDNumber},
	{"id bad birth date", basicWith(1, "330106199002304560"), ErrBadIDNumber},
	{"no card number", basicWith(2, ""), ErrBadBasic},
	{"no name", basicWith(4, ""), ErrBadBasic},
	{"issue date Feb 30", basicWith(7, "20200230"), ErrBadDate},
	{"expiry not a date", basicWith(8, "长期"), ErrBadDate},
	{"issued after expiry", basicWith(7, "20360101"), ErrBadDate},
}

func TestParseBasic_Golden(t *testing.T) {
	checkParseGolden(t, "parse_basic.golden", basicCases, ParseBasic, func(settle.Card) string { return "" })
}

func TestParseBasic_Fields(t *testing.T) {
	c, err := ParseBasic(goodBasic)
	if err != nil {
		t.Fatal(err)
	}
	want := DemoCards()[0]
	if c != want {
		t.Errorf("got %+v; want %+v", c, want)
	}
	if p := c.Patient(); p.MdtrtCertType != settle.CertSSCard || p.MdtrtCertNo != "A33010001" || p.CardSN != want.CardSN {
		t.Errorf("got patient %+v; want cert type 03, card number and card_sn", p)
	}
}

func TestBasicString_RoundTrip(t *testing.T) {
	for i, c := range DemoCards() {
		got, err := ParseBasic(BasicString(c))
		if err != nil {
			t.Fatalf("demo card %d: %v", i+1, err)
		}
		if got != c {
			t.Errorf("demo card %d: got %+v; want %+v", i+1, got, c)
		}
		if err := CheckCard(got, time.Date(2026, 11, 24, 9, 0, 0, 0, time.UTC)); err != nil {
			t.Errorf("demo card %d: %v", i+1, err)
		}
	}
}

func TestValidIDNumber(t *testing.T) {
	cases := []struct {
		in   string
		want bool
	}{
		{"11010519491231002X", true},
		{"11010519491231002x", true},
		{"330106199007074565", true},
		{"440305197511207890", true},
		{"510107200002290360", true}, // 2000-02-29 exists
		{"330106199007074566", false},
		{"11010519491231002Y", false},
		{"110105194912310021", false},
		{"510107190002290366", false}, // 1900-02-29 does not
		{"11010518991231002X", false}, // before 1900
		{"1101051949123100", false},
		{"", false},
		{"1101051949123100２X", false},
	}
	for _, c := range cases {
		if got := ValidIDNumber(c.in); got != c.want {
			t.Errorf("ValidIDNumber(%q) = %v; want %v", c.in, got, c.want)
		}
	}
}

func TestCheckCard(t *testing.T) {
	card := DemoCards()[0] // 20200101 .. 20351231
	day := func(y int, m time.Month, d int) time.Time { return time.Date(y, m, d, 23, 59, 0, 0, time.UTC) }
	cases := []struct {
		name string
		now  time.Time
		want error
	}{
		{"in the middle", day(2026, 11, 24), nil},
		{"on the expiry date", day(2035, 12, 31), nil},
		{"the day after expiry", day(2036, 1, 1), ErrCardExpired},
		{"on the issue date", day(2020, 1, 1), nil},
		{"before the issue date", day(2019, 12, 31), ErrBadDate},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := CheckCard(card, c.now)
			if c.want == nil && err != nil || c.want != nil && !errors.Is(err, c.want) {
				t.Errorf("got %v; want %v", err, c.want)
			}
		})
	}
	t.Run("EVoucherHasNoDates", func(t *testing.T) {
		if err := CheckCard(settle.Card{CertType: settle.CertEVoucher, CardNo: "x"}, day(2026, 1, 1)); err != nil {
			t.Errorf("got %v; want nil", err)
		}
	})
}

// TestErrorMessages keeps every message a cashier can see actionable: it names what
// to do next.
func TestErrorMessages(t *testing.T) {
	cases := map[error]string{
		ErrBadBasic:       "insert it again",
		ErrBadIDNumber:    "ask for the patient's ID card or e-voucher",
		ErrBadRegion:      "ask for the patient's e-voucher",
		ErrBadDate:        "ask for the patient's e-voucher",
		ErrCardExpired:    "renew it at the social security office",
		ErrBadLine:        "scan it again",
		ErrLineTooLong:    "scan the e-voucher QR code again",
		ErrNoReply:        "check its cable",
		ErrNotConnected:   "check its cable",
		ErrNotFrameReader: "scan the code instead",
		ErrPTYUnsupported: "com0com",
	}
	for err, want := range cases {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("%q does not say %q", err, want)
		}
	}
	// The masked number in a wrapped message never shows the middle digits.
	_, err := ParseBasic(basicWith(1, "330106199007074566"))
	if err == nil || strings.Contains(err.Error(), "330106199007074566") {
		t.Errorf("got %v; want the number masked", err)
	}
}

func TestGBK_RoundTrip(t *testing.T) {
	b, err := EncodeGBK(goodBasic)
	if err != nil {
		t.Fatal(err)
	}
	if len(b) >= len(goodBasic) {
		t.Errorf("got %d GBK bytes for %d UTF-8 bytes; want fewer (2 per Chinese character)", len(b), len(goodBasic))
	}
	s, err := DecodeGBK(b)
	if err != nil || s != goodBasic {
		t.Errorf("got %q, %v; want %q", s, err, goodBasic)
	}
	if _, err := EncodeGBK("🙂"); err == nil {
		t.Errorf("got no error encoding an emoji; want one")
	}
}

func FuzzParseBasic(f *testing.F) {
	for _, c := range basicCases {
		f.Add(c.in)
	}
	f.Fuzz(func(t *testing.T, s string) {
		c, err := ParseBasic(s)
		if err != nil {
			if !errors.Is(err, ErrBadBasic) && !errors.Is(err, ErrBadRegion) && !errors.Is(err, ErrBadIDNumber) && !errors.Is(err, ErrBadDate) {
				t.Fatalf("error %v is none of the sentinels", err)
			}
			return
		}
		if !ValidIDNumber(c.SSN) || c.CertType != settle.CertSSCard {
			t.Fatalf("accepted card %+v", c)
		}
		bs := BasicString(c)
		if len(bs) > maxBasicLen {
			return
		}
		again, err := ParseBasic(bs)
		if err != nil || again != c {
			t.Fatalf("round trip: got %+v, %v; want %+v", again, err, c)
		}
	})
}
