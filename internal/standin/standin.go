// Package standin builds the stand-in vendor library the reader tests load: a few
// lines of C exporting the heasec, sscard and nationec functions, compiled with the
// system C compiler into a temporary shared library, and steered through a control
// file (see testdata/standin.c).
package standin

import (
	"context"
	_ "embed"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"

	"github.com/settle-agent/settle-agent/cardreader/libhost"
)

//go:embed testdata/standin.c
var source []byte

// Main is the TestMain of a package whose tests start reader-host children from
// their own test binary: re-executed with childEnv=1 in its environment, the binary
// serves the library protocol on its stdin and stdout (what `settle-agent reader-host
// --stdio` does) instead of running tests; otherwise it runs the tests and removes the
// built library afterwards.
func Main(m *testing.M, childEnv string) {
	if os.Getenv(childEnv) == "1" {
		out, err := libhost.ProtectStdout()
		if err == nil {
			err = libhost.Serve(context.Background(), os.Stdin, out, nil)
		}
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	code := m.Run()
	Cleanup()
	os.Exit(code)
}

// Errors of Build.
var (
	// ErrNoCompiler marks a machine without a C compiler: the tests skip.
	ErrNoCompiler = errors.New("no C compiler (cc) on PATH: the stand-in vendor library cannot be built")
)

var (
	once    sync.Once
	libPath string
	libErr  error
	tmpDir  string
)

// Path builds the library once per test binary and returns its path. The binary's
// TestMain should call Cleanup after m.Run.
func Path() (string, error) {
	once.Do(func() {
		if runtime.GOOS != "linux" {
			libErr = errors.New("the stand-in library is built on Linux only; on Windows CI builds it with the tests of package vendorlib")
			return
		}
		cc, err := exec.LookPath("cc")
		if err != nil {
			libErr = ErrNoCompiler
			return
		}
		tmpDir, err = os.MkdirTemp("", "standin")
		if err != nil {
			libErr = err
			return
		}
		src := filepath.Join(tmpDir, "standin.c")
		if err := os.WriteFile(src, source, 0o600); err != nil {
			libErr = err
			return
		}
		libPath = filepath.Join(tmpDir, "libHeaSecReadInfo.so")
		out, err := exec.Command(cc, "-shared", "-fPIC", "-O0", "-o", libPath, src).CombinedOutput()
		if err != nil {
			libErr = errors.New("cc: " + err.Error() + ": " + string(out))
		}
	})
	return libPath, libErr
}

// Cleanup removes the built library.
func Cleanup() {
	if tmpDir != "" {
		_ = os.RemoveAll(tmpDir)
	}
}

// Build returns the library's path, or skips t with a clear message when no C
// compiler exists (and fails it when compiling failed).
func Build(t testing.TB) string {
	t.Helper()
	p, err := Path()
	if errors.Is(err, ErrNoCompiler) || (err != nil && runtime.GOOS != "linux") {
		t.Skipf("skipping: %v", err)
	}
	if err != nil {
		t.Fatalf("build the stand-in library: %v", err)
	}
	return p
}

// Control is the file that steers the library; Set rewrites it.
type Control struct{ Path string }

// NewControl returns a control file in t's temp dir, starting as "none" (no card).
func NewControl(t testing.TB) *Control {
	t.Helper()
	c := &Control{Path: filepath.Join(t.TempDir(), "standin.ctl")}
	c.Set(t, "none")
	return c
}

// Set makes the library's next calls do what s says (see testdata/standin.c).
func (c *Control) Set(t testing.TB, s string) {
	t.Helper()
	tmp := c.Path + ".tmp"
	if err := os.WriteFile(tmp, []byte(s), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, c.Path); err != nil {
		t.Fatal(err)
	}
}

// Inits returns the Init JSONs the library was called with, one per call, oldest first.
func (c *Control) Inits(t testing.TB) []string {
	t.Helper()
	b, err := os.ReadFile(c.Path + ".inits")
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		t.Fatal(err)
	}
	return strings.Split(strings.TrimSuffix(string(b), "\n"), "\n")
}

// Env is the environment entry that points the library at c.
func (c *Control) Env() string { return "STANDIN_CTL=" + c.Path }
