package hisadapter

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/settle-agent/settle-agent/internal/golden"

	settle "github.com/settle-agent/settle-agent"
)

var ackTime = time.Date(2026, 11, 23, 9, 12, 30, 0, chinaTime)

// goldenFile compares got with testdata/name, or rewrites it under -update.
func goldenFile(t *testing.T, name string, got []byte) {
	t.Helper()
	golden.Check(t, filepath.Join("testdata", name), got)
}

// describeHL7 is what the golden files hold for one message: the bill, its located
// problems and the answer the server would give.
func describeHL7(raw []byte) []byte {
	var out bytes.Buffer
	m, err := ParseMessage(raw)
	if err != nil {
		out.WriteString("== parse error\n" + err.Error() + "\n")
		out.WriteString("== ack\n" + readableACK(buildACK(parseHeader(raw), AckReject, ackTime, []FieldError{{Code: hl7Internal, Reason: err.Error()}})))
		return out.Bytes()
	}
	b, err := DFTToBill(m, DFTDefaults{MedType: "11", Window: "W00"})
	code, errs := AckAccept, FieldErrorsOf(err)
	switch {
	case errors.Is(err, ErrUnsupported):
		code = AckReject
		errs = []FieldError{{Segment: "MSH", Seq: 1, Field: 9, Code: hl7UnsupportedType, Reason: err.Error()}}
	case err != nil:
		code = AckError
	}
	if !errors.Is(err, ErrUnsupported) {
		j, _ := json.MarshalIndent(b, "", "  ")
		out.WriteString("== bill\n" + string(j) + "\n")
	}
	if len(errs) > 0 {
		out.WriteString("== problems\n")
		for _, e := range errs {
			out.WriteString(e.String() + "\n")
		}
	}
	out.WriteString("== ack\n" + readableACK(buildACK(m, code, ackTime, errs)))
	return out.Bytes()
}

// readableACK shows an ACK with one segment per line, decoded from GB 18030 if need be.
func readableACK(ack []byte) string {
	if m, err := ParseMessage(ack); err == nil && m.encoding != nil {
		if u, err := m.encoding.NewDecoder().Bytes(ack); err == nil {
			ack = u
		}
	}
	return strings.ReplaceAll(string(ack), "\r", "\n")
}

func TestDFTToBill_Golden(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("testdata", "hl7", "*.hl7"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no samples: %v", err)
	}
	for _, f := range files {
		name := strings.TrimSuffix(filepath.Base(f), ".hl7")
		t.Run(name, func(t *testing.T) {
			raw, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			goldenFile(t, filepath.Join("hl7", name+".golden"), describeHL7(raw))
		})
	}
}

func mustParse(t *testing.T, s string) *Message {
	t.Helper()
	m, err := ParseMessage([]byte(s))
	if err != nil {
		t.Fatalf("ParseMessage: %v", err)
	}
	return m
}

func TestParseMessage_Escapes(t *testing.T) {
	m := mustParse(t, "MSH|^~\\&|A|B|||20261123||DFT^P03|1|P|2.5\rNTE|1||a\\F\\b\\S\\c\\T\\d\\R\\e\\E\\f\\.br\\g\\X4142\\h\\H\\i\\N\\j\\unterminated")
	if got, want := m.Get("NTE-3"), `a|b^c&d~e\f gABh`+"i"+`j\unterminated`; got != want {
		t.Errorf("got %q; want %q", got, want)
	}
}

func TestParseMessage_Structure(t *testing.T) {
	m := mustParse(t, "MSH|^~\\&|HIS^X^ISO|B|||20261123||DFT^P03^DFT_P03|42|P|2.5\nZZ1|a^b&c~d^e|\r\n\rFT1|1\r")
	for _, tc := range []struct{ pos, want string }{
		{"MSH-1", "|"}, {"MSH-2", "^~\\&"}, {"MSH-3", "HIS"}, {"MSH-3.3", "ISO"}, {"MSH-9.2", "P03"}, {"MSH-10", "42"},
		{"ZZ1-1", "a"}, {"ZZ1-1.2", "b"}, {"ZZ1-1.2.2", "c"}, {"ZZ1-2", ""}, {"ZZ1-9", ""}, {"FT1-1", "1"}, {"PID-3", ""},
	} {
		if got := m.Get(tc.pos); got != tc.want {
			t.Errorf("Get(%s) = %q; want %q", tc.pos, got, tc.want)
		}
	}
	if got := m.Segment("ZZ1").Field(1).Sub(2, 2, 1); got != "e" {
		t.Errorf("second repetition component 2 = %q; want e", got)
	}
	if n := len(m.Segments); n != 3 {
		t.Errorf("got %d segments; want 3", n)
	}
}

func TestParseMessage_Errors(t *testing.T) {
	for name, tc := range map[string]struct {
		in   string
		want error
	}{
		"NoMSH":          {"PID|1", ErrMalformed},
		"Empty":          {"", ErrMalformed},
		"NoFieldAfter2":  {"MSH|^~\\&", ErrMalformed},
		"DupDelimiters":  {"MSH|^^\\&|A", ErrMalformed},
		"LetterDelims":   {"MSH|^A\\&|A", ErrMalformed},
		"SecondMSH":      {"MSH|^~\\&|A\rMSH|^~\\&|B", ErrMalformed},
		"BadSegmentName": {"MSH|^~\\&|A\rpid|1", ErrMalformed},
		"Charset":        {"MSH|^~\\&|A||||||DFT^P03|1|P|2.5|||||CHN|KLINGON", ErrUnsupported},
		"NotUTF8":        {"MSH|^~\\&|A\rPID|1||\xff\xfe", ErrMalformed},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := ParseMessage([]byte(tc.in))
			if !errors.Is(err, tc.want) {
				t.Errorf("got %v; want %v", err, tc.want)
			}
		})
	}
}

func TestValidIDNumber(t *testing.T) {
	for s, want := range map[string]bool{
		"11010519491231002X": true, "11010519491231002x": true, "110105194912310021": false,
		"A12345678": false, "1101051949123100": false, "11010519491231002Y": false, "440524188001010014": true,
	} {
		if got := ValidIDNumber(s); got != want {
			t.Errorf("ValidIDNumber(%q) = %v; want %v", s, got, want)
		}
	}
}

func TestParseHL7Time(t *testing.T) {
	for in, want := range map[string]string{
		"20261123091200":       "2026-11-23T09:12:00+08:00",
		"202611230912":         "2026-11-23T09:12:00+08:00",
		"20261123":             "2026-11-23T00:00:00+08:00",
		"20261123011200+0000":  "2026-11-23T01:12:00Z",
		"20261123091200.1234":  "2026-11-23T09:12:00+08:00",
		"20261123091200-0500":  "2026-11-23T09:12:00-05:00",
		"2026112309120":        "error",
		"20261323091200":       "error",
		"20261123091200+08":    "error",
		"20261123091200.12345": "error",
	} {
		got, err := parseHL7Time(in, chinaTime)
		s := "error"
		if err == nil {
			s = got.Format(time.RFC3339)
		}
		if s != want {
			t.Errorf("parseHL7Time(%q) = %s; want %s", in, s, want)
		}
	}
}

func TestLocateField(t *testing.T) {
	for path, want := range map[string]string{
		"items[1].his_code":     "FT1-7 #2 103",
		"items[0].amount":       "FT1-11 #1 207",
		"items[2].name":         "FT1-7.2 #3 207",
		"bill_no":               "PV1-19 #0 101",
		"diagnoses[1].code":     "DG1-3 #2 101",
		"patient.mdtrt_cert_no": "IN1-36.2 #0 101",
		"created_at":            "MSH-7 #0 101",
		"something.unknown":     " #0 101",
	} {
		reason := "is required"
		if strings.Contains(path, "his_code") {
			reason = "unmapped code YP0099"
		} else if strings.Contains(path, "amount") || strings.Contains(path, "name") {
			reason = "is wrong"
		}
		e := LocateField(path, reason)
		if got := e.Position() + " #" + strconv.Itoa(e.Seq) + " " + e.Code; got != want {
			t.Errorf("LocateField(%s) = %s; want %s", path, got, want)
		}
	}
	if got, want := LocateField("items[1].his_code", "unmapped code YP0099").Text(), "FT1-7 unmapped code YP0099"; got != want {
		t.Errorf("Text = %q; want %q", got, want)
	}
}

func TestDFTToBill_Defaults(t *testing.T) {
	raw, err := os.ReadFile(filepath.Join("testdata", "hl7", "minimal.hl7"))
	if err != nil {
		t.Fatal(err)
	}
	m := mustParse(t, string(raw))
	b, err := DFTToBill(m, DFTDefaults{MedType: "11", Window: "W09"})
	if err != nil {
		t.Fatalf("DFTToBill: %v", err)
	}
	if b.MedType != "11" || b.Window != "W09" || b.Total != settle.MustMoney("3.20") || b.Items[0].Line != 1 {
		t.Errorf("got med_type %q window %q total %s line %d; want 11, W09, 3.20, 1", b.MedType, b.Window, b.Total, b.Items[0].Line)
	}
	if _, err := DFTToBill(m, DFTDefaults{}); err == nil || !strings.Contains(err.Error(), "med_type") {
		t.Errorf("without a default med type got %v; want a med_type problem", err)
	}
}

// FuzzParseMessage checks that parsing never panics and that every message parsed
// can be answered with an ACK that parses back naming its control id.
func FuzzParseMessage(f *testing.F) {
	files, _ := filepath.Glob(filepath.Join("testdata", "hl7", "*.hl7"))
	for _, file := range files {
		if b, err := os.ReadFile(file); err == nil {
			f.Add(b)
		}
	}
	f.Add([]byte("MSH|^~\\&|A|B|||2026||DFT^P03|\\F\\x\\X0D0A\\|P|2.5\rFT1|1"))
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := ParseMessage(b)
		if err != nil {
			if !errors.Is(err, ErrMalformed) && !errors.Is(err, ErrUnsupported) {
				t.Fatalf("error %v wraps neither ErrMalformed nor ErrUnsupported", err)
			}
			return
		}
		bill, err := DFTToBill(m, DFTDefaults{MedType: "11"})
		errs := FieldErrorsOf(err)
		if err == nil {
			if verr := bill.Validate(); verr != nil {
				t.Fatalf("DFTToBill returned a bill that does not validate: %v", verr)
			}
		}
		ack := buildACK(m, AckError, ackTime, errs)
		d := m.Delims
		if m.encoding != nil || d.Component == 0 || d.Repetition == 0 || d.Escape == 0 || d.Subcomponent == 0 {
			return
		}
		back, err := ParseMessage(ack)
		if err != nil {
			t.Fatalf("ACK does not parse: %v\n%q", err, ack)
		}
		if got, sent := back.Get("MSA-2"), m.Get("MSH-10"); got != sent && settle.PlainText(sent) || !settle.PlainText(got) {
			t.Fatalf("ACK MSA-2 = %q for MSH-10 %q; want it as sent when plain text, and plain text always", got, sent)
		}
		if got := len(back.All("ERR")); got != len(errs) {
			t.Fatalf("ACK has %d ERR; want %d", got, len(errs))
		}
	})
}

// Issue 29 finding 8: an ACK echoed control characters of MSH-10 in MSH-10 and MSA-2
// (ESC, U+0085, bidi overrides): the HIS's log or screen showed what the sender chose.
func TestBuildACK_EchoesNoControlCharacters(t *testing.T) {
	m := mustParse(t, "MSH|^~\\&|HIS|H|||20261123||DFT^P03|C1\x1b[2J\u0085\u202eX\u2028Y|P|2.5\rFT1|1")
	ack := string(buildACK(m, AckError, ackTime, []FieldError{{Reason: "bad\x07 thing\u202e"}}))
	for _, seg := range strings.Split(strings.TrimSuffix(ack, "\r"), "\r") {
		if !settle.PlainText(seg) {
			t.Errorf("ACK segment %q holds a control or format character; want none", seg)
		}
	}
	back := mustParse(t, ack)
	if got, want := back.Get("MSA-2"), "C1 [2J  X Y"; got != want {
		t.Errorf("MSA-2 = %q; want %q (each control a space)", got, want)
	}
}
