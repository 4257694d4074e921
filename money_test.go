package settle

import (
	"encoding/json"
	"errors"
	"testing"
)

func TestParseMoney(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want Money
		err  bool
	}{
		{"25.00", 2500, false}, {"25", 2500, false}, {"25.5", 2550, false}, {"0.01", 1, false},
		{"-3.20", -320, false}, {"0", 0, false}, {"25.000", 2500, false},
		{"25.001", 0, true}, {"1e3", 0, true}, {"", 0, true}, {"abc", 0, true}, {".5", 0, true},
		{"5.", 0, true}, {" 5", 0, true}, {"+5", 0, true}, {"1_000", 0, true}, {"999999999999999999999", 0, true},
	} {
		got, err := ParseMoney(tc.in)
		if (err != nil) != tc.err || got != tc.want {
			t.Errorf("ParseMoney(%q): got %d, %v; want %d, err %v", tc.in, got, err, tc.want, tc.err)
		}
		if err != nil && !errors.Is(err, ErrDecimal) {
			t.Errorf("ParseMoney(%q): error %v is not ErrDecimal", tc.in, err)
		}
	}
}

func TestMoney_JSON(t *testing.T) {
	var m Money
	if err := json.Unmarshal([]byte(`"12.30"`), &m); err != nil || m != 1230 {
		t.Errorf("decode \"12.30\": got %d, %v; want 1230", m, err)
	}
	if err := json.Unmarshal([]byte(`12.30`), &m); err == nil {
		t.Errorf("decode the number 12.30: got no error; want money refused as a float")
	}
	b, _ := json.Marshal(Money(5))
	if string(b) != `"0.05"` {
		t.Errorf("encode 5 fen: got %s; want \"0.05\"", b)
	}
}

func TestLineAmount(t *testing.T) {
	for _, tc := range []struct{ q, p, want string }{
		{"2", "12.50", "25.00"},
		{"3", "0.335", "1.01"},      // 1.005 rounds half up
		{"1.5", "0.333333", "0.50"}, // 0.4999995 rounds to 0.50
		{"0.0001", "0.01", "0.00"},
		{"14", "1.50", "21.00"},
	} {
		q, _ := ParseQty(tc.q)
		p, _ := ParsePrice(tc.p)
		if got := LineAmount(q, p); got.String() != tc.want {
			t.Errorf("LineAmount(%s, %s): got %s; want %s", tc.q, tc.p, got, tc.want)
		}
	}
}

func TestFormat(t *testing.T) {
	q, _ := ParseQty("2.5000")
	p, _ := ParsePrice("12.5")
	if q.String() != "2.5" || p.String() != "12.50" || Money(-5).String() != "-0.05" {
		t.Errorf("got %s %s %s; want 2.5 12.50 -0.05", q, p, Money(-5))
	}
}

func FuzzParseMoney(f *testing.F) {
	for _, s := range []string{"25.00", "0", "-1.5", "1e3", "99999999999999.99", ".5", "0.001"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		m, err := ParseMoney(s)
		if err != nil {
			return
		}
		// Whatever parses must round-trip through its own formatting.
		back, err := ParseMoney(m.String())
		if err != nil || back != m {
			t.Fatalf("ParseMoney(%q) = %d, but %q parses to %d, %v", s, m, m.String(), back, err)
		}
	})
}
