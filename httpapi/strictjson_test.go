package httpapi

import (
	"strings"
	"testing"

	settle "github.com/settle-agent/settle-agent"
)

// Issue 29 finding 8: invalid UTF-8 was stored as U+FFFD, and repeated or
// case-variant member names were taken (the last won; "Window" counted as window).
func TestBodyProblem_AmbiguousBodiesRefused(t *testing.T) {
	for name, tc := range map[string]struct {
		body, want string
	}{
		"invalid UTF-8":   {"{\"bill_no\":\"MZ1\",\"patient\":{\"psn_name\":\"\xff\xfe\"}}", "not valid UTF-8"},
		"duplicate":       {`{"bill_no":"MZ1","window":"W01","window":"W02"}`, `"window" repeats "window"`},
		"case variant":    {`{"bill_no":"MZ1","window":"W01","Window":"W02"}`, `"Window" repeats "window"`},
		"alone, cased":    {`{"bill_no":"MZ1","Window":"W02"}`, `"Window" is spelled "window"`},
		"nested, cased":   {`{"patient":{"PSN_NAME":"x"}}`, `"PSN_NAME" is spelled "psn_name"`},
		"in an array":     {`{"items":[{"line":1,"line":2}]}`, `"line" repeats "line"`},
		"nested repeated": {`{"patient":{"psn_name":"a"},"patient":{"psn_name":"b"}}`, `"patient" repeats`},
	} {
		if got := bodyProblem([]byte(tc.body), &settle.Bill{}); !strings.Contains(got, tc.want) {
			t.Errorf("%s: got %q; want it to say %s", name, got, tc.want)
		}
	}
	for _, ok := range []string{
		`{"bill_no":"MZ1","window":"W01","items":[{"line":1},{"line":2}],"patient":{"psn_name":"张伟"}}`,
		`{"unknown_field":1}`, // the decoder names it
		`{"bill_no":`,         // the decoder reports the syntax error
	} {
		if got := bodyProblem([]byte(ok), &settle.Bill{}); got != "" {
			t.Errorf("bodyProblem(%s) = %q; want none", ok, got)
		}
	}
}

func FuzzBodyProblem(f *testing.F) {
	f.Add([]byte(`{"bill_no":"MZ1","items":[{"line":1,"Line":2}],"a":{"b":[[{"c":1}]]}}`))
	f.Add([]byte(`[{"x":{"y":{}}},"s",1,null]`))
	f.Fuzz(func(t *testing.T, body []byte) {
		_ = bodyProblem(body, &settle.Bill{})
	})
}
