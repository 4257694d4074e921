package queue

import (
	"bytes"
	"encoding/json"
	"fmt"
)

// RedactJSON returns a redaction for Export: in a JSON payload, every string value
// of an object member whose name is in mask is replaced by mask[name](value), at
// any depth. Other values are kept (object members come out sorted by name). A
// payload that is not JSON cannot be redacted field by field and is replaced whole
// by {"redacted":"payload of N bytes is not JSON"}.
func RedactJSON(mask map[string]func(string) string) func([]byte) []byte {
	return func(p []byte) []byte {
		if len(p) == 0 {
			return p
		}
		if !json.Valid(p) {
			return notJSON(len(p))
		}
		d := json.NewDecoder(bytes.NewReader(p))
		d.UseNumber()
		var v any
		if err := d.Decode(&v); err != nil {
			return notJSON(len(p))
		}
		b, err := json.Marshal(redactValue(v, mask))
		if err != nil {
			return notJSON(len(p))
		}
		return b
	}
}

func notJSON(n int) []byte {
	return fmt.Appendf(nil, `{"redacted":"payload of %d bytes is not JSON"}`, n)
}

func redactValue(v any, mask map[string]func(string) string) any {
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			if f, ok := mask[k]; ok {
				if s, ok := e.(string); ok {
					x[k] = f(s)
					continue
				}
			}
			x[k] = redactValue(e, mask)
		}
	case []any:
		for i, e := range x {
			x[i] = redactValue(e, mask)
		}
	}
	return v
}
