package httpapi

import (
	"bytes"
	"encoding/json"
	"fmt"
	"reflect"
	"strings"
	"sync"
	"unicode/utf8"
)

// bodyProblem says what makes a JSON body ambiguous before it is decoded into v, and ""
// when nothing does. encoding/json would take such a body silently: it replaces invalid
// UTF-8 with U+FFFD (a name stored as something the cashier never typed), lets the last
// of two equal members win, and matches member names case-insensitively ("Window"
// counts as "window", and {"window":"W01","Window":"W02"} is W02). Each of these is
// refused: what is stored is exactly what was sent.
func bodyProblem(body []byte, v any) string {
	if !utf8.Valid(body) {
		return "the body is not valid UTF-8: send the text as UTF-8"
	}
	names := jsonNamesOf(reflect.TypeOf(v))
	type frame struct {
		object, wantKey bool
		keys            map[string]string // case-folded -> as sent
	}
	var stack []*frame
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	for {
		tok, err := dec.Token()
		if err != nil {
			return "" // the end, or a syntax error the decoder reports itself
		}
		var top *frame
		if len(stack) > 0 {
			top = stack[len(stack)-1]
		}
		if d, ok := tok.(json.Delim); ok {
			switch d {
			case '{', '[':
				if top != nil && top.object {
					top.wantKey = true // this container is a member's value
				}
				stack = append(stack, &frame{object: d == '{', wantKey: d == '{', keys: map[string]string{}})
			default:
				stack = stack[:len(stack)-1]
			}
			continue
		}
		if top == nil || !top.object {
			continue
		}
		if !top.wantKey {
			top.wantKey = true
			continue
		}
		top.wantKey = false
		key, _ := tok.(string)
		folded := strings.ToLower(key)
		if prev, dup := top.keys[folded]; dup {
			return fmt.Sprintf("member %s repeats %s in the same object (names are case-sensitive): send each member once", quoted(key), quoted(prev))
		}
		top.keys[folded] = key
		if want, known := names.folded[folded]; known && !names.open && want != key {
			return fmt.Sprintf("member %s is spelled %s by the API (names are case-sensitive)", quoted(key), quoted(want))
		}
	}
}

// jsonNames are the member names of a request type and every type inside it.
type jsonNames struct {
	folded map[string]string // lower case -> as the API spells it
	open   bool              // a map inside takes any name: spelling is not checked
}

var jsonNamesCache sync.Map // reflect.Type -> jsonNames

func jsonNamesOf(t reflect.Type) jsonNames {
	if n, ok := jsonNamesCache.Load(t); ok {
		return n.(jsonNames)
	}
	n := jsonNames{folded: map[string]string{}}
	seen := map[reflect.Type]bool{}
	unmarshaler := reflect.TypeFor[json.Unmarshaler]()
	var walk func(reflect.Type)
	walk = func(t reflect.Type) {
		if t == nil || seen[t] {
			return
		}
		seen[t] = true
		if t.Kind() != reflect.Pointer && reflect.PointerTo(t).Implements(unmarshaler) {
			return // decodes itself (money, times): a JSON string, no members
		}
		switch t.Kind() {
		case reflect.Pointer, reflect.Slice, reflect.Array:
			walk(t.Elem())
		case reflect.Map, reflect.Interface:
			n.open = true
		case reflect.Struct:
			for i := range t.NumField() {
				f := t.Field(i)
				name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
				if name == "-" || !f.IsExported() && !f.Anonymous {
					continue
				}
				if f.Anonymous && name == "" {
					walk(f.Type)
					continue
				}
				if name == "" {
					name = f.Name
				}
				n.folded[strings.ToLower(name)] = name
				walk(f.Type)
			}
		}
	}
	walk(t)
	jsonNamesCache.Store(t, n)
	return n
}
