package settle_test

import (
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// A log line quoted in the docs (slog's text form: msg="…" key=value …).
var (
	docLogMsg  = regexp.MustCompile(`msg="((?:[^"\\]|\\.)*)"((?:[ \t]+[a-z_]+=(?:"(?:[^"\\]|\\.)*"|\S+))*)`)
	docLogAttr = regexp.MustCompile(`[ \t]([a-z_]+)=`)
)

// Every log line README.md and docs/ quote is one the program writes: its message is
// a string literal of a (non-test) Go file, and every attribute key it shows is a
// string literal of that same file.
func TestDocs_QuotedLogLinesAreLogged(t *testing.T) {
	sources := map[string]string{} // path -> text of every non-test Go file
	err := filepath.WalkDir(".", func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (strings.HasPrefix(d.Name(), ".") || d.Name() == "testdata") && path != "." {
			return filepath.SkipDir
		}
		if d.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		b, err := os.ReadFile(path)
		sources[path] = string(b)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	docs, err := filepath.Glob("docs/*.md")
	if err != nil {
		t.Fatal(err)
	}
	quoted := 0
	for _, doc := range append(docs, "README.md") {
		b, err := os.ReadFile(doc)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range docLogMsg.FindAllStringSubmatch(string(b), -1) {
			quoted++
			msg := `"` + m[1] + `"`
			var in []string
			for path, src := range sources {
				if strings.Contains(src, msg) {
					in = append(in, path)
				}
			}
			if len(in) == 0 {
				t.Errorf("%s quotes the log line msg=%s; got no Go file that logs it; want the docs to quote what the program writes", doc, msg)
				continue
			}
			for _, a := range docLogAttr.FindAllStringSubmatch(m[2], -1) {
				found := false
				for _, path := range in {
					found = found || strings.Contains(sources[path], `"`+a[1]+`"`)
				}
				if !found {
					t.Errorf("%s quotes msg=%s with %s=; got no such key where it is logged (%s)", doc, msg, a[1], strings.Join(in, ", "))
				}
			}
		}
	}
	if quoted == 0 {
		t.Fatal("found no quoted log line in docs/; want at least docs/offline.md's")
	}
}
