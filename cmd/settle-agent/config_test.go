package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// runCmd runs settle-agent in-process with the given environment.
func runCmd(t *testing.T, env map[string]string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errb bytes.Buffer
	e := &cmdEnv{stdout: &out, stderr: &errb, getenv: func(k string) string { return env[k] }}
	code = runMain(context.Background(), e, args)
	return code, out.String(), errb.String()
}

func TestConfigCommand(t *testing.T) {
	dir := t.TempDir()
	env := map[string]string{"SETTLE_AGENT_PLATFORM_TOKEN": "p", "SETTLE_AGENT_ADMIN_TOKEN": "a", "SETTLE_AGENT_W01_TOKEN": "w"}

	code, example, _ := runCmd(t, env, "config", "example")
	if code != 0 || !strings.Contains(example, "[[window]]") {
		t.Fatalf("config example: got exit %d, output %q; want 0 and a configuration", code, example)
	}
	good := filepath.Join(dir, "good.toml")
	if err := os.WriteFile(good, []byte(example), 0o600); err != nil {
		t.Fatal(err)
	}
	bad := filepath.Join(dir, "bad.toml")
	badText := strings.Replace(example, "timeout = \"3s\"", "tiemout = \"3s\"", 1)
	badText = strings.Replace(badText, `policy = "full"`, `policy = "sometimes"`, 1)
	if err := os.WriteFile(bad, []byte(badText), 0o600); err != nil {
		t.Fatal(err)
	}

	t.Run("CheckOK", func(t *testing.T) {
		code, out, errOut := runCmd(t, env, "config", "check", good)
		want := "ok: " + good + " (1 window, platform https://10.1.2.3:8080, offline policy full"
		if code != 0 || !strings.HasPrefix(out, want) {
			t.Errorf("got exit %d, stdout %q, stderr %q; want 0 and %q", code, out, errOut, want)
		}
	})
	t.Run("CheckProblems", func(t *testing.T) {
		code, out, errOut := runCmd(t, env, "config", "check", bad)
		if code == 0 || out != "" {
			t.Errorf("got exit %d, stdout %q; want non-zero and nothing on stdout", code, out)
		}
		for _, want := range []string{
			fmt.Sprintf("%s:%d:1: unknown key platform.tiemout (did you mean platform.timeout?)", bad, lineOf(badText, "tiemout")),
			fmt.Sprintf(`%s:%d:1: offline.policy = "sometimes": must be full, estimate or refuse`, bad, lineOf(badText, "policy =")),
			"2 problems; fix them",
		} {
			if !strings.Contains(errOut, want) {
				t.Errorf("stderr %q\nlacks %q", errOut, want)
			}
		}
	})
	t.Run("CheckMissingSecret", func(t *testing.T) {
		code, _, errOut := runCmd(t, nil, "config", "check", good)
		if code == 0 || !strings.Contains(errOut, "environment variable SETTLE_AGENT_W01_TOKEN is not set") {
			t.Errorf("got exit %d, stderr %q; want non-zero naming the variable", code, errOut)
		}
	})
	t.Run("CheckMissingFile", func(t *testing.T) {
		code, _, errOut := runCmd(t, env, "config", "check", filepath.Join(dir, "nope.toml"))
		if code == 0 || !strings.Contains(errOut, "nope.toml") {
			t.Errorf("got exit %d, stderr %q; want non-zero naming the file", code, errOut)
		}
	})
	t.Run("Usage", func(t *testing.T) {
		for _, args := range [][]string{{"config"}, {"config", "frobnicate"}, {"config", "check", "a", "b"}, {"config", "example", "x"}} {
			if code, _, errOut := runCmd(t, env, args...); code != 2 || errOut == "" {
				t.Errorf("%q: got exit %d, stderr %q; want 2 with a usage message", args, code, errOut)
			}
		}
		if code, _, _ := runCmd(t, env, "config", "--help"); code != 0 {
			t.Errorf("config --help: got exit %d; want 0", code)
		}
	})
}

// lineOf is the 1-based line of the first line of text that starts with prefix.
func lineOf(text, prefix string) int {
	for i, l := range strings.Split(text, "\n") {
		if strings.HasPrefix(l, prefix) {
			return i + 1
		}
	}
	return -1
}

// `config example` then `config check`, as install.md says, with the env:NAME secrets
// in the environment file beside the configuration (which the unit reads), not in
// the shell: the check reads the same file.
func TestConfigCheck_ReadsTheEnvironmentFile(t *testing.T) {
	dir := t.TempDir()
	_, example, _ := runCmd(t, nil, "config", "example")
	conf := filepath.Join(dir, "settle-agent.toml")
	if err := os.WriteFile(conf, []byte(example), 0o600); err != nil {
		t.Fatal(err)
	}
	if code, _, errOut := runCmd(t, nil, "config", "check", conf); code == 0 || !strings.Contains(errOut, "SETTLE_AGENT_PLATFORM_TOKEN") {
		t.Fatalf("check without the secrets: exit %d %s; want a problem naming SETTLE_AGENT_PLATFORM_TOKEN", code, errOut)
	}
	envText := "# secrets of the env:NAME references\nSETTLE_AGENT_PLATFORM_TOKEN=p\nSETTLE_AGENT_ADMIN_TOKEN=\"a\"\nSETTLE_AGENT_W01_TOKEN=w\n"
	if err := os.WriteFile(filepath.Join(dir, "environment"), []byte(envText), 0o600); err != nil {
		t.Fatal(err)
	}
	code, out, errOut := runCmd(t, nil, "config", "check", conf)
	if code != 0 || !strings.HasPrefix(out, "ok: ") || !strings.Contains(errOut, "environment file") {
		t.Errorf("check with the environment file beside it: exit %d\n%s%s; want ok, saying which file it read", code, out, errOut)
	}
	moved := filepath.Join(t.TempDir(), "secrets.env")
	if err := os.Rename(filepath.Join(dir, "environment"), moved); err != nil {
		t.Fatal(err)
	}
	if code, out, errOut := runCmd(t, nil, "config", "check", "--env-file", moved, conf); code != 0 {
		t.Errorf("check --env-file: exit %d\n%s%s; want ok", code, out, errOut)
	}
}
