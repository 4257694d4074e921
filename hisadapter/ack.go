package hisadapter

import (
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"golang.org/x/text/encoding"

	settle "github.com/settle-agent/settle-agent"
)

// ACK codes (MSA-1).
const (
	AckAccept = "AA" // the bill is durably stored
	AckError  = "AE" // the bill is wrong (ERR segments say where) or must be resent later
	AckReject = "AR" // the message itself is refused: unsupported type, charset, too large, unparsable
)

// HL7 error codes (table 0357) used in ERR-3.
const (
	hl7RequiredMissing = "101"
	hl7DataType        = "102"
	hl7TableValue      = "103"
	hl7UnsupportedType = "200"
	hl7Internal        = "207"
)

// FieldError is one problem located in an HL7 message, for one ERR segment.
type FieldError struct {
	Segment   string `json:"segment,omitempty"`   // "FT1"; "" when the problem is not in one field
	Seq       int    `json:"seq,omitempty"`       // which segment of that name, from 1
	Field     int    `json:"field,omitempty"`     // HL7 field number
	Component int    `json:"component,omitempty"` // named only when more than 1
	Path      string `json:"path,omitempty"`      // the bill's JSON path ("items[1].his_code")
	Code      string `json:"code"`                // HL7 table 0357 error code
	Reason    string `json:"reason"`              // "unmapped code YP0099"
}

// Position names the field as HL7 people write it: "FT1-7", "DG1-3.2", "MSH-7".
func (e FieldError) Position() string {
	if e.Segment == "" {
		return ""
	}
	p := e.Segment
	if e.Field > 0 {
		p += "-" + strconv.Itoa(e.Field)
		if e.Component > 1 {
			p += "." + strconv.Itoa(e.Component)
		}
	}
	return p
}

// Text is the sentence an integrator reads: "FT1-7 unmapped code YP0099".
func (e FieldError) Text() string {
	if p := e.Position(); p != "" {
		return p + " " + e.Reason
	}
	return e.Reason
}

// fieldSpot is where a bill field comes from in a DFT^P03.
type fieldSpot struct {
	seg         string
	field, comp int
}

// billFields maps a bill's JSON path (indices dropped) to its place in a DFT^P03.
var billFields = map[string]fieldSpot{
	"bill_no":                  {"PV1", 19, 1},
	"window":                   {"PV1", 3, 1},
	"med_type":                 {"PV1", 18, 1},
	"doctor":                   {"PV1", 7, 1},
	"doctor.code":              {"PV1", 7, 1},
	"doctor.name":              {"PV1", 7, 2},
	"patient":                  {"IN1", 36, 1},
	"patient.mdtrt_cert_type":  {"IN1", 36, 1},
	"patient.mdtrt_cert_no":    {"IN1", 36, 2},
	"patient.psn_name":         {"PID", 5, 1},
	"diagnoses":                {"DG1", 3, 1},
	"diagnoses[].code":         {"DG1", 3, 1},
	"diagnoses[].name":         {"DG1", 3, 2},
	"items":                    {"FT1", 0, 0},
	"items[]":                  {"FT1", 0, 0},
	"items[].line":             {"FT1", 1, 1},
	"items[].created_at":       {"FT1", 4, 1},
	"items[].his_code":         {"FT1", 7, 1},
	"items[].name":             {"FT1", 7, 2},
	"items[].qty":              {"FT1", 10, 1},
	"items[].amount":           {"FT1", 11, 1},
	"items[].unit_price":       {"FT1", 12, 1},
	"items[].med_list_codg":    {"FT1", 7, 1},
	"items[].medins_list_codg": {"FT1", 7, 1},
	"dept":                     {"FT1", 13, 1},
	"dept.code":                {"FT1", 13, 1},
	"dept.name":                {"FT1", 13, 2},
	"total":                    {"FT1", 11, 1},
	"created_at":               {"MSH", 7, 1},
}

var pathIndex = regexp.MustCompile(`^(items|diagnoses)\[(\d+)\]`)

// LocateField says where a bill field path ("items[1].his_code") sits in a DFT^P03.
func LocateField(path, reason string) FieldError {
	e := FieldError{Path: path, Reason: reason, Code: hl7Internal}
	key := path
	if m := pathIndex.FindStringSubmatch(path); m != nil {
		n, err := strconv.Atoi(m[2])
		if err == nil && n < 1<<20 {
			e.Seq = n + 1
		}
		key = m[1] + "[]" + path[len(m[0]):]
	}
	if s, ok := billFields[key]; ok {
		e.Segment, e.Field, e.Component = s.seg, s.field, s.comp
	} else {
		e.Reason = path + " " + reason
	}
	switch {
	case strings.HasPrefix(reason, "is required"):
		e.Code = hl7RequiredMissing
	case strings.HasSuffix(key, ".his_code") && (strings.Contains(reason, "unmapped") || strings.Contains(reason, "code ")):
		e.Code = hl7TableValue
	case key == "med_type" || key == "patient.mdtrt_cert_type":
		e.Code = hl7TableValue
	case strings.Contains(reason, "not a") || strings.Contains(reason, "out of range"):
		e.Code = hl7DataType
	}
	return e
}

// FieldErrorsOf locates every field problem of a *settle.ValidationError (from
// DFTToBill or from the Sink) in the message; nil when err holds none.
func FieldErrorsOf(err error) []FieldError {
	var ve *settle.ValidationError
	if !errors.As(err, &ve) {
		return nil
	}
	out := make([]FieldError, 0, len(ve.Fields))
	for _, f := range ve.Fields {
		out = append(out, LocateField(f.Field, f.Reason))
	}
	return out
}

// BuildACK answers req: MSH, MSA|code|<req MSH-10>, and one ERR per problem with the
// position in ERR-1/ERR-2 (segment^sequence^field), the HL7 error code and the
// sentence in ERR-3 ("103^FT1-7 unmapped code YP0099^HL70357"), severity E in ERR-4
// and the sentence again in ERR-8. The answer uses req's encoding characters and
// character set; req may be nil when the message could not be parsed.
func BuildACK(req *Message, code string, errs ...FieldError) []byte {
	return buildACK(req, code, time.Now(), errs)
}

func buildACK(req *Message, code string, now time.Time, errs []FieldError) []byte {
	return buildACKNote(req, code, now, errs, "bill stored")
}

// buildACKNote is buildACK with the MSA-3 text of an AA answer ("bill stored").
func buildACKNote(req *Message, code string, now time.Time, errs []FieldError, stored string) []byte {
	d := DefaultDelimiters
	var enc encoding.Encoding
	charset := ""
	if req != nil {
		d = req.Delims
		enc, charset = req.encoding, req.Charset
	}
	msh := req.segment("MSH")
	w := ackWriter{d: d}
	encChars := strings.ReplaceAll(string([]byte{d.Component, d.Repetition, d.Escape, d.Subcomponent}), "\x00", "")
	ctrl := msh.Value(10)
	version := msh.Value(12)
	if version == "" {
		version = "2.5"
	}
	processing := msh.Value(11)
	if processing == "" {
		processing = "P"
	}
	trigger := req.getOr("MSH-9.2", "P03")
	fields := []string{
		"MSH", encChars, "SETTLE-AGENT", w.field(msh.Field(6)), w.field(msh.Field(3)), w.field(msh.Field(4)),
		now.In(chinaTime).Format("20060102150405-0700"), "",
		"ACK" + string(d.Component) + w.text(trigger) + string(d.Component) + "ACK",
		w.text("ACK" + ctrl), w.text(processing), w.text(version),
	}
	if charset != "" {
		for len(fields) < 17 { // fields[i] is MSH-(i+1)
			fields = append(fields, "")
		}
		fields = append(fields, w.text(charset))
	}
	var b strings.Builder
	b.WriteString(strings.Join(fields, string(d.Field)))
	b.WriteByte('\r')
	msa := []string{"MSA", code, w.text(ctrl)}
	switch {
	case len(errs) > 0:
		msa = append(msa, w.text(errs[0].Text()))
	case code == AckAccept:
		msa = append(msa, stored)
	}
	b.WriteString(strings.Join(msa, string(d.Field)))
	b.WriteByte('\r')
	for _, e := range errs {
		c, s := string(d.Component), string(d.Subcomponent)
		loc := ""
		if e.Segment != "" {
			loc = e.Segment + c + strconv.Itoa(max(e.Seq, 1)) + c
			if e.Field > 0 {
				loc += strconv.Itoa(e.Field)
			}
		}
		text := w.text(e.Text())
		code := e.Code
		if code == "" {
			code = hl7Internal
		}
		erl := loc
		if loc != "" {
			loc += c + code + s + text + s + "HL70357"
		}
		err := []string{"ERR", loc, erl, code + c + text + c + "HL70357", "E", "", "", "", text}
		b.WriteString(strings.Join(err, string(d.Field)))
		b.WriteByte('\r')
	}
	out := []byte(b.String())
	if enc != nil {
		if x, err := encoding.ReplaceUnsupported(enc.NewEncoder()).Bytes(out); err == nil {
			out = x
		}
	}
	return out
}

func (m *Message) segment(name string) *Segment {
	if m == nil {
		return nil
	}
	return m.Segment(name)
}

func (m *Message) getOr(pos, def string) string {
	if m == nil {
		return def
	}
	if v := m.Get(pos); v != "" {
		return v
	}
	return def
}

// ackWriter escapes text for the answer's delimiters.
type ackWriter struct{ d Delimiters }

// Every character settle.PlainText refuses (controls such as the MLLP frame bytes,
// ESC or U+0085, bidi controls, line separators) and invalid UTF-8 become a space: what
// the sender put in MSH-10 or any field echoed never reaches the HIS's log or screen as
// a control.
func (w ackWriter) text(s string) string {
	d := w.d
	var b strings.Builder
	for i, r := range s {
		if r >= utf8.RuneSelf || !settle.PlainRune(r) {
			if settle.PlainRune(r) && (r != utf8.RuneError || strings.HasPrefix(s[i:], "\uFFFD")) {
				b.WriteRune(r)
			} else {
				b.WriteByte(' ')
			}
			continue
		}
		c := byte(r)
		switch {
		case c == d.Escape && c != 0:
			b.WriteString(w.esc("E"))
		case c == d.Field:
			b.WriteString(w.esc("F"))
		case c == d.Component && c != 0:
			b.WriteString(w.esc("S"))
		case c == d.Repetition && c != 0:
			b.WriteString(w.esc("R"))
		case c == d.Subcomponent && c != 0:
			b.WriteString(w.esc("T"))
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}

func (w ackWriter) esc(s string) string {
	if w.d.Escape == 0 {
		return " "
	}
	e := string(w.d.Escape)
	return e + s + e
}

// field writes a parsed field back with its repetitions, components and subcomponents.
func (w ackWriter) field(f Field) string {
	reps := make([]string, len(f))
	for i, r := range f {
		comps := make([]string, len(r))
		for j, c := range r {
			subs := make([]string, len(c))
			for k, s := range c {
				subs[k] = w.text(s)
			}
			comps[j] = strings.Join(subs, string(w.d.Subcomponent))
		}
		reps[i] = strings.Join(comps, string(w.d.Component))
	}
	return strings.Join(reps, string(w.d.Repetition))
}

// String renders a FieldError for logs.
func (e FieldError) String() string { return fmt.Sprintf("%s (%s)", e.Text(), e.Path) }
