package hisadapter

// This is a small hand-written HL7 v2 parser. There is no well-kept Go HL7 v2 library
// to depend on, and the agent needs only the ER7 (pipe) syntax of one message type:
// encoding characters from MSH-1/MSH-2, escape sequences, MSH-18 character sets.

import (
	"bytes"
	"encoding/hex"
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"

	"golang.org/x/text/encoding"

	settle "github.com/settle-agent/settle-agent"
)

// Delimiters are a message's encoding characters (MSH-1 and MSH-2). A zero byte means
// the message declared none of that kind.
type Delimiters struct {
	Field, Component, Repetition, Escape, Subcomponent byte
}

// DefaultDelimiters are the usual |^~\&.
var DefaultDelimiters = Delimiters{Field: '|', Component: '^', Repetition: '~', Escape: '\\', Subcomponent: '&'}

// Message is a parsed HL7 v2 message: its segments in order, every value unescaped
// and decoded to UTF-8.
type Message struct {
	Delims   Delimiters
	Charset  string // MSH-18 as sent ("" means UTF-8)
	Segments []Segment
	encoding encoding.Encoding // nil: UTF-8
}

// Segment is one segment. Fields[n] is field n as HL7 numbers it (Fields[0] is the
// segment name); for MSH, Fields[1] is the field separator and Fields[2] the encoding
// characters, so MSH-10 is Fields[10] as in every other segment.
type Segment struct {
	Name   string
	Fields []Field
}

// Field is one field: its repetitions, each a list of components, each a list of
// subcomponents.
type Field [][][]string

// maxSegments bounds what one message may hold; a DFT^P03 has one FT1 per item.
const maxSegments = 4 * settle.MaxBillItems

// ParseMessage parses one HL7 v2 message (the bytes between MLLP frame marks).
// Segments are separated by CR (LF and CRLF tolerated); the encoding characters come
// from MSH-1/MSH-2; MSH-18 names the character set ("UNICODE UTF-8" by default, GB
// 18030 decoded). Errors wrap ErrMalformed or, for an unknown charset, ErrUnsupported.
func ParseMessage(b []byte) (*Message, error) {
	b = bytes.TrimLeft(bytes.TrimPrefix(b, utf8BOM), " \t\r\n")
	if !bytes.HasPrefix(b, []byte("MSH")) || len(b) < 8 {
		return nil, fmt.Errorf("a message must start with an MSH segment: %w", ErrMalformed)
	}
	d, err := parseDelimiters(b)
	if err != nil {
		return nil, err
	}
	m := &Message{Delims: d}
	// The charset is read from the raw MSH line: CR and LF never occur inside a GB
	// 18030 character, so the first line is the MSH segment in any charset.
	msh := b
	if i := bytes.IndexAny(b, "\r\n"); i >= 0 {
		msh = b[:i]
	}
	if f := bytes.Split(msh, []byte{d.Field}); len(f) > 17 {
		cs := f[17]
		if d.Repetition != 0 {
			cs, _, _ = bytes.Cut(cs, []byte{d.Repetition})
		}
		m.Charset = strings.TrimSpace(string(cs))
	}
	enc, err := textEncoding(m.Charset)
	if err != nil {
		return nil, fmt.Errorf("MSH-18 character set %q is not supported (send UNICODE UTF-8 or GB 18030): %w", m.Charset, ErrUnsupported)
	}
	m.encoding = enc
	if enc != nil {
		if b, err = enc.NewDecoder().Bytes(b); err != nil {
			return nil, fmt.Errorf("decode %s: %v: %w", m.Charset, err, ErrMalformed)
		}
	}
	if !utf8.Valid(b) {
		return nil, fmt.Errorf("message is not valid UTF-8; MSH-18 must name its character set (UNICODE UTF-8 or GB 18030): %w", ErrMalformed)
	}
	for _, line := range bytes.FieldsFunc(b, func(r rune) bool { return r == '\r' || r == '\n' }) {
		if len(bytes.TrimSpace(line)) == 0 {
			continue
		}
		if len(m.Segments) == maxSegments {
			return nil, fmt.Errorf("more than %d segments: %w", maxSegments, ErrMalformed)
		}
		seg, err := m.parseSegment(string(line), len(m.Segments) == 0)
		if err != nil {
			return nil, fmt.Errorf("segment %d: %w", len(m.Segments)+1, err)
		}
		m.Segments = append(m.Segments, seg)
	}
	return m, nil
}

func parseDelimiters(b []byte) (Delimiters, error) {
	d := Delimiters{Field: b[3]}
	end := bytes.IndexByte(b[4:], d.Field)
	if end < 0 {
		return d, fmt.Errorf("MSH-2 encoding characters are not followed by a field separator: %w", ErrMalformed)
	}
	enc := b[4 : 4+end]
	if len(enc) < 1 || len(enc) > 5 {
		return d, fmt.Errorf("MSH-2 encoding characters %q: want 4 such as ^~\\&: %w", enc, ErrMalformed)
	}
	slots := []*byte{&d.Component, &d.Repetition, &d.Escape, &d.Subcomponent}
	seen := map[byte]bool{d.Field: true}
	for i, c := range enc {
		if c < 0x21 || c > 0x7e || c >= '0' && c <= '9' || c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || seen[c] {
			return d, fmt.Errorf("MSH-1/MSH-2 encoding characters %q are not distinct punctuation: %w", b[3:4+end], ErrMalformed)
		}
		seen[c] = true
		if i < len(slots) { // a fifth (truncation, v2.7) is accepted and ignored
			*slots[i] = c
		}
	}
	if d.Field < 0x21 || d.Field > 0x7e || d.Field >= '0' && d.Field <= '9' || d.Field >= 'A' && d.Field <= 'Z' || d.Field >= 'a' && d.Field <= 'z' {
		return d, fmt.Errorf("MSH-1 field separator %q is not punctuation: %w", d.Field, ErrMalformed)
	}
	return d, nil
}

func (m *Message) parseSegment(line string, first bool) (Segment, error) {
	d := m.Delims
	raw := strings.Split(line, string(d.Field))
	name := raw[0]
	if len(name) != 3 || !isSegmentName(name) {
		return Segment{}, fmt.Errorf("%q is not a segment name: %w", truncate(name, 10), ErrMalformed)
	}
	if first != (name == "MSH") {
		if first {
			return Segment{}, fmt.Errorf("the first segment must be MSH: %w", ErrMalformed)
		}
		return Segment{}, fmt.Errorf("a second MSH segment (batches are not supported; send one message per frame): %w", ErrMalformed)
	}
	seg := Segment{Name: name}
	if name == "MSH" {
		// MSH-1 is the separator itself and MSH-2 is taken literally.
		seg.Fields = append(seg.Fields, literal(name), literal(string(d.Field)), literal(raw[1]))
		raw = raw[2:]
	} else {
		seg.Fields = append(seg.Fields, literal(name))
		raw = raw[1:]
	}
	for _, f := range raw {
		seg.Fields = append(seg.Fields, m.parseField(f))
	}
	return seg, nil
}

func isSegmentName(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'A' && c <= 'Z' || c >= '0' && c <= '9') {
			return false
		}
	}
	return s[0] >= 'A' && s[0] <= 'Z'
}

func literal(s string) Field { return Field{{{s}}} }

func (m *Message) parseField(s string) Field {
	d := m.Delims
	reps := splitOn(s, d.Repetition)
	f := make(Field, len(reps))
	for i, r := range reps {
		comps := splitOn(r, d.Component)
		f[i] = make([][]string, len(comps))
		for j, c := range comps {
			subs := splitOn(c, d.Subcomponent)
			for k := range subs {
				subs[k] = m.unescape(subs[k])
			}
			f[i][j] = subs
		}
	}
	return f
}

func splitOn(s string, sep byte) []string {
	if sep == 0 {
		return []string{s}
	}
	return strings.Split(s, string(sep))
}

// unescape replaces \F\ \S\ \T\ \R\ \E\ with the delimiters they stand for, \Xhh..\
// with the bytes it spells (in the message's charset), \.br\ with a space, and drops
// other formatting escapes (\H\ \N\ \.sp\ …). An escape without its closing
// character is kept as it is.
func (m *Message) unescape(s string) string {
	e := m.Delims.Escape
	if e == 0 || strings.IndexByte(s, e) < 0 {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); {
		if s[i] != e {
			b.WriteByte(s[i])
			i++
			continue
		}
		end := strings.IndexByte(s[i+1:], e)
		if end < 0 {
			b.WriteString(s[i:])
			break
		}
		seq := s[i+1 : i+1+end]
		i += end + 2
		d := m.Delims
		switch {
		case seq == "F":
			b.WriteByte(d.Field)
		case seq == "S":
			b.WriteByte(d.Component)
		case seq == "T":
			b.WriteByte(d.Subcomponent)
		case seq == "R":
			b.WriteByte(d.Repetition)
		case seq == "E":
			b.WriteByte(e)
		case seq == ".br":
			b.WriteByte(' ')
		case len(seq) > 1 && seq[0] == 'X':
			b.WriteString(m.hexText(seq[1:]))
		case seq == "":
			// "\\" is an empty escape: nothing.
		default:
			// \H\ \N\ \.sp\ \Zxx\ \Cxxyy\ …: formatting and charset switches, dropped.
		}
	}
	return b.String()
}

func (m *Message) hexText(h string) string {
	raw, err := hex.DecodeString(h)
	if err != nil {
		return ""
	}
	if m.encoding != nil {
		if out, err := m.encoding.NewDecoder().Bytes(raw); err == nil {
			raw = out
		}
	}
	return strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f {
			return ' '
		}
		return r
	}, strings.ToValidUTF8(string(raw), "\uFFFD"))
}

// Segment returns the first segment with that name, or nil.
func (m *Message) Segment(name string) *Segment {
	for i := range m.Segments {
		if m.Segments[i].Name == name {
			return &m.Segments[i]
		}
	}
	return nil
}

// All returns every segment with that name, in order.
func (m *Message) All(name string) []*Segment {
	var out []*Segment
	for i := range m.Segments {
		if m.Segments[i].Name == name {
			out = append(out, &m.Segments[i])
		}
	}
	return out
}

// Get returns the value at a position such as "MSH-10", "PID-5.2", "FT1-11.1.1": the
// first segment of that name, the first repetition, component 1 and subcomponent 1
// unless named. Missing values are "".
func (m *Message) Get(pos string) string {
	name, rest, ok := strings.Cut(pos, "-")
	if !ok {
		return ""
	}
	s := m.Segment(name)
	if s == nil {
		return ""
	}
	nums := strings.Split(rest, ".")
	n := make([]int, 3)
	n[1], n[2] = 1, 1
	for i := 0; i < len(nums) && i < 3; i++ {
		v, err := strconv.Atoi(nums[i])
		if err != nil || v < 1 {
			return ""
		}
		n[i] = v
	}
	return s.Field(n[0]).Sub(1, n[1], n[2])
}

// Field returns field n (HL7 numbering), empty when absent.
func (s *Segment) Field(n int) Field {
	if s == nil || n < 0 || n >= len(s.Fields) {
		return nil
	}
	return s.Fields[n]
}

// Value returns component 1, subcomponent 1 of the first repetition of field n.
func (s *Segment) Value(n int) string { return s.Field(n).Sub(1, 1, 1) }

// Component returns component c (from 1) of the first repetition, subcomponent 1.
func (f Field) Component(c int) string { return f.Sub(1, c, 1) }

// Sub returns repetition r, component c, subcomponent sc (all from 1), or "".
func (f Field) Sub(r, c, sc int) string {
	if r < 1 || r > len(f) || c < 1 || c > len(f[r-1]) || sc < 1 || sc > len(f[r-1][c-1]) {
		return ""
	}
	return f[r-1][c-1][sc-1]
}

// Reps is the number of repetitions.
func (f Field) Reps() int { return len(f) }
