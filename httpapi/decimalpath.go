package httpapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"reflect"
	"strconv"
	"strings"
	"sync"

	settle "github.com/settle-agent/settle-agent"
)

// decimalTypes are the types written on the wire as decimal strings ("25.00"),
// never as JSON numbers.
var decimalTypes = map[reflect.Type]bool{
	reflect.TypeFor[settle.Money](): true,
	reflect.TypeFor[settle.Qty]():   true,
	reflect.TypeFor[settle.Price](): true,
}

// decimalKeys caches, per request type, the paths of its decimal members with
// arrays unindexed ("total", "items[].amount") and their types.
var decimalKeys sync.Map // reflect.Type -> map[string]reflect.Type

func decimalKeysOf(t reflect.Type) map[string]reflect.Type {
	if m, ok := decimalKeys.Load(t); ok {
		return m.(map[string]reflect.Type)
	}
	out := map[string]reflect.Type{}
	var walk func(prefix string, t reflect.Type, depth int)
	walk = func(prefix string, t reflect.Type, depth int) {
		for t.Kind() == reflect.Pointer {
			t = t.Elem()
		}
		if decimalTypes[t] {
			out[prefix] = t
			return
		}
		if depth > 8 {
			return
		}
		switch t.Kind() {
		case reflect.Slice, reflect.Array:
			walk(prefix+"[]", t.Elem(), depth+1)
		case reflect.Struct:
			for i := 0; i < t.NumField(); i++ {
				f := t.Field(i)
				if !f.IsExported() {
					continue
				}
				name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
				switch {
				case name == "-":
					continue
				case name == "" && f.Anonymous:
					walk(prefix, f.Type, depth+1)
					continue
				case name == "":
					name = f.Name
				}
				key := name
				if prefix != "" {
					key = prefix + "." + name
				}
				walk(key, f.Type, depth+1)
			}
		}
	}
	walk("", t, 0)
	decimalKeys.Store(t, out)
	return out
}

// decimalPath finds the first member of body, a JSON document meant for v, that
// holds no decimal v's type can take there (a JSON number, or a string such as
// "25.001" with too many places), and names it the way the cashier's developer
// reads it: "items[0].amount". It returns "" when there is none (or body is not
// JSON).
func decimalPath(body []byte, v any) string {
	if bad := decimalFields(body, v); len(bad) > 0 {
		return bad[0].Field
	}
	return ""
}

// decimalFields names every member of body, a JSON document meant for v, that
// holds no decimal v's type can take there, each with why, in document order
// (none when body is not JSON): a bill with three bad amounts is refused once,
// naming all three.
func decimalFields(body []byte, v any) []settle.FieldError {
	keys := decimalKeysOf(reflect.TypeOf(v))
	if len(keys) == 0 {
		return nil
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	var bad []settle.FieldError
	_ = findNumbers(dec, keys, "", "", 0, &bad)
	return bad
}

// maxDecimalFields bounds how many bad members one answer names.
const maxDecimalFields = 100

// findNumbers reads one JSON value and appends to bad the concrete path of every
// bad value at a decimal key inside it (generic is the path with arrays unindexed).
func findNumbers(dec *json.Decoder, keys map[string]reflect.Type, concrete, generic string, depth int, bad *[]settle.FieldError) error {
	tok, err := dec.Token()
	if err != nil || depth > 64 {
		return err
	}
	check := func(raw []byte) {
		typ := keys[generic]
		if typ == nil || len(*bad) >= maxDecimalFields {
			return
		}
		if err := json.Unmarshal(raw, reflect.New(typ).Interface()); err != nil {
			*bad = append(*bad, settle.FieldError{Field: concrete, Reason: err.Error()})
		}
	}
	switch t := tok.(type) {
	case json.Number:
		check([]byte(t.String()))
	case string:
		if keys[generic] != nil {
			raw, _ := json.Marshal(t)
			check(raw)
		}
	case json.Delim:
		switch t {
		case '{':
			for dec.More() {
				kt, err := dec.Token()
				if err != nil {
					return err
				}
				k, _ := kt.(string)
				c, g := k, k
				if concrete != "" {
					c, g = concrete+"."+k, generic+"."+k
				}
				if err := findNumbers(dec, keys, c, g, depth+1, bad); err != nil {
					return err
				}
			}
			_, err = dec.Token() // '}'
		case '[':
			for i := 0; dec.More(); i++ {
				if err := findNumbers(dec, keys, concrete+"["+strconv.Itoa(i)+"]", generic+"[]", depth+1, bad); err != nil {
					return err
				}
			}
			_, err = dec.Token() // ']'
		}
	}
	return err
}

// otherProblems decodes body once more with every bad decimal replaced by "0" and
// returns what v's Validate then finds besides the decimals, so that one answer names
// every broken rule (a money field sent as a JSON number and the missing window
// alike). Problems on decimal members are left out: with one of them unreadable, sums
// and products cannot be judged. nil when v has no Validate or body is not JSON.
func otherProblems(body []byte, v any) []settle.FieldError {
	t := reflect.TypeOf(v)
	keys := decimalKeysOf(t)
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	var doc any
	if dec.Decode(&doc) != nil {
		return nil
	}
	var fix func(x any, generic string) any
	fix = func(x any, generic string) any {
		if typ := keys[generic]; typ != nil {
			raw, _ := json.Marshal(x)
			if json.Unmarshal(raw, reflect.New(typ).Interface()) != nil {
				return "0"
			}
			return x
		}
		switch x := x.(type) {
		case map[string]any:
			for k, e := range x {
				g := k
				if generic != "" {
					g = generic + "." + k
				}
				x[k] = fix(e, g)
			}
		case []any:
			for i, e := range x {
				x[i] = fix(e, generic+"[]")
			}
		}
		return x
	}
	raw, err := json.Marshal(fix(doc, ""))
	if err != nil {
		return nil
	}
	fresh := reflect.New(t.Elem()).Interface()
	if json.Unmarshal(raw, fresh) != nil {
		return nil
	}
	val, ok := fresh.(interface{ Validate() error })
	if !ok {
		return nil
	}
	var verr *settle.ValidationError
	if !errors.As(val.Validate(), &verr) {
		return nil
	}
	var out []settle.FieldError
	for _, f := range verr.Fields {
		if keys[genericPath(f.Field)] == nil {
			out = append(out, f)
		}
	}
	return out
}

// genericPath unindexes a concrete path: "items[0].amount" -> "items[].amount".
func genericPath(concrete string) string {
	var b strings.Builder
	skip := false
	for _, r := range concrete {
		switch {
		case r == '[':
			skip = true
			b.WriteRune(r)
		case r == ']':
			skip = false
			b.WriteRune(r)
		case !skip:
			b.WriteRune(r)
		}
	}
	return b.String()
}
