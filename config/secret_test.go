package config

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func TestSecrets_Resolve(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, dir, "w01.token", " file-secret-w01 \r\n", 0o600)
	writeFile(t, dir, "empty.token", "\n", 0o600)
	abs := filepath.ToSlash(filepath.Join(dir, "w01.token"))
	tests := []struct {
		name, token string
		env         map[string]string
		value, ref  string // when it resolves
		wantErr     string // else
	}{
		{"Inline", "inline-secret", nil, "inline-secret", "inline", ""},
		{"FileAbsolute", "file:" + abs, nil, "file-secret-w01", "file:" + abs, ""},
		{"FileRelative", "file:w01.token", nil, "file-secret-w01", "file:w01.token", ""},
		{"Env", "env:MY_TOKEN", map[string]string{"MY_TOKEN": "env-secret"}, "env-secret", "env:MY_TOKEN", ""},
		{"FileMissing", "file:nope.token", nil, "", "", `window[0].token = "file:nope.token": cannot read ` + filepath.Join(dir, "nope.token")},
		{"FileEmpty", "file:empty.token", nil, "", "", "is empty"},
		{"FileNoPath", "file:", nil, "", "", `"file:" needs a path`},
		{"EnvMissing", "env:NOT_SET_ANYWHERE", nil, "", "", `window[0].token = "env:NOT_SET_ANYWHERE": environment variable NOT_SET_ANYWHERE is not set`},
		{"EnvNoName", "env:", nil, "", "", `"env:" needs a variable name`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			data := strings.Replace(validTOML, `token = "tok-w01-aaaaaaaa"`, fmt.Sprintf("token = %q", tt.token), 1)
			path := writeFile(t, dir, "settle-agent.toml", data, 0o600)
			c, err := Load(path, envMap(tt.env))
			if tt.wantErr != "" {
				ps := problemsOf(t, err)
				if len(ps) != 1 || ps[0].Field != "window[0].token" || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("got %v; want one problem about window[0].token containing %q", err, tt.wantErr)
				}
				if ps[0].Line != 14 {
					t.Errorf("line: got %d; want 14", ps[0].Line)
				}
				if !errors.Is(err, ErrSecret) {
					t.Error("errors.Is(err, ErrSecret): got false; want true")
				}
				return
			}
			if err != nil {
				t.Fatalf("Load: %v", err)
			}
			if got := c.Windows[0].Token.Value(); got != tt.value {
				t.Errorf("value: got %q; want %q", got, tt.value)
			}
			if got := c.Windows[0].Token.Ref(); got != tt.ref {
				t.Errorf("ref: got %q; want %q", got, tt.ref)
			}
		})
	}
}

// TestSecrets_NeverPrinted puts a recognisable value in every secret and looks for it
// in everything the package prints.
func TestSecrets_NeverPrinted(t *testing.T) {
	const key = "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY="
	dir := t.TempDir()
	writeFile(t, dir, "admin.token", "SECRET-admin\n", 0o600)
	data := strings.NewReplacer(
		`token = "tok-w01-aaaaaaaa"`, `token = "SECRET-w01"`,
		`token = "tok-w02-bbbbbbbb"`, `token = "env:W02"`,
		"[store]\n", "[store]\nkey = \"env:KEY\"\nold_keys = [\"env:KEY\"]\n",
		"[platform]\n", "[platform]\npaasid = \"p\"\ntoken = \"SECRET-platform\"\n",
	).Replace(validTOML) + "[api]\nadmin_token = \"file:admin.token\"\n"
	path := writeFile(t, dir, "s.toml", data, 0o600)
	env := map[string]string{"W02": "SECRET-w02", "KEY": key}
	c, err := Load(path, envMap(env))
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	secrets := []string{"SECRET-w01", "SECRET-w02", "SECRET-platform", "SECRET-admin", key}
	if c.Windows[1].Token.Value() != "SECRET-w02" || c.Store.Key.Value() != key || c.API.AdminToken.Value() != "SECRET-admin" {
		t.Fatal("secrets did not resolve; the test would prove nothing")
	}
	var logged bytes.Buffer
	slog.New(slog.NewTextHandler(&logged, nil)).Info("config", "platform", c.Platform, "token", c.Platform.Token, "api", c.API)
	js, _ := json.Marshal(c)
	redactedBefore := c.Redacted()
	// Broken rules report secrets too: reuse tokens to provoke problems about them.
	c.Windows[1].Token = c.Windows[0].Token
	c.API.AdminToken = c.Windows[0].Token
	c.Store.Key = NewSecret("SECRET-badkey")
	verr := c.Validate()
	if verr == nil {
		t.Fatal("Validate: got nil; want problems about the reused tokens")
	}
	outputs := map[string]string{
		"Redacted":  redactedBefore,
		"Redacted2": c.Redacted(),
		"%v":        fmt.Sprintf("%v", c),
		"%+v":       fmt.Sprintf("%+v", c),
		"%#v":       fmt.Sprintf("%#v", c),
		"%s token":  fmt.Sprintf("%s %q %x", c.Platform.Token, c.Platform.Token, c.Platform.Token),
		"json":      string(js),
		"slog":      logged.String(),
		"Validate":  verr.Error(),
		"bad value": mustFail(t, strings.Replace(data, `token = "SECRET-w01"`, "token = 12345678", 1)),
	}
	for name, out := range outputs {
		for _, s := range append(secrets, "SECRET-badkey", "12345678") {
			if strings.Contains(out, s) {
				t.Errorf("%s contains the secret %q:\n%s", name, s, out)
			}
		}
	}
	if !strings.Contains(redactedBefore, "<redacted>") || !strings.Contains(redactedBefore, "window[1].token from env:W02") ||
		!strings.Contains(redactedBefore, "api.admin_token from file:admin.token") {
		t.Errorf("Redacted: want <redacted> values and references such as env:W02:\n%s", outputs["Redacted"])
	}
}

func mustFail(t *testing.T, data string) string {
	t.Helper()
	_, err := Parse([]byte(data), "s.toml", nil)
	if err == nil {
		t.Fatal("Parse: got nil; want an error")
	}
	return err.Error()
}

func TestRedacted_Parses(t *testing.T) {
	c := mustParse(t, validTOML, nil)
	out := c.Redacted()
	// The redacted tokens are all equal; everything else must read back unchanged.
	back, err := Parse([]byte(out), "redacted.toml", nil)
	ps := problemsOf(t, err)
	if len(ps) != 1 || ps[0].Field != "window[1].token" {
		t.Fatalf("problems: got %v; want only the equal redacted window tokens", err)
	}
	back.Windows[0].Token, back.Windows[1].Token = c.Windows[0].Token, c.Windows[1].Token
	back.src, back.Path = c.src, c.Path
	if len(back.Store.OldKeys) == 0 {
		back.Store.OldKeys = nil
	}
	if !reflect.DeepEqual(back, c) {
		t.Errorf("Redacted did not read back:\n got %#v\nwant %#v", back, c)
	}
}

func TestWindowByToken(t *testing.T) {
	c := mustParse(t, validTOML, nil)
	tests := []struct{ token, want string }{
		{"tok-w01-aaaaaaaa", "W01"},
		{"tok-w02-bbbbbbbb", "W02"},
		{"tok-w02-bbbbbbb", ""},
		{"", ""},
		{"TOK-W01-AAAAAAAA", ""},
	}
	for _, tt := range tests {
		w, ok := c.WindowByToken(tt.token)
		got := ""
		if ok {
			got = w.ID
		}
		if got != tt.want {
			t.Errorf("WindowByToken(%q): got %q; want %q", tt.token, got, tt.want)
		}
	}
	c.Windows[1].Token = Secret{}
	if _, ok := c.WindowByToken(""); ok {
		t.Error("WindowByToken(\"\") with an unset window token: got a window; want none")
	}
}

func TestResolveSecret(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "admin.token")
	if err := os.WriteFile(p, []byte("from-file\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	env := envMap(map[string]string{"TOK": "from-env"})
	for _, tt := range []struct{ ref, want string }{{"file:" + p, "from-file"}, {"env:TOK", "from-env"}, {"inline-value", "inline-value"}} {
		if got, err := ResolveSecret(tt.ref, env); err != nil || got != tt.want {
			t.Errorf("ResolveSecret(%q): got %q, %v; want %q", tt.ref, got, err, tt.want)
		}
	}
	for _, ref := range []string{"env:NOPE", "file:" + filepath.Join(dir, "missing")} {
		if _, err := ResolveSecret(ref, env); !errors.Is(err, ErrSecret) {
			t.Errorf("ResolveSecret(%q): got %v; want ErrSecret", ref, err)
		}
	}
}
