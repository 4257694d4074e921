package platform

import (
	"bytes"
	"encoding/json"
	"fmt"
	"reflect"
	"sort"
	"strings"
	"sync"
	"unicode"
	"unicode/utf8"
)

// Liberal decoding. A real platform's answer may carry null for any field, amounts and
// codes as numbers or strings, an object where a list is expected (or a list of one
// where an object is), the whole output as a JSON string, and fields this package does
// not know. decodeLiberal first reads the answer into generic values, reshapes them to
// the target type, recording each reshaping and each unknown field as a Surprise, and
// only then decodes strictly: what the types still refuse (an amount with three places,
// a word where a number belongs) is a bad response.

// maxSurprises bounds the surprises recorded for one answer.
const maxSurprises = 64

// decodeLiberal decodes raw into out (a pointer), reshaping as described above.
//
// Most answers need no reshaping, so they are decoded once: strictly, refusing unknown
// fields. Everything the reshaping would change or record as a surprise — a field it
// does not know, a value of another JSON type, a list for an object, an empty string
// for a number — makes that strict decode fail, and only then is the answer decoded
// the liberal way (so an answer with surprises is still kept and its surprises still
// recorded). FuzzDecodeLiberal_OnePassAgrees holds the two ways to the same result.
func decodeLiberal(raw []byte, out any) ([]Surprise, error) {
	raw = unwrapJSONString(bytes.TrimSpace(raw))
	rv := reflect.ValueOf(out)
	if rv.Kind() != reflect.Pointer || rv.IsNil() {
		return nil, fmt.Errorf("decode into %T: want a non-nil pointer", out)
	}
	if strictFirst(raw, rv.Type().Elem()) {
		dec := json.NewDecoder(bytes.NewReader(raw))
		dec.UseNumber()
		dec.DisallowUnknownFields()
		if dec.Decode(out) == nil {
			return nil, nil
		}
		rv.Elem().SetZero() // a failed decode may have filled part of it
	}
	return decodeReshaped(raw, out, rv)
}

// hasFoldTrap reports whether raw holds ſ or the Kelvin sign, written out or escaped.
func hasFoldTrap(raw []byte) bool {
	if bytes.Contains(raw, []byte("\u017f")) || bytes.Contains(raw, []byte("\u212a")) {
		return true
	}
	for rest := raw; ; {
		i := bytes.Index(rest, []byte(`\u`))
		if i < 0 || i+6 > len(rest) {
			return false
		}
		if hex := string(rest[i+2 : i+6]); strings.EqualFold(hex, "017f") || strings.EqualFold(hex, "212a") {
			return true
		}
		rest = rest[i+2:]
	}
}

// strictFirst reports whether raw, an object for a struct, may be decoded strictly
// first: it holds none of the texts where the two ways differ. encoding/json matches
// keys under Unicode case folding, where ſ (U+017F) and the Kelvin sign (U+212A) fold
// to s and k, and the reshaping does not; the reshaping reads a blank string as null
// for a type that decodes itself (Text would keep the blanks).
func strictFirst(raw []byte, t reflect.Type) bool {
	if len(raw) == 0 || raw[0] != '{' || t.Kind() != reflect.Struct {
		return false
	}
	return !hasFoldTrap(raw) && !hasBlankString(raw)
}

// hasBlankString reports whether raw may hold a string of only blanks (" ", "\t", an
// ideographic space): a quote, one or more blanks, and a quote. It may answer true for
// the gap between two strings (", ") or for an escaped character, which only costs
// the one-pass decode.
func hasBlankString(raw []byte) bool {
	for i := 0; i < len(raw); i++ {
		if raw[i] != '"' {
			continue
		}
		j, blanks := i+1, 0
		for j < len(raw) {
			n := blankAt(raw[j:])
			if n == 0 {
				break
			}
			j, blanks = j+n, blanks+1
		}
		if blanks > 0 && j < len(raw) && raw[j] == '"' {
			return true
		}
	}
	return false
}

// blankAt is the width of the blank that b starts with (0: none): a white space
// character, or an escape that may stand for one.
func blankAt(b []byte) int {
	if len(b) >= 2 && b[0] == '\\' && b[1] != '"' && b[1] != '\\' {
		if b[1] == 'u' {
			return min(6, len(b))
		}
		return 2
	}
	r, n := utf8.DecodeRune(b)
	if unicode.IsSpace(r) {
		return n
	}
	return 0
}

// decodeReshaped is the liberal way: generic values, reshaped for out's type with each
// reshaping recorded, then decoded strictly.
func decodeReshaped(raw []byte, out any, rv reflect.Value) ([]Surprise, error) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, err
	}
	var s surprises
	v = s.shape(v, rv.Type().Elem(), "")
	norm, err := json.Marshal(v)
	if err != nil {
		return s.list, err
	}
	d2 := json.NewDecoder(bytes.NewReader(norm))
	d2.UseNumber()
	return s.list, d2.Decode(out)
}

// unwrapJSONString returns the JSON text a JSON string holds when raw is a string whose
// content is an object or array (some gateways send output as a string); else raw.
func unwrapJSONString(raw []byte) []byte {
	if len(raw) < 2 || raw[0] != '"' {
		return raw
	}
	var inner string
	if json.Unmarshal(raw, &inner) != nil {
		return raw
	}
	t := strings.TrimSpace(inner)
	if t != "" && (t[0] == '{' || t[0] == '[') && json.Valid([]byte(t)) {
		return []byte(t)
	}
	return raw
}

type surprises struct{ list []Surprise }

func (s *surprises) add(kind SurpriseKind, field, format string, args ...any) {
	if len(s.list) < maxSurprises {
		s.list = append(s.list, Surprise{Kind: kind, Field: field, Detail: fmt.Sprintf(format, args...)})
	}
}

var (
	unmarshalerType = reflect.TypeFor[json.Unmarshaler]()
	numberType      = reflect.TypeFor[json.Number]()
	rawMessageType  = reflect.TypeFor[json.RawMessage]()
	oneOrManyType   = reflect.TypeFor[interface{ oneOrMany() }]()
	listWrapperType = reflect.TypeFor[interface{ wrapList() string }]()
)

func join(path, name string) string {
	if path == "" {
		return name
	}
	return path + "." + name
}

// shape reshapes the generic value v (from a UseNumber decoder) for type t.
func (s *surprises) shape(v any, t reflect.Type, path string) any {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if v == nil {
		return nil
	}
	if t == rawMessageType || t.Kind() == reflect.Interface {
		return v
	}
	if t == numberType {
		switch x := v.(type) {
		case json.Number:
			return x
		case string:
			if x == "" {
				return nil
			}
			return x
		}
		s.add(SurpriseCoerced, path, "expected a number, got %s; ignored", kindOf(v))
		return nil
	}
	if reflect.PointerTo(t).Implements(unmarshalerType) {
		// Amount, Cnt, Pric, Ratio: they take numbers and strings themselves; an empty
		// string is treated as null.
		if x, ok := v.(string); ok && strings.TrimSpace(x) == "" {
			return nil
		}
		return v
	}
	switch t.Kind() {
	case reflect.String:
		switch x := v.(type) {
		case string:
			return x
		case json.Number:
			s.add(SurpriseCoerced, path, "expected text, got the number %s; read as text", x)
			return x.String()
		case bool:
			s.add(SurpriseCoerced, path, "expected text, got %v", x)
			if x {
				return "1"
			}
			return "0"
		}
		s.add(SurpriseCoerced, path, "expected text, got %s; ignored", kindOf(v))
		return nil
	case reflect.Bool:
		switch x := v.(type) {
		case bool:
			return x
		case string:
			switch strings.TrimSpace(x) {
			case "1", "true", "TRUE", "True":
				return true
			case "0", "false", "FALSE", "False", "":
				return false
			}
		case json.Number:
			return x.String() != "0"
		}
		s.add(SurpriseCoerced, path, "expected a flag, got %s; ignored", kindOf(v))
		return nil
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		switch x := v.(type) {
		case json.Number:
			return x
		case string:
			x = strings.TrimSpace(x)
			if x == "" {
				return nil
			}
			return json.Number(x) // strict decoding refuses it if it is not an integer
		}
		s.add(SurpriseCoerced, path, "expected an integer, got %s; ignored", kindOf(v))
		return nil
	case reflect.Float32, reflect.Float64:
		return v
	case reflect.Slice, reflect.Array:
		if t.Elem().Kind() == reflect.Uint8 && t.Kind() == reflect.Slice {
			return v
		}
		switch x := v.(type) {
		case []any:
			for i := range x {
				x[i] = s.shape(x[i], t.Elem(), fmt.Sprintf("%s[%d]", path, i))
			}
			return x
		case map[string]any:
			if !reflect.PointerTo(t).Implements(oneOrManyType) {
				s.add(SurpriseCoerced, path, "expected a list, got one object; taken as a list of one")
			}
			return []any{s.shape(x, t.Elem(), path+"[0]")}
		case string:
			if strings.TrimSpace(x) == "" {
				return nil
			}
		}
		s.add(SurpriseCoerced, path, "expected a list, got %s; ignored", kindOf(v))
		return nil
	case reflect.Map:
		x, ok := v.(map[string]any)
		if !ok {
			s.add(SurpriseCoerced, path, "expected an object, got %s; ignored", kindOf(v))
			return nil
		}
		for _, k := range sortedKeys(x) {
			x[k] = s.shape(x[k], t.Elem(), join(path, k))
		}
		return x
	case reflect.Struct:
		switch x := v.(type) {
		case map[string]any:
			fields := fieldsOf(t)
			for _, k := range sortedKeys(x) {
				e := x[k]
				f, ok := fields[k]
				if !ok {
					f, ok = fields[strings.ToLower(k)]
				}
				if !ok {
					s.add(SurpriseUnknownField, join(path, k), "field not in the spec subset; ignored")
					delete(x, k)
					continue
				}
				x[k] = s.shape(e, f, join(path, k))
			}
			return x
		case []any:
			if reflect.PointerTo(t).Implements(listWrapperType) {
				// The answer is the list itself (as some provinces send 5204's).
				field := reflect.New(t).Interface().(interface{ wrapList() string }).wrapList()
				return s.shape(map[string]any{field: x}, t, path)
			}
			switch len(x) {
			case 0:
				s.add(SurpriseCoerced, path, "expected an object, got an empty list")
				return nil
			case 1:
				s.add(SurpriseCoerced, path, "expected an object, got a list of one; its element taken")
			default:
				s.add(SurpriseCoerced, path, "expected an object, got a list of %d; the first taken", len(x))
			}
			return s.shape(x[0], t, path)
		case string:
			if strings.TrimSpace(x) == "" {
				return nil
			}
			if inner := unwrapJSONString(mustQuote(x)); inner[0] == '{' {
				var iv any
				d := json.NewDecoder(bytes.NewReader(inner))
				d.UseNumber()
				if d.Decode(&iv) == nil {
					s.add(SurpriseCoerced, path, "object sent as a JSON string; unwrapped")
					return s.shape(iv, t, path)
				}
			}
		}
		s.add(SurpriseCoerced, path, "expected an object, got %s; ignored", kindOf(v))
		return nil
	}
	return v
}

// sortedKeys orders an object's keys, so that surprises come in a stable order.
func sortedKeys(m map[string]any) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

func mustQuote(s string) []byte {
	b, _ := json.Marshal(s)
	return b
}

func kindOf(v any) string {
	switch v.(type) {
	case string:
		return "text"
	case json.Number:
		return "a number"
	case bool:
		return "a flag"
	case []any:
		return "a list"
	case map[string]any:
		return "an object"
	}
	return fmt.Sprintf("%T", v)
}

var fieldCache sync.Map // reflect.Type -> map[string]reflect.Type

// fieldsOf maps a struct's JSON names (and their lower-case forms) to field types,
// flattening embedded structs as encoding/json does.
func fieldsOf(t reflect.Type) map[string]reflect.Type {
	if m, ok := fieldCache.Load(t); ok {
		return m.(map[string]reflect.Type)
	}
	m := map[string]reflect.Type{}
	var walk func(t reflect.Type)
	walk = func(t reflect.Type) {
		for i := range t.NumField() {
			f := t.Field(i)
			tag := f.Tag.Get("json")
			if tag == "-" {
				continue
			}
			name, _, _ := strings.Cut(tag, ",")
			if f.Anonymous && name == "" {
				ft := f.Type
				if ft.Kind() == reflect.Pointer {
					ft = ft.Elem()
				}
				if ft.Kind() == reflect.Struct {
					walk(ft)
					continue
				}
			}
			if !f.IsExported() {
				continue
			}
			if name == "" {
				name = f.Name
			}
			if _, dup := m[name]; !dup {
				m[name] = f.Type
			}
			if low := strings.ToLower(name); low != name {
				if _, dup := m[low]; !dup {
					m[low] = f.Type
				}
			}
		}
	}
	walk(t)
	fieldCache.Store(t, m)
	return m
}
