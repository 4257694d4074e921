package vendorlib_test

import (
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/settle-agent/settle-agent/cardreader/vendorlib"
	"github.com/settle-agent/settle-agent/internal/standin"
)

func TestMain(m *testing.M) {
	code := m.Run()
	standin.Cleanup()
	os.Exit(code)
}

func TestLib_HeaSec(t *testing.T) {
	path := standin.Build(t)
	ctl := standin.NewControl(t)
	t.Setenv("STANDIN_CTL", ctl.Path)
	l, err := vendorlib.Open(path, vendorlib.HeaSec)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	defer l.Close()
	if !l.Has("ReadSFZ") {
		t.Errorf("Has(ReadSFZ) = false; want true")
	}

	r, err := l.ReadCardBas()
	if err != nil || r.RC != -12 || string(r.Out) != "not initialised" {
		t.Fatalf("ReadCardBas before Init = %d %q, %v; want -12 \"not initialised\"", r.RC, r.Out, err)
	}
	r, err = l.Init([]byte(`{"PORT":1}`))
	if err != nil || r.RC != -11 || string(r.Out) != initMissingIP {
		t.Fatalf("Init without IP = %d %q, %v; want -11 %q", r.RC, r.Out, err, initMissingIP)
	}
	if r, err = l.Init([]byte(`{"IP":"127.0.0.1","PORT":7020}`)); err != nil || r.RC != 0 {
		t.Fatalf("Init = %d %q, %v; want 0", r.RC, r.Out, err)
	}
	if r, _ = l.ReadCardBas(); r.RC != -1 || string(r.Out) != "no card in the reader" {
		t.Errorf("ReadCardBas with no card = %d %q; want -1", r.RC, r.Out)
	}
	ctl.Set(t, "card 330100|X|\xcd\xf5|")
	if r, _ = l.ReadCardBas(); r.RC != 0 || string(r.Out) != "330100|X|\xcd\xf5|" {
		t.Errorf("ReadCardBas = %d %q; want 0 and the GBK bytes", r.RC, r.Out)
	}
	ctl.Set(t, "sfz 王|1")
	if r, _ = l.ReadSFZ(filepath.Join(t.TempDir(), "photo.bmp")); r.RC != 0 || string(r.Out) != "王|1" {
		t.Errorf("ReadSFZ = %d %q; want 0", r.RC, r.Out)
	}
	if err := l.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if _, err := l.ReadCardBas(); !errors.Is(err, vendorlib.ErrClosed) {
		t.Errorf("ReadCardBas after Close: %v; want ErrClosed", err)
	}
}

func TestLib_SSCardAndNationEC(t *testing.T) {
	path := standin.Build(t)
	ctl := standin.NewControl(t)
	t.Setenv("STANDIN_CTL", ctl.Path)
	l, err := vendorlib.Open(path, vendorlib.SSCard)
	if err != nil {
		t.Fatalf("Open sscard: %v", err)
	}
	defer l.Close()
	ctl.Set(t, "card A|B")
	if r, _ := l.IReadCardBas(3); r.RC != 0 || string(r.Out) != "A|B" {
		t.Errorf("iReadCardBas(3) = %d %q; want 0 \"A|B\"", r.RC, r.Out)
	}
	if r, _ := l.IReadCardBas(9); r.RC != -13 {
		t.Errorf("iReadCardBas(9) = %d; want -13", r.RC)
	}
	if _, err := l.ReadCardBas(); !errors.Is(err, vendorlib.ErrSymbol) {
		t.Errorf("ReadCardBas on an sscard library: %v; want ErrSymbol", err)
	}

	ec, err := vendorlib.Open(path, vendorlib.NationEC)
	if err != nil {
		t.Fatalf("Open nationec: %v", err)
	}
	defer ec.Close()
	ctl.Set(t, `ec {"code":0}`)
	if r, _ := ec.NationEcTrans("http://ec/", []byte(`{"transType":"ec.query"}`)); r.RC != 0 || string(r.Out) != `{"code":0}` {
		t.Errorf("NationEcTrans = %d %q; want 0 {\"code\":0}", r.RC, r.Out)
	}
}

func TestOpen_Errors(t *testing.T) {
	path := standin.Build(t)
	if _, err := vendorlib.Open(filepath.Join(t.TempDir(), "missing.so"), vendorlib.HeaSec); !errors.Is(err, vendorlib.ErrOpen) {
		t.Errorf("Open(missing): %v; want ErrOpen", err)
	}
	if _, err := vendorlib.Open(path, "serial"); !errors.Is(err, vendorlib.ErrInterface) {
		t.Errorf("Open(serial): %v; want ErrInterface", err)
	}
	libc, err := filepath.Glob("/lib/x86_64-linux-gnu/libm.so.6")
	if err != nil || len(libc) == 0 {
		return
	}
	if _, err := vendorlib.Open(libc[0], vendorlib.HeaSec); !errors.Is(err, vendorlib.ErrSymbol) {
		t.Errorf("Open(libm, heasec): %v; want ErrSymbol", err)
	}
}

func TestArch(t *testing.T) {
	path := standin.Build(t)
	got, err := vendorlib.Arch(path)
	if err != nil || got != runtime.GOARCH {
		t.Errorf("Arch(stand-in) = %q, %v; want %s", got, err, runtime.GOARCH)
	}
	if _, err := vendorlib.Arch(filepath.Join(t.TempDir(), "none.dll")); err == nil {
		t.Errorf("Arch of a missing file: no error")
	}
}

// TestArch_PE reads the machine of a minimal 32-bit PE header: a vendor's 32-bit DLL.
func TestArch_PE(t *testing.T) {
	b := make([]byte, 0x40+4+20+256)
	copy(b, "MZ")
	b[0x3c] = 0x40 // e_lfanew
	copy(b[0x40:], "PE\x00\x00")
	b[0x44], b[0x45] = 0x4c, 0x01 // IMAGE_FILE_MACHINE_I386
	path := filepath.Join(t.TempDir(), "SSCardDriver.dll")
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
	if got, err := vendorlib.Arch(path); err != nil || got != "386" {
		t.Errorf("Arch(32-bit PE) = %q, %v; want 386", got, err)
	}
	if _, err := vendorlib.Open(path, vendorlib.SSCard); !errors.Is(err, vendorlib.ErrOpen) || (runtime.GOARCH != "386" && !strings.Contains(err.Error(), "built for 386") && !strings.Contains(err.Error(), "32-bit x86")) {
		t.Errorf("Open(32-bit DLL) = %v; want ErrOpen naming its bitness", err)
	}
}

// initMissingIP is the stand-in's Init message without "IP": GBK, as the vendors write
// ("初始化失败：IP missing").
const initMissingIP = "\xb3\xf5\xca\xbc\xbb\xaf\xca\xa7\xb0\xdc\xa3\xbaIP missing"
