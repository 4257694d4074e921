package doctor

import (
	"net/http/httptest"
	"os"
	"strings"
	"testing"

	"github.com/settle-agent/settle-agent/ecvoucher"
	"github.com/settle-agent/settle-agent/internal/standin"
)

// TestDoctor_LibraryReader loads the stand-in vendor library in a real reader-host
// child (this test binary, see TestMain), checks the decode service, and reports a
// library that cannot load.
func TestDoctor_LibraryReader(t *testing.T) {
	lib := standin.Build(t)
	ctl := standin.NewControl(t)
	ec := httptest.NewServer(ecvoucher.NewSimulator(nil))
	defer ec.Close()
	s := newDoctorSetup(t, nil)
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	s.Windows = `
[[window]]
id = "W01"
token = "w01-secret-token-0123456789"
reader = { library = "` + lib + `", interface = "heasec", init = { IP = "127.0.0.1", PORT = 7020 }, host_exe = "` + exe + `" }

[[window]]
id = "W02"
token = "w02-secret-token-0123456789"
reader = { library = "` + lib + `.missing", interface = "heasec" }

[[window]]
id = "W03"
token = "w03-secret-token-0123456789"
reader = { remote = true }
`
	s.Tail = "[evoucher]\nmode = \"http\"\nurl = \"" + ec.URL + ecvoucher.Path + "\"\n"
	o := s.Options()
	o.ReaderHostArgs = []string{"-test.run=^$"}
	o.ReaderHostEnv = []string{"DOCTOR_READER_CHILD=1", ctl.Env()}
	checks := s.Run(o)
	wantCheck(t, checks, "reader W01", CheckOK, "initialises", "ID cards too")
	c := wantCheck(t, checks, "reader W02", CheckFail, ".missing")
	if !strings.Contains(c.Fix, "vendor") {
		t.Errorf("fix for a missing library: %q", c.Fix)
	}
	wantCheck(t, checks, "reader W03", CheckOK, "remote")
	wantCheck(t, checks, "e-voucher", CheckOK, "answers ec.query")

	ec.Close()
	checks = s.Run(o)
	wantCheck(t, checks, "e-voucher", CheckFail, "cannot be read now")
}

// TestMain doubles as the reader-host child a library is loaded in (DOCTOR_READER_CHILD=1).
func TestMain(m *testing.M) { standin.Main(m, "DOCTOR_READER_CHILD") }
