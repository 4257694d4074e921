package settle

import (
	"errors"
	"fmt"
	"go/build"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"sort"
	"strings"
	"testing"
)

// The package structure of docs/architecture.md ("Packages"), pinned: for every
// package of the module, the module packages it may import (without tests). A new
// package needs a line here and a row in that table; an import the table does not
// allow fails TestArchitecture_ImportsAsDrawn naming the offending import.
//
// Paths are relative to the module ("." is the root package settle). "*" allows
// every package of the module (the binary and the wiring).
var allowedImports = map[string][]string{
	// The domain: nothing of the module.
	".": {},

	// Leaves that know no insurance.
	"queue":                   {},
	"internal/csvsafe":        {},
	"internal/golden":         {},
	"internal/syncbuf":        {},
	"internal/poll":           {},
	"internal/wine":           {},
	"cardreader/vendorlib":    {},
	"cardreader/libhost":      {"cardreader/vendorlib"},
	"internal/standin":        {"cardreader/libhost"},
	"examples/dryrun/sendhl7": {},

	// Adapters and policies around the domain.
	"config":           {".", "platform/gmcodec"}, // [platform.crypto] is checked by the codec's own Check
	"offline":          {"."},
	"hisadapter":       {"."},
	"installer":        {"."},
	"platform":         {".", "platform/gmcodec"},
	"platform/gmcodec": {"."},
	"platform/sim":     {".", "platform", "platform/gmcodec"},
	"ecvoucher":        {".", "cardreader/libhost"},
	"cardreader":       {".", "cardreader/libhost", "cardreader/vendorlib", "ecvoucher"},
	"catalogue":        {".", "platform", "hisadapter"},
	"recon":            {".", "platform", "internal/csvsafe"},

	// The engine sees the store, the platform and the mapping through its ports.
	"workflow": {".", "offline", "platform"},

	// Implementations of the engine's Store.
	"store":           {".", "queue", "workflow"},
	"store/etcdstore": {".", "queue", "store", "workflow"},
	"store/storetest": {".", "queue", "store", "workflow"},

	// A group of agents on etcd.
	"cluster": {".", "config", "store/etcdstore", "workflow"},

	// The HTTP adapter: the engine's results and sentinels, the queue's records, the
	// day's report, the readers' states, the catalogue's reports.
	"httpapi": {".", "workflow", "queue", "store", "recon", "platform", "cardreader", "ecvoucher", "catalogue", "cluster"},

	// The go-live checks take the agent's parts through their Options.
	"doctor": {".", "cluster", "config", "platform", "platform/gmcodec", "queue", "cardreader", "cardreader/libhost", "cardreader/vendorlib", "ecvoucher", "catalogue", "hisadapter"},

	// The wiring: every inner package, never the commands, the benchmarks nor the
	// simulated platform.
	"agent": {".", "config", "workflow", "store", "store/etcdstore", "queue", "platform", "platform/gmcodec", "offline", "recon",
		"httpapi", "catalogue", "hisadapter", "cardreader", "cardreader/libhost", "cardreader/vendorlib", "ecvoucher", "cluster"},

	// The whole system on the simulated platform (demo, benchmarks, agent tests).
	"internal/simagent": {".", "agent", "config", "platform", "platform/sim"},
	"bench":             {".", "agent", "config", "platform", "platform/sim", "internal/simagent"},

	// The admin API's client the commands share.
	"internal/adminclient": {"catalogue", "queue", "cluster"},

	// The binary wires everything.
	"cmd/settle-agent": {"*"},
}

// pkgImports is what `go list` says of one package: its path and its imports.
type pkgImports struct {
	ImportPath string
	Imports    []string
	// External are its imports from outside the module.
	External []string
}

// forbiddenImports checks pkgs (paths relative to the module) against allowed and
// says, one line each, which package imports what the table does not allow, and
// which package the table does not know.
func forbiddenImports(allowed map[string][]string, pkgs []pkgImports) []string {
	var bad []string
	for _, p := range pkgs {
		may, known := allowed[p.ImportPath]
		if !known {
			bad = append(bad, fmt.Sprintf("package %s is not in the table: add it to allowedImports in deps_test.go and to docs/architecture.md", p.ImportPath))
			continue
		}
		if slices.Contains(may, "*") {
			continue
		}
		for _, imp := range p.Imports {
			if imp != p.ImportPath && !slices.Contains(may, imp) {
				bad = append(bad, fmt.Sprintf("%s imports %s, which docs/architecture.md does not allow (it may import %s)", p.ImportPath, imp, strings.Join(may, ", ")))
			}
		}
	}
	sort.Strings(bad)
	return slices.Compact(bad)
}

// modulePackages reads the packages of the module rooted at root with their
// imports of the module (relative to it), as built for goos. It reads the files
// itself (go/build), so that `go test` knows them and reruns this test when one
// changes.
func modulePackages(t *testing.T, root, goos string) []pkgImports {
	t.Helper()
	mod, err := os.ReadFile(filepath.Join(root, "go.mod"))
	if err != nil {
		t.Fatal(err)
	}
	var modPath string
	for _, line := range strings.Split(string(mod), "\n") {
		if rest, ok := strings.CutPrefix(strings.TrimSpace(line), "module "); ok {
			modPath = strings.Trim(strings.TrimSpace(rest), `"`)
			break
		}
	}
	ctxt := build.Default
	ctxt.GOOS = goos
	if goos != runtime.GOOS {
		ctxt.CgoEnabled = false
	}
	var pkgs []pkgImports
	err = filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil || !d.IsDir() {
			return err
		}
		if name := d.Name(); path != root && (name == "testdata" || name == "vendor" || strings.HasPrefix(name, ".") || strings.HasPrefix(name, "_")) {
			return filepath.SkipDir
		}
		if path != root {
			if _, err := os.Stat(filepath.Join(path, "go.mod")); err == nil {
				return filepath.SkipDir // another module
			}
		}
		bp, err := ctxt.ImportDir(path, 0)
		var noGo *build.NoGoError
		if errors.As(err, &noGo) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("%s: %w", path, err)
		}
		rel, _ := filepath.Rel(root, path)
		p := pkgImports{ImportPath: filepath.ToSlash(rel)}
		for _, imp := range bp.Imports {
			if imp == modPath {
				p.Imports = append(p.Imports, ".")
			} else if r, ok := strings.CutPrefix(imp, modPath+"/"); ok {
				p.Imports = append(p.Imports, r)
			} else {
				p.External = append(p.External, imp)
			}
		}
		pkgs = append(pkgs, p)
		return nil
	})
	if err != nil {
		t.Fatalf("read the module's packages (GOOS=%s): %v", goos, err)
	}
	return pkgs
}

// Every package imports only what docs/architecture.md allows it, on Linux and on
// Windows (OS files import differently).
func TestArchitecture_ImportsAsDrawn(t *testing.T) {
	for _, goos := range []string{"linux", "windows"} {
		pkgs := modulePackages(t, ".", goos)
		if len(pkgs) < 10 {
			t.Fatalf("GOOS=%s: found %d packages; want the whole module", goos, len(pkgs))
		}
		for _, line := range forbiddenImports(allowedImports, pkgs) {
			t.Errorf("GOOS=%s: %s", goos, line)
		}
	}
}

// Only the packages that own a bbolt file open one: the queue (and the agent's
// buckets in its file), the store, and the catalogue's own file.
var bboltOwners = []string{"queue", "store", "catalogue"}

// No package but bboltOwners imports bbolt.
func TestArchitecture_OnlyStorageTouchesBbolt(t *testing.T) {
	for _, goos := range []string{"linux", "windows"} {
		for _, p := range modulePackages(t, ".", goos) {
			for _, imp := range p.External {
				if strings.HasPrefix(imp, "go.etcd.io/bbolt") && !slices.Contains(bboltOwners, p.ImportPath) {
					t.Errorf("GOOS=%s: %s imports %s; only %s open bbolt files (go through their APIs)", goos, p.ImportPath, imp, strings.Join(bboltOwners, ", "))
				}
			}
		}
	}
}

// The checker names an import the table forbids and a package it does not know,
// and lets through what the table allows.
func TestArchitecture_ForbiddenImportNamed(t *testing.T) {
	rules := map[string][]string{
		".":                {},
		"queue":            {},
		"workflow":         {".", "platform"},
		"platform":         {"."},
		"cmd/settle-agent": {"*"},
	}
	for _, tc := range []struct {
		name string
		pkgs []pkgImports
		want []string
	}{
		{"Allowed", []pkgImports{{ImportPath: "workflow", Imports: []string{".", "platform"}}, {ImportPath: "cmd/settle-agent", Imports: []string{"workflow", "queue", "httpapi"}}}, nil},
		{"EngineImportsQueue", []pkgImports{{ImportPath: "workflow", Imports: []string{".", "queue"}}},
			[]string{"workflow imports queue, which docs/architecture.md does not allow (it may import ., platform)"}},
		{"DomainImportsAnything", []pkgImports{{ImportPath: ".", Imports: []string{"platform"}}},
			[]string{". imports platform, which docs/architecture.md does not allow (it may import )"}},
		{"UnknownPackage", []pkgImports{{ImportPath: "newthing", Imports: []string{"."}}},
			[]string{"package newthing is not in the table: add it to allowedImports in deps_test.go and to docs/architecture.md"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := forbiddenImports(rules, tc.pkgs)
			if !slices.Equal(got, tc.want) {
				t.Errorf("got %q; want %q", got, tc.want)
			}
		})
	}
}

// On a module written to disk, a package importing what the table forbids is
// named, in a file for one OS only too, and test files do not count.
func TestArchitecture_ModuleOnDiskChecked(t *testing.T) {
	root := t.TempDir()
	write := func(name, text string) {
		t.Helper()
		path := filepath.Join(root, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("go.mod", "module example.org/m\n\ngo 1.22\n")
	write("m.go", "package m\n")
	write("queue/queue.go", "package queue\n")
	write("workflow/workflow.go", "package workflow\n\nimport (\n\t\"context\"\n\n\t\"example.org/m\"\n)\n\nvar _ m.T\nvar _ context.Context\n")
	write("workflow/os_windows.go", "package workflow\n\nimport _ \"example.org/m/queue\"\n")
	write("workflow/workflow_test.go", "package workflow\n\nimport _ \"example.org/m/queue\"\n")
	write("testdata/x/x.go", "package x\n\nimport _ \"example.org/m/workflow\"\n")
	rules := map[string][]string{".": {}, "queue": {}, "workflow": {"."}}
	for _, tc := range []struct {
		goos string
		want []string
	}{
		{"linux", nil},
		{"windows", []string{"workflow imports queue, which docs/architecture.md does not allow (it may import .)"}},
	} {
		if got := forbiddenImports(rules, modulePackages(t, root, tc.goos)); !slices.Equal(got, tc.want) {
			t.Errorf("GOOS=%s: got %q; want %q", tc.goos, got, tc.want)
		}
	}
}
