package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// Every type error of a file is reported at once, each with its line, not only
// the first one the decoder stops at.
func TestParse_EveryTypeErrorAtOnce(t *testing.T) {
	data := "[platform]\ntimeout = \"3x\"\nbreaker_threshold = \"three\"\n\n" +
		"[api]\nlisten = 8420\nrate_limit = \"fast\"\n\n" +
		"[offline]\nmax_bill_amount = \"20.001\"\ndeadline = \"soon\"\n\n" +
		"[[window]]\nid = \"W01\"\nreader = { port = \"COM3\", baud = \"fast\" }\n"
	_, err := Parse([]byte(data), "s.toml", nil)
	got := problemsOf(t, err)
	want := []struct {
		field string
		line  int
	}{
		{"platform.timeout", 2}, {"platform.breaker_threshold", 3},
		{"api.listen", 6}, {"api.rate_limit", 7},
		{"offline.max_bill_amount", 10}, {"offline.deadline", 11},
		{"window[0].reader.baud", 15},
	}
	if len(got) != len(want) {
		t.Fatalf("got %d problems:\n%s\nwant %d", len(got), strings.Join(err.(*ValidationError).Lines(), "\n"), len(want))
	}
	for i, w := range want {
		if got[i].Field != w.field || got[i].Line != w.line {
			t.Errorf("problem %d: got %s at line %d; want %s at line %d", i, got[i].Field, got[i].Line, w.field, w.line)
		}
	}
}

// validWith is validTOML with its store in a temporary folder and extra TOML appended.
func validWith(t *testing.T, extra string) string {
	t.Helper()
	dir := filepath.ToSlash(t.TempDir())
	return strings.Replace(validTOML, `dir = "/tmp/settle-agent-test"`, `dir = "`+dir+`/data"`, 1) + extra
}

func TestValidate_Files(t *testing.T) {
	dir := t.TempDir()
	mapping := filepath.Join(dir, "mapping.csv")
	if err := os.WriteFile(mapping, []byte("his_code,med_list_codg,medins_list_codg,name,valid_from,valid_to\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	drop := filepath.Join(dir, "drop")
	if err := os.MkdirAll(drop, 0o750); err != nil {
		t.Fatal(err)
	}
	aFile := filepath.Join(dir, "a-file")
	if err := os.WriteFile(aFile, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	dropWithFileDone := filepath.Join(dir, "drop2")
	if err := os.MkdirAll(dropWithFileDone, 0o750); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dropWithFileDone, "done"), nil, 0o600); err != nil {
		t.Fatal(err)
	}
	q := func(p string) string { return `"` + filepath.ToSlash(p) + `"` }
	tests := []struct {
		name, extra, field, reason string
	}{
		{"OK", "[mapping]\nfile = " + q(mapping) + "\n[dropfolder]\ndir = " + q(drop) + "\n", "", ""},
		{"MappingMissing", "[mapping]\nfile = " + q(filepath.Join(dir, "nope.csv")) + "\n", "mapping.file", "does not exist"},
		{"MappingFolder", "[mapping]\nfile = " + q(dir) + "\n", "mapping.file", "is a folder, not a file"},
		{"DropMissing", "[dropfolder]\ndir = " + q(filepath.Join(dir, "nope")) + "\n", "dropfolder.dir", "does not exist: create it"},
		{"DropIsFile", "[dropfolder]\ndir = " + q(aFile) + "\n", "dropfolder.dir", "is a file, not a folder"},
		{"DropDoneIsFile", "[dropfolder]\ndir = " + q(dropWithFileDone) + "\n", "dropfolder.dir", "done/ inside it: is a file"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse([]byte(validWith(t, tt.extra)), "s.toml", nil)
			if tt.field == "" {
				if err != nil {
					t.Fatalf("got %v; want no problem", err)
				}
				return
			}
			p, ok := findProblem(problemsOf(t, err), tt.field)
			if !ok || !strings.Contains(p.Reason, tt.reason) {
				t.Fatalf("got %v; want a problem with %s: %q", err, tt.field, tt.reason)
			}
			if p.Line == 0 {
				t.Errorf("problem %v: got no line; want the line of %s", p, tt.field)
			}
		})
	}
	t.Run("StoreIsFile", func(t *testing.T) {
		data := strings.Replace(validTOML, `dir = "/tmp/settle-agent-test"`, `dir = `+q(aFile), 1)
		_, err := Parse([]byte(data), "s.toml", nil)
		if p, ok := findProblem(problemsOf(t, err), "store.dir"); !ok || !strings.Contains(p.Reason, "is a file") {
			t.Fatalf("got %v; want a store.dir problem", err)
		}
	})
	t.Run("StoreMissingIsFine", func(t *testing.T) {
		if _, err := Parse([]byte(validWith(t, "")), "s.toml", nil); err != nil {
			t.Fatalf("got %v; want no problem (the agent or install creates the data folder)", err)
		}
	})
}
