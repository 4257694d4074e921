package config

import (
	"crypto/sha256"
	"crypto/subtle"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// Duration is a time.Duration written in TOML as a string: "3s", "500ms", "168h".
type Duration struct{ time.Duration }

// MarshalText writes d as Go writes durations ("3s").
func (d Duration) MarshalText() ([]byte, error) { return []byte(d.Duration.String()), nil }

// UnmarshalText parses "3s", "1m30s", "168h".
func (d *Duration) UnmarshalText(b []byte) error {
	v, err := time.ParseDuration(strings.TrimSpace(string(b)))
	if err != nil {
		return fmt.Errorf("%q is not a duration; write it like \"3s\", \"500ms\" or \"168h\"", string(b))
	}
	d.Duration = v
	return nil
}

// redacted is what a secret prints as, everywhere.
const redacted = "<redacted>"

// Secret is a password-like setting: an inline value, "file:PATH" (the file's content,
// surrounding white space trimmed) or "env:NAME" (an environment variable). Load resolves the
// reference; String, GoString, MarshalText and LogValue print "<redacted>", never the value.
type Secret struct {
	ref   string // as written: the value itself, "file:..." or "env:..."
	value string // resolved value
}

// NewSecret returns an inline secret holding value (for code that builds a Config,
// such as the demo).
func NewSecret(value string) Secret { return Secret{ref: value, value: value} }

// ResolveSecret resolves a secret given outside the configuration (a command
// line flag) the way the configuration's secrets are: "file:PATH" (relative to
// the working folder) is the file's content, "env:NAME" the environment
// variable, anything else the value itself. The error never holds the value.
func ResolveSecret(ref string, getenv func(string) string) (string, error) {
	var s Secret
	if err := s.UnmarshalText([]byte(ref)); err != nil {
		return "", err
	}
	if err := s.resolve(".", getenv); err != nil {
		return "", err
	}
	return s.value, nil
}

// Value returns the secret itself. Use it only where it is needed (signing, comparing).
func (s Secret) Value() string { return s.value }

// IsSet reports whether the secret has a value (or, before resolution, a reference).
func (s Secret) IsSet() bool { return s.ref != "" || s.value != "" }

// Ref returns where the secret comes from: the "file:..." or "env:..." reference,
// "inline" for a value written in the configuration, or "" when unset.
func (s Secret) Ref() string {
	switch {
	case strings.HasPrefix(s.ref, "file:"), strings.HasPrefix(s.ref, "env:"):
		return s.ref
	case s.IsSet():
		return "inline"
	}
	return ""
}

// Equal compares v with the secret in constant time; comparing digests keeps the
// secret's length from showing in the timing too. An unset secret equals nothing.
func (s Secret) Equal(v string) bool {
	a, b := sha256.Sum256([]byte(s.value)), sha256.Sum256([]byte(v))
	return subtle.ConstantTimeCompare(a[:], b[:]) == 1 && s.value != ""
}

// String prints "<redacted>" (or "" when unset).
func (s Secret) String() string {
	if !s.IsSet() {
		return ""
	}
	return redacted
}

// GoString keeps %#v from printing the value.
func (s Secret) GoString() string { return `config.Secret("` + s.String() + `")` }

// LogValue keeps slog from printing the value.
func (s Secret) LogValue() slog.Value { return slog.StringValue(s.String()) }

// MarshalText writes "<redacted>" (or "" when unset), never the value.
func (s Secret) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// UnmarshalText takes the setting as written; Load resolves references afterwards.
func (s *Secret) UnmarshalText(b []byte) error {
	s.ref = string(b)
	s.value = ""
	if !strings.HasPrefix(s.ref, "file:") && !strings.HasPrefix(s.ref, "env:") {
		s.value = s.ref
	}
	return nil
}

// resolve fills the value from the reference. The error never contains the value.
// A relative path is taken from base, the configuration file's folder.
func (s *Secret) resolve(base string, getenv func(string) string) error {
	switch {
	case strings.HasPrefix(s.ref, "file:"):
		path := strings.TrimPrefix(s.ref, "file:")
		if path == "" {
			return fmt.Errorf("%w: \"file:\" needs a path, e.g. file:/etc/settle-agent/w01.token", ErrSecret)
		}
		if !filepath.IsAbs(path) {
			path = filepath.Join(base, path)
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return fmt.Errorf("%w: cannot read %s: %v", ErrSecret, path, pathErrReason(err))
		}
		v := strings.TrimSpace(string(b))
		if v == "" {
			return fmt.Errorf("%w: file %s is empty", ErrSecret, path)
		}
		s.value = v
	case strings.HasPrefix(s.ref, "env:"):
		name := strings.TrimPrefix(s.ref, "env:")
		if name == "" {
			return fmt.Errorf("%w: \"env:\" needs a variable name, e.g. env:SETTLE_AGENT_PLATFORM_TOKEN", ErrSecret)
		}
		v := ""
		if getenv != nil {
			v = getenv(name)
		}
		if v == "" {
			return fmt.Errorf("%w: environment variable %s is not set", ErrSecret, name)
		}
		s.value = v
	default:
		s.value = s.ref
	}
	return nil
}

// pathErrReason is an *os.PathError's reason without the path repeated.
func pathErrReason(err error) string {
	if pe, ok := err.(*os.PathError); ok {
		return pe.Err.Error()
	}
	return err.Error()
}
