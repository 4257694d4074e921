package config

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// validTOML is a small configuration that passes Validate with tokens inline.
const validTOML = `[hospital]
fixmedins_code = "H33010200001"
fixmedins_name = "Test Hospital"
admdvs = "330100"

[platform]
base_url = "https://127.0.0.1:8080"

[store]
dir = "/tmp/settle-agent-test"

[[window]]
id = "W01"
token = "tok-w01-aaaaaaaa"
reader = { port = "/dev/ttyUSB0" }

[[window]]
id = "W02"
token = "tok-w02-bbbbbbbb"
`

// envMap is a getenv over a map.
func envMap(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}

// mustParse parses data and fails the test on any error.
func mustParse(tb testing.TB, data string, env map[string]string) *Config {
	tb.Helper()
	c, err := Parse([]byte(data), "settle-agent.toml", envMap(env))
	if err != nil {
		tb.Fatalf("Parse: %v", err)
	}
	return c
}

// problemsOf returns err's problems, failing the test when err is not a *ValidationError.
func problemsOf(tb testing.TB, err error) []Problem {
	tb.Helper()
	var v *ValidationError
	if !errors.As(err, &v) {
		tb.Fatalf("got error %v (%T); want *ValidationError", err, err)
	}
	return v.Problems
}

// findProblem returns the problem about field.
func findProblem(ps []Problem, field string) (Problem, bool) {
	for _, p := range ps {
		if p.Field == field {
			return p, true
		}
	}
	return Problem{}, false
}

// writeFile writes content to name under dir with mode and returns the path.
func writeFile(tb testing.TB, dir, name, content string, mode os.FileMode) string {
	tb.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(content), mode); err != nil {
		tb.Fatal(err)
	}
	if err := os.Chmod(p, mode); err != nil { // umask may have narrowed it
		tb.Fatal(err)
	}
	return p
}

func fields(ps []Problem) string {
	var out []string
	for _, p := range ps {
		out = append(out, p.Field)
	}
	return strings.Join(out, ", ")
}
