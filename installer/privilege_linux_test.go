package installer

import (
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestControl_ErrNotPrivileged_AsNobody runs TestControl_ErrNotPrivileged_Real
// in a copy of this test binary as the unprivileged user nobody, so the real
// privilege check is exercised even when the suite runs as root.
func TestControl_ErrNotPrivileged_AsNobody(t *testing.T) {
	if !isPrivileged() {
		t.Skip("not root: TestControl_ErrNotPrivileged_Real runs directly")
	}
	setpriv, err := exec.LookPath("setpriv")
	if err != nil {
		t.Skip("setpriv not installed")
	}
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(openTempDir(t), "installer.test")
	copyFile(t, self, bin, 0o755)
	cmd := exec.Command(setpriv, "--reuid=65534", "--regid=65534", "--clear-groups",
		bin, "-test.run=^TestControl_ErrNotPrivileged_Real$", "-test.v")
	cmd.Dir = filepath.Dir(bin)
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + filepath.Dir(bin)}
	out, err := cmd.CombinedOutput()
	if err != nil || !strings.Contains(string(out), "--- PASS: TestControl_ErrNotPrivileged_Real") {
		t.Errorf("as nobody: %v\n%s", err, out)
	}
}

func copyFile(t *testing.T, from, to string, mode os.FileMode) {
	t.Helper()
	src, err := os.Open(from)
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	dst, err := os.OpenFile(to, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, mode)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(dst, src); err != nil {
		t.Fatal(err)
	}
	if err := dst.Close(); err != nil {
		t.Fatal(err)
	}
}
