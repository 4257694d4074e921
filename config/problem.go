package config

import (
	"fmt"
	"sort"
	"strings"

	"github.com/settle-agent/settle-agent"
)

// ReasonUnknownKey is the Reason of a Problem about a key the configuration does not have.
const ReasonUnknownKey = "unknown key"

// Problem is one thing wrong with the configuration.
type Problem struct {
	Field  string // TOML key: "platform.timeout", "window[1].token"
	Value  string // the value as written; for a secret only its reference or "<redacted>"
	Reason string // what is wrong and what to write instead
	Line   int    // 1-based line in the file; 0 when not from the file
	Column int    // 1-based column of the key; 0 when unknown
	Env    string // the environment variable that set the value, if one did

	secret bool // a secret reference could not be resolved
}

// IsSecret reports whether p is a secret reference that could not be resolved
// (a missing file or environment variable), the problem errors.Is(err, ErrSecret)
// finds.
func (p Problem) IsSecret() bool { return p.secret }

// String renders p as "file:line:col: field = "value": reason", the way compilers do.
func (p Problem) String() string { return p.format("") }

func (p Problem) format(name string) string {
	var b strings.Builder
	switch {
	case p.Env != "":
		b.WriteString(p.Env + ": ")
	case p.Line > 0:
		if name == "" {
			name = "line"
		}
		fmt.Fprintf(&b, "%s:%d:", name, p.Line)
		if p.Column > 0 {
			fmt.Fprintf(&b, "%d:", p.Column)
		}
		b.WriteString(" ")
	case name != "":
		b.WriteString(name + ": ")
	}
	if strings.HasPrefix(p.Reason, ReasonUnknownKey) {
		b.WriteString(ReasonUnknownKey + " " + p.Field + strings.TrimPrefix(p.Reason, ReasonUnknownKey))
		return b.String()
	}
	if p.Field != "" {
		b.WriteString(p.Field)
		if p.Value != "" || p.Env != "" {
			fmt.Fprintf(&b, " = %q", p.Value)
		}
		b.WriteString(": ")
	}
	b.WriteString(p.Reason)
	return b.String()
}

// ValidationError lists every problem of a configuration at once. It matches
// settle.ErrInvalid with errors.Is.
type ValidationError struct {
	Name     string // the file name used in messages
	Problems []Problem
}

// Lines renders each problem on its own, prefixed with the file name and line.
func (e *ValidationError) Lines() []string {
	out := make([]string, len(e.Problems))
	for i, p := range e.Problems {
		out[i] = p.format(e.Name)
	}
	return out
}

func (e *ValidationError) Error() string {
	if len(e.Problems) == 1 {
		return "invalid configuration: " + e.Problems[0].format(e.Name)
	}
	return fmt.Sprintf("invalid configuration, %d problems:\n  %s", len(e.Problems), strings.Join(e.Lines(), "\n  "))
}

// Is makes errors.Is(err, settle.ErrInvalid) true, and errors.Is(err, ErrUnknownKey)
// or errors.Is(err, ErrSecret) true when such a problem is among them.
func (e *ValidationError) Is(target error) bool {
	switch target {
	case settle.ErrInvalid:
		return true
	case ErrUnknownKey:
		for _, p := range e.Problems {
			if strings.HasPrefix(p.Reason, ReasonUnknownKey) {
				return true
			}
		}
	case ErrSecret:
		for _, p := range e.Problems {
			if p.secret {
				return true
			}
		}
	}
	return false
}

// sort puts the problems with a line in file order first, the rest after, each group
// otherwise in the order found.
func (e *ValidationError) sort() {
	sort.SliceStable(e.Problems, func(i, j int) bool {
		a, b := e.Problems[i], e.Problems[j]
		if (a.Line > 0) != (b.Line > 0) {
			return a.Line > 0
		}
		return a.Line < b.Line
	})
}
