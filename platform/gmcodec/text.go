package gmcodec

import (
	"bytes"
	"encoding/json"
	"errors"
	"sort"
	"strings"
)

// SignedText is the text an envelope's signature covers: every field but cainfo,
// signtype and an empty one (null, "", {} is not empty), as key=value sorted by key
// (ASCII) and joined with &, then "&key=" + secret. A text value is itself; any other
// value its compact JSON as sent (input as its JSON, or as the ciphertext's text).
func SignedText(env map[string]json.RawMessage, secret string) ([]byte, error) {
	keys := make([]string, 0, len(env))
	for k := range env {
		if k != fieldCainfo && k != fieldSigntype {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	var b bytes.Buffer
	for _, k := range keys {
		v, err := valueText(env[k])
		if err != nil {
			return nil, errors.New("field " + clip(k) + ": " + err.Error())
		}
		if v == "" {
			continue
		}
		if b.Len() > 0 {
			b.WriteByte('&')
		}
		b.WriteString(k)
		b.WriteByte('=')
		b.WriteString(v)
	}
	b.WriteString("&key=")
	b.WriteString(secret)
	return b.Bytes(), nil
}

// valueText is a field's value in the signed text: "" for null or an empty string.
func valueText(raw json.RawMessage) (string, error) {
	t := bytes.TrimSpace(raw)
	switch {
	case len(t) == 0, bytes.Equal(t, []byte("null")):
		return "", nil
	case t[0] == '"':
		var s string
		if err := json.Unmarshal(t, &s); err != nil {
			return "", err
		}
		return s, nil
	}
	var c bytes.Buffer
	if err := json.Compact(&c, t); err != nil {
		return "", err
	}
	return c.String(), nil
}

// fields splits an envelope into its top-level fields.
func fields(env []byte) (map[string]json.RawMessage, error) {
	var m map[string]json.RawMessage
	if err := json.Unmarshal(env, &m); err != nil {
		return nil, errors.New("not a JSON envelope: " + err.Error())
	}
	if m == nil {
		return nil, errors.New("not a JSON envelope: null")
	}
	return m, nil
}

// textOf is a field's text ("" for null, absent or not a string).
func textOf(raw json.RawMessage) string {
	v, _ := valueText(raw) // a field that is not JSON text reads as ""
	return strings.TrimSpace(v)
}

func jsonString(s string) json.RawMessage {
	b, _ := json.Marshal(s) // a string always marshals
	return b
}

// marshal writes the fields back, sorted by key, without HTML escaping (the bytes
// signed are the bytes sent).
func marshal(m map[string]json.RawMessage) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(m); err != nil {
		return nil, err
	}
	return bytes.TrimRight(buf.Bytes(), "\n"), nil
}
