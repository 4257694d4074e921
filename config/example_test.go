package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestDocs_EveryKey keeps docs/config.md in step with the keys.
func TestDocs_EveryKey(t *testing.T) {
	doc, err := os.ReadFile(filepath.Join("..", "docs", "config.md"))
	if err != nil {
		t.Skipf("docs/config.md: %v", err)
	}
	for _, k := range knownKeys() {
		name := k[strings.LastIndex(k, ".")+1:]
		if name == k {
			if !strings.Contains(string(doc), "["+k+"]") {
				t.Errorf("docs/config.md has no section [%s]", k)
			}
			continue
		}
		if !strings.Contains(string(doc), "`"+name+"`") {
			t.Errorf("docs/config.md does not describe %s", k)
		}
	}
}
