package cardreader

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/settle-agent/settle-agent"
)

// lineCases are byte streams from a scanner; what the decoder makes of them is in
// testdata/lines.golden.
var lineCases = []struct{ name, in string }{
	{"CRLF", "EC1234567890ABCDEF\r\n"},
	{"LF", "EC1\n"},
	{"CR", "EC1\r"},
	{"three lines mixed", "A1\rB2\nC3\r\n"},
	{"blank lines skipped", "\r\n\r\n  \nA1\n"},
	{"unterminated waits", "A1"},
	{"spaces trimmed", "  A1 B2  \n"},
	{"tab refused", "A1\tB2\n"},
	{"escape refused", "\x1b[2JA1\n"},
	{"DEL refused", "A1\x7f\n"},
	{"non-ASCII refused", "二维码\n"},
	{"512 bytes accepted", strings.Repeat("A", 512) + "\n"},
	{"513 bytes refused", strings.Repeat("A", 513) + "\nOK\n"},
	{"CR CR is two terminators", "A1\r\rB2\r"},
}

func TestLineDecoder_Golden(t *testing.T) {
	var out strings.Builder
	for _, c := range lineCases {
		var d lineDecoder
		rs := d.Write([]byte(c.in))
		// The same stream a byte at a time gives the same lines.
		var d1 lineDecoder
		var rs1 []lineResult
		for i := 0; i < len(c.in); i++ {
			rs1 = append(rs1, d1.Write([]byte{c.in[i]})...)
		}
		if fmt.Sprint(rs) != fmt.Sprint(rs1) {
			t.Errorf("%s: byte by byte got %v; want %v", c.name, rs1, rs)
		}
		in := c.in
		if len(in) > 60 {
			in = in[:20] + fmt.Sprintf("...(%d bytes)...", len(in)-40) + in[len(in)-20:]
		}
		fmt.Fprintf(&out, "%s: %q\n", c.name, in)
		for _, r := range rs {
			if r.Err != nil {
				fmt.Fprintf(&out, "  err: %v\n", r.Err)
			} else {
				fmt.Fprintf(&out, "  card: %s %.40q\n", r.Card.CertType, r.Card.CardNo)
			}
		}
	}
	checkGolden(t, "lines.golden", []byte(out.String()))
}

func TestParseLine(t *testing.T) {
	c, ok, err := parseLine([]byte("EC0123"))
	if err != nil || !ok || c != (settle.Card{CertType: settle.CertEVoucher, CardNo: "EC0123"}) {
		t.Errorf("got %+v, %v, %v; want e-voucher EC0123", c, ok, err)
	}
	if _, _, err := parseLine([]byte("A\x00")); !errors.Is(err, ErrBadLine) {
		t.Errorf("got %v; want ErrBadLine", err)
	}
	if _, _, err := parseLine(make([]byte, MaxLineLen+1)); !errors.Is(err, ErrLineTooLong) {
		t.Errorf("got %v; want ErrLineTooLong", err)
	}
}

func FuzzLineDecoder(f *testing.F) {
	for _, c := range lineCases {
		f.Add([]byte(c.in))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		var d lineDecoder
		for _, r := range d.Write(b) {
			if r.Err != nil {
				if !errors.Is(r.Err, ErrBadLine) && !errors.Is(r.Err, ErrLineTooLong) {
					t.Fatalf("error %v is neither ErrBadLine nor ErrLineTooLong", r.Err)
				}
				continue
			}
			code := r.Card.CardNo
			if code == "" || len(code) > MaxLineLen || r.Card.CertType != settle.CertEVoucher {
				t.Fatalf("accepted %+v", r.Card)
			}
			for i := 0; i < len(code); i++ {
				if code[i] < 0x20 || code[i] >= 0x7f {
					t.Fatalf("accepted byte 0x%02X in %q", code[i], code)
				}
			}
		}
		if len(d.buf) > MaxLineLen {
			t.Fatalf("kept %d bytes of an unfinished line", len(d.buf))
		}
	})
}
