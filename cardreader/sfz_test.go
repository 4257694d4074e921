package cardreader

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/settle-agent/settle-agent"
)

const goodSFZ = "王小明|男|汉|19900707|浙江省杭州市西湖区文三路1号|330106199007074565|杭州市公安局西湖分局|20150101|20350101|"

func sfzWith(i int, v string) string {
	f := strings.Split(goodSFZ, "|")
	f[i] = v
	return strings.Join(f, "|")
}

var sfzCases = []parseCase{
	{"good", goodSFZ, nil},
	{"no trailing bar", strings.TrimSuffix(goodSFZ, "|"), nil},
	{"valid for life", sfzWith(8, "长期"), nil},
	{"lowercase x", "张三|男|汉|19491231|北京市|11010519491231002x|北京市公安局|20100101|长期", nil},
	{"empty", "", ErrBadIDCard},
	{"eight fields", "王小明|男|汉|19900707|地址|330106199007074565|局|20150101", ErrBadIDCard},
	{"no name", sfzWith(0, ""), ErrBadIDCard},
	{"bad check digit", sfzWith(5, "330106199007074566"), ErrBadIDNumber},
	{"birth differs", sfzWith(3, "19900708"), ErrBadIDCard},
	{"bad valid from", sfzWith(7, "2015"), ErrBadDate},
	{"bad valid to", sfzWith(8, "20350230"), ErrBadDate},
	{"from after to", sfzWith(7, "20360101"), ErrBadDate},
	{"control char", sfzWith(4, "文三路\x01"), ErrBadIDCard},
}

func TestParseSFZ_Golden(t *testing.T) {
	checkParseGolden(t, "parse_sfz.golden", sfzCases, ParseSFZ, func(c settle.Card) string { return " carrier " + Carrier(c) })
}

func TestCheckCard_IDCard(t *testing.T) {
	day := time.Date(2040, 1, 1, 0, 0, 0, 0, time.UTC)
	c, err := ParseSFZ(goodSFZ)
	if err != nil {
		t.Fatal(err)
	}
	if err := CheckCard(c, day); !errors.Is(err, ErrIDCardExpired) {
		t.Errorf("CheckCard of an ID card valid to 2035 in 2040: %v; want ErrIDCardExpired", err)
	}
	c.ExpiryDate = sfzNoExpiry
	if err := CheckCard(c, day); err != nil {
		t.Errorf("CheckCard of an ID card valid for life: %v; want nil", err)
	}
}

func TestCarrier(t *testing.T) {
	for ct, want := range map[string]string{settle.CertSSCard: CarrierSSCard, settle.CertIDNumber: CarrierIDCard, settle.CertEVoucher: CarrierEVoucher} {
		if got := Carrier(settle.Card{CertType: ct}); got != want {
			t.Errorf("Carrier(%s) = %s; want %s", ct, got, want)
		}
	}
}

func FuzzParseSFZ(f *testing.F) {
	for _, c := range sfzCases {
		f.Add(c.in)
	}
	f.Fuzz(func(t *testing.T, s string) {
		c, err := ParseSFZ(s)
		if err != nil {
			if !errors.Is(err, ErrBadIDCard) && !errors.Is(err, ErrBadIDNumber) && !errors.Is(err, ErrBadDate) {
				t.Fatalf("error %v is none of the sentinels", err)
			}
			return
		}
		if !ValidIDNumber(c.CardNo) || c.CertType != settle.CertIDNumber || c.Name == "" {
			t.Fatalf("accepted card %+v", c)
		}
		again, err := ParseSFZ(SFZString(c, "男", "汉", "addr", "issuer"))
		if err != nil || again != c {
			t.Fatalf("round trip of %+v = %+v, %v", c, again, err)
		}
	})
}
