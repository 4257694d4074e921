package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// Folders and files this account cannot use are refused with the account named.
// /proc is a folder nobody, not even root, can create files in; chmod covers the
// unprivileged case.
func TestValidate_Files_NotWritable(t *testing.T) {
	for _, tt := range []struct{ name, toml, field string }{
		{"Store", `dir = "/tmp/settle-agent-test"`, "store.dir"},
	} {
		t.Run(tt.name+"Proc", func(t *testing.T) {
			data := strings.Replace(validTOML, tt.toml, `dir = "/proc"`, 1)
			_, err := Parse([]byte(data), "s.toml", nil)
			if p, ok := findProblem(problemsOf(t, err), tt.field); !ok || !strings.Contains(p.Reason, "is not writable by this account") {
				t.Fatalf("got %v; want %s not writable", err, tt.field)
			}
		})
	}
	t.Run("DropProc", func(t *testing.T) {
		_, err := Parse([]byte(validWith(t, "[dropfolder]\ndir = \"/proc\"\n")), "s.toml", nil)
		if p, ok := findProblem(problemsOf(t, err), "dropfolder.dir"); !ok || !strings.Contains(p.Reason, "is not writable") {
			t.Fatalf("got %v; want dropfolder.dir not writable", err)
		}
	})
	t.Run("MappingUnreadable", func(t *testing.T) {
		if os.Geteuid() == 0 {
			t.Skip("root reads every file")
		}
		p := filepath.Join(t.TempDir(), "mapping.csv")
		if err := os.WriteFile(p, []byte("x\n"), 0o000); err != nil {
			t.Fatal(err)
		}
		_, err := Parse([]byte(validWith(t, "[mapping]\nfile = \""+p+"\"\n")), "s.toml", nil)
		if pr, ok := findProblem(problemsOf(t, err), "mapping.file"); !ok || !strings.Contains(pr.Reason, "cannot be read") {
			t.Fatalf("got %v; want mapping.file unreadable", err)
		}
	})
}
