package settle

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
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
	"cardreader/vendorlib":    {},
	"cardreader/libhost":      {"cardreader/vendorlib"},
	"internal/standin":        {"cardreader/libhost"},
	"examples/dryrun/sendhl7": {},

	// Adapters and policies around the domain.
	"config":           {"."},
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
	"httpapi": {".", "workflow", "queue", "store", "recon", "platform", "cardreader", "ecvoucher", "catalogue"},

	// The go-live checks take the agent's parts through their Options.
	"doctor": {".", "config", "platform", "queue", "cardreader", "cardreader/libhost", "cardreader/vendorlib", "ecvoucher", "catalogue", "hisadapter"},

	// The wiring: every inner package, never the commands, the benchmarks nor the
	// simulated platform.
	"agent": {".", "config", "workflow", "store", "store/etcdstore", "queue", "platform", "platform/gmcodec", "offline", "recon",
		"httpapi", "catalogue", "hisadapter", "cardreader", "cardreader/libhost", "cardreader/vendorlib", "ecvoucher", "cluster"},

	// The whole system on the simulated platform (demo, benchmarks, agent tests).
	"internal/simagent": {".", "agent", "config", "platform", "platform/sim"},
	"bench":             {".", "agent", "config", "platform", "platform/sim", "internal/simagent"},

	// The binary wires everything.
	"cmd/settle-agent": {"*"},
}

// pkgImports is what `go list` says of one package: its path and its imports.
type pkgImports struct {
	ImportPath string
	Imports    []string
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

// modulePackages lists the module's packages with their imports of the module, as
// built for goos, through `go list -json`.
func modulePackages(t *testing.T, goos string) []pkgImports {
	t.Helper()
	cmd := exec.Command("go", "list", "-e", "-json=ImportPath,Imports,Module", "./...")
	cmd.Env = append(os.Environ(), "GOOS="+goos)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list (GOOS=%s): %v\n%s", goos, err, stderr.String())
	}
	return moduleImports(t, out)
}

// moduleImports decodes `go list -json` output and keeps the module's own imports,
// relative to the module's path.
func moduleImports(t *testing.T, out []byte) []pkgImports {
	t.Helper()
	var pkgs []pkgImports
	dec := json.NewDecoder(bytes.NewReader(out))
	for {
		var p struct {
			pkgImports
			Module struct{ Path string }
		}
		if err := dec.Decode(&p); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			t.Fatalf("go list output: %v", err)
		}
		rel := func(path string) (string, bool) {
			if path == p.Module.Path {
				return ".", true
			}
			r, ok := strings.CutPrefix(path, p.Module.Path+"/")
			return r, ok
		}
		q := pkgImports{}
		q.ImportPath, _ = rel(p.ImportPath)
		for _, imp := range p.Imports {
			if r, ok := rel(imp); ok {
				q.Imports = append(q.Imports, r)
			}
		}
		pkgs = append(pkgs, q)
	}
	return pkgs
}

// Every package imports only what docs/architecture.md allows it, on Linux and on
// Windows (OS files import differently).
func TestArchitecture_ImportsAsDrawn(t *testing.T) {
	if testing.Short() {
		t.Skip("runs go list twice")
	}
	for _, goos := range []string{"linux", "windows"} {
		pkgs := modulePackages(t, goos)
		if len(pkgs) < 10 {
			t.Fatalf("GOOS=%s: go list found %d packages; want the whole module", goos, len(pkgs))
		}
		for _, line := range forbiddenImports(allowedImports, pkgs) {
			t.Errorf("GOOS=%s: %s", goos, line)
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
		{"Allowed", []pkgImports{{"workflow", []string{".", "platform"}}, {"cmd/settle-agent", []string{"workflow", "queue", "httpapi"}}}, nil},
		{"EngineImportsQueue", []pkgImports{{"workflow", []string{".", "queue"}}},
			[]string{"workflow imports queue, which docs/architecture.md does not allow (it may import ., platform)"}},
		{"DomainImportsAnything", []pkgImports{{".", []string{"platform"}}},
			[]string{". imports platform, which docs/architecture.md does not allow (it may import )"}},
		{"UnknownPackage", []pkgImports{{"newthing", []string{"."}}},
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

// moduleImports keeps only the module's imports, relative to the module, from what
// go list prints.
func TestArchitecture_ModuleImportsFromGoList(t *testing.T) {
	out := []byte(`{"ImportPath":"example.org/m","Module":{"Path":"example.org/m"}}
{"ImportPath":"example.org/m/workflow","Imports":["context","example.org/m","example.org/m/queue","example.org/other"],"Module":{"Path":"example.org/m"}}`)
	pkgs := moduleImports(t, out)
	got := forbiddenImports(map[string][]string{".": {}, "workflow": {"."}}, pkgs)
	want := []string{"workflow imports queue, which docs/architecture.md does not allow (it may import .)"}
	if !slices.Equal(got, want) {
		t.Errorf("got %q; want %q", got, want)
	}
}
