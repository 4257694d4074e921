package doctor

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/settle-agent/settle-agent/agent"
	"github.com/settle-agent/settle-agent/cardreader"
	"github.com/settle-agent/settle-agent/config"
	"github.com/settle-agent/settle-agent/platform"
	"github.com/settle-agent/settle-agent/platform/sim"
	"github.com/settle-agent/settle-agent/queue"
)

func TestDoctor_AllOK(t *testing.T) {
	t.Parallel()
	s := newDoctorSetup(t, nil)
	s.Windows += `
[[window]]
id = "W02"
token = "w02-secret-token-0123456789"
reader = { port = "SIM-W02", protocol = "frame", read_timeout = "100ms" }
scanner = { port = "SIM-W02-QR", protocol = "line" }
`
	// A store with two queued bills.
	if err := os.MkdirAll(s.DataDir, 0o750); err != nil {
		t.Fatal(err)
	}
	st, err := queue.Open(filepath.Join(s.DataDir, agent.StoreFile), nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"a", "b"} {
		if _, err := st.Enqueue(context.Background(), k, []byte(`{}`)); err != nil {
			t.Fatal(err)
		}
	}
	st.Close()
	mapping := filepath.Join(t.TempDir(), "mapping.csv")
	if err := os.WriteFile(mapping, sim.DemoFixture().MappingCSV(), 0o600); err != nil {
		t.Fatal(err)
	}
	drop := t.TempDir()
	s.Tail += fmt.Sprintf("\n[mapping]\nfile = %q\n\n[dropfolder]\ndir = %q\n", filepath.ToSlash(mapping), filepath.ToSlash(drop))
	syncCatalogue(t, s.DataDir, s.BaseURL)

	checks := s.Run(s.Options())
	var names []string
	for _, c := range checks {
		names = append(names, c.Name)
	}
	want := "configuration,data folder,free space,item mapping,drop folder,store,catalogue,api listen,reader W01,reader W02,scanner W02,platform,clock skew"
	if got := strings.Join(names, ","); got != want {
		t.Errorf("checks: got %s; want %s", got, want)
	}
	if n := Failed(checks); n != 0 {
		t.Errorf("Failed: got %d; want 0", n)
	}
	for _, c := range checks {
		if c.Status != CheckOK {
			t.Errorf("%s: got %s (%s); want ok", c.Name, c.Status, c.Detail)
		}
	}
	wantCheck(t, checks, "store", CheckOK, "2 queued, 0 failed, 0 dead")
	wantCheck(t, checks, "item mapping", CheckOK, filepath.ToSlash(mapping), fmt.Sprintf("%d HIS codes", len(sim.DemoFixture().Catalogue())))
	wantCheck(t, checks, "drop folder", CheckOK, filepath.ToSlash(drop)+" is writable")
	wantCheck(t, checks, "reader W01", CheckOK, `firmware "`+cardreader.SimFirmware+`"`)
	wantCheck(t, checks, "scanner W02", CheckOK, "SIM-W02-QR opens")
	wantCheck(t, checks, "platform", CheckOK, "signed in to "+s.BaseURL, "signed out again")
	wantCheck(t, checks, "clock skew", CheckOK, "HTTP Date")
	if st := s.Sim.Stats(); st[platform.InfnoSignIn] != 1 || st[platform.InfnoSignOut] != 1 {
		t.Errorf("simulator saw %v; want one 9001 and one 9002", st)
	}
}

func TestDoctor_Msgids_NeverRepeat(t *testing.T) {
	s := newDoctorSetup(t, nil)
	o := s.Options()
	for range 3 {
		if c := wantCheck(t, s.Run(o), "platform", CheckOK); c.Status != CheckOK {
			t.FailNow()
		}
	}
	if rep := s.Sim.RepeatedMsgids(); len(rep) != 0 {
		t.Errorf("repeated msgids over three runs: %v", rep)
	}
}

func TestDoctorMsgid(t *testing.T) {
	at := time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC) // 13:06:07 in Beijing
	for _, tc := range []struct {
		node, n int
		seq     int
	}{{-1, 0, 9999}, {-1, 1, 9998}, {0, 0, 999}, {3, 0, 3999}, {9, 1, 9998}} {
		id := doctorMsgid("H33010200001", tc.node, at, tc.n)
		code, when, seq, err := platform.ParseMsgid(id)
		if err != nil {
			t.Fatalf("ParseMsgid(%q): %v", id, err)
		}
		if code != "H33010200001" || !when.Equal(at) || seq != tc.seq {
			t.Errorf("node %d n %d: got %s %v %d; want H33010200001 %v %d", tc.node, tc.n, code, when, seq, at, tc.seq)
		}
	}
}

func TestDoctor_Config_Problems(t *testing.T) {
	t.Parallel()
	s := newDoctorSetup(t, nil)
	s.PlatformExtra = "colour = \"blue\"\nbreaker_threshold = -3\n"
	checks := s.Run(s.Options())
	cfg := named(checks, "configuration")
	if len(cfg) != 3 {
		t.Fatalf("configuration checks: got %d; want 3 (summary and 2 problems): %+v", len(cfg), cfg)
	}
	if !strings.Contains(cfg[0].Detail, "2 problems") || cfg[0].Fix == "" {
		t.Errorf("summary: got %+v; want 2 problems with a fix", cfg[0])
	}
	joined := cfg[1].Detail + "\n" + cfg[2].Detail
	for _, want := range []string{"colour", "breaker_threshold", "settle-agent.toml:"} {
		if !strings.Contains(joined, want) {
			t.Errorf("problems %q do not name %q", joined, want)
		}
	}
	for _, c := range cfg {
		if c.Status != CheckFail {
			t.Errorf("configuration: got %s; want fail", c.Status)
		}
	}
	// The rest is still checked with what could be read.
	wantCheck(t, checks, "platform", CheckOK)
	wantCheck(t, checks, "store", CheckOK)
}

func TestDoctor_Config_Given(t *testing.T) {
	t.Parallel()
	s := newDoctorSetup(t, nil)
	o := s.Options()
	cfg, err := config.Load(o.ConfigPath, noEnv)
	if err != nil {
		t.Fatal(err)
	}
	o.ConfigPath = "" // not read: the given configuration is checked
	wantCheck(t, s.Run2(cfg, o), "configuration", CheckOK, cfg.Path, "1 window")
	cfg.Windows[0].ID = ""
	wantCheck(t, s.Run2(cfg, o)[:1], "configuration", CheckFail, "1 problem")
}

func TestDoctor_Config_Missing(t *testing.T) {
	t.Parallel()
	s := newDoctorSetup(t, nil)
	env := map[string]string{
		"SETTLE_AGENT_STORE_DIR":         s.DataDir,
		"SETTLE_AGENT_API_LISTEN":        s.APIAddr,
		"SETTLE_AGENT_PLATFORM_BASE_URL": s.BaseURL,
	}
	checks := s.Run(Options{
		ConfigPath:      filepath.Join(t.TempDir(), "nope.toml"),
		Getenv:          func(k string) string { return env[k] },
		OpenPort:        func(cardreader.Config) (io.ReadWriteCloser, error) { return nil, errors.New("no such port") },
		PlatformOptions: agent.PlatformOptions,
	})
	wantCheck(t, checks, "configuration", CheckFail, "nope.toml", "going on with the defaults")
	wantCheck(t, checks, "data folder", CheckOK, s.DataDir)
	wantCheck(t, checks, "api listen", CheckOK, s.APIAddr)
	wantCheck(t, checks, "reader W01", CheckFail, "no such port")
}

func TestDoctor_Config_Permissions(t *testing.T) {
	t.Parallel()
	s := newDoctorSetup(t, nil)
	o := s.Options()
	if err := os.Chmod(o.ConfigPath, 0o666); err != nil {
		t.Fatal(err)
	}
	checks := s.Run(o)
	warned := false
	for _, c := range named(checks, "configuration") {
		if c.Status == CheckWarn && strings.Contains(c.Detail, "chmod") {
			warned = true
		}
	}
	if len(config.PermissionWarnings(o.ConfigPath)) > 0 && !warned {
		t.Errorf("a world-writable configuration: got %+v; want a warning", named(checks, "configuration"))
	}
}

func TestDoctor_DataFolder(t *testing.T) {
	t.Parallel()
	t.Run("IsAFile", func(t *testing.T) {
		t.Parallel()
		s := newDoctorSetup(t, nil)
		if err := os.WriteFile(s.DataDir, []byte("x"), 0o600); err != nil {
			t.Fatal(err)
		}
		checks := s.Run(s.Options())
		wantCheck(t, checks, "data folder", CheckFail, "is a file")
		wantCheck(t, checks, "free space", CheckOK)
	})
	t.Run("Missing", func(t *testing.T) {
		t.Parallel()
		s := newDoctorSetup(t, nil)
		s.DataDir = filepath.Join(s.DataDir, "deeper")
		checks := s.Run(s.Options())
		wantCheck(t, checks, "data folder", CheckOK, "does not exist yet; it can be created")
		wantCheck(t, checks, "store", CheckOK, "none yet")
		if _, err := os.Stat(filepath.Dir(s.DataDir)); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("doctor made the data folder (or its parent): stat: %v; want it left to install", err)
		}
	})
	t.Run("Writable", func(t *testing.T) {
		t.Parallel()
		s := newDoctorSetup(t, nil)
		if err := os.MkdirAll(s.DataDir, 0o750); err != nil {
			t.Fatal(err)
		}
		wantCheck(t, s.Run(s.Options()), "data folder", CheckOK, "is writable")
		entries, _ := os.ReadDir(s.DataDir)
		if len(entries) != 0 {
			t.Errorf("data folder holds %d entries after doctor; want none (no store, no temp file)", len(entries))
		}
	})
	t.Run("FreeSpaceFail", func(t *testing.T) {
		t.Parallel()
		s := newDoctorSetup(t, nil)
		o := s.Options()
		o.FreeFailBytes, o.FreeWarnBytes = 1<<62, 1<<62
		wantCheck(t, s.Run(o), "free space", CheckFail, "only", "free on the disk of")
	})
	t.Run("FreeSpaceWarn", func(t *testing.T) {
		t.Parallel()
		s := newDoctorSetup(t, nil)
		o := s.Options()
		o.FreeFailBytes, o.FreeWarnBytes = 1, 1<<62
		wantCheck(t, s.Run(o), "free space", CheckWarn, "warns under")
	})
}

func TestDoctor_Store_Corrupt(t *testing.T) {
	t.Parallel()
	s := newDoctorSetup(t, nil)
	if err := os.MkdirAll(s.DataDir, 0o750); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(s.DataDir, agent.StoreFile)
	garbage := bytes.Repeat([]byte("not a bbolt file "), 1000)
	if err := os.WriteFile(path, garbage, 0o600); err != nil {
		t.Fatal(err)
	}
	c := wantCheck(t, s.Run(s.Options()), "store", CheckFail, path, "corrupt")
	if !strings.Contains(c.Fix, "move") || !strings.Contains(c.Fix, "never replaces") {
		t.Errorf("fix %q: want it to say the file is kept and moved aside by a person", c.Fix)
	}
	got, err := os.ReadFile(path)
	if err != nil || !bytes.Equal(got, garbage) {
		t.Errorf("store file changed by doctor (err %v)", err)
	}
	entries, _ := os.ReadDir(s.DataDir)
	if len(entries) != 1 {
		t.Errorf("data folder holds %d entries; want only the corrupt file", len(entries))
	}
}

func TestDoctor_Store_LockedByAnotherProcess(t *testing.T) {
	t.Parallel()
	s := newDoctorSetup(t, nil)
	if err := os.MkdirAll(s.DataDir, 0o750); err != nil {
		t.Fatal(err)
	}
	st, err := queue.Open(filepath.Join(s.DataDir, agent.StoreFile), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	checks := s.Run(s.Options())
	wantCheck(t, checks, "store", CheckWarn, "held by another process", "no agent answers")
	// Not the agent: the readers are probed as usual.
	wantCheck(t, checks, "reader W01", CheckOK, "answers PING")
}

func TestDoctor_Ports(t *testing.T) {
	t.Parallel()
	t.Run("APITaken", func(t *testing.T) {
		t.Parallel()
		s := newDoctorSetup(t, nil)
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer ln.Close()
		s.APIAddr = ln.Addr().String()
		c := wantCheck(t, s.Run(s.Options()), "api listen", CheckFail, s.APIAddr, "taken by another program")
		if !strings.Contains(c.Fix, "[api] listen") {
			t.Errorf("fix %q does not name [api] listen", c.Fix)
		}
	})
	t.Run("HL7Taken", func(t *testing.T) {
		t.Parallel()
		s := newDoctorSetup(t, nil)
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer ln.Close()
		s.Tail = "[hl7]\nlisten = \"" + ln.Addr().String() + "\"\n"
		checks := s.Run(s.Options())
		wantCheck(t, checks, "api listen", CheckOK, "is free")
		wantCheck(t, checks, "hl7 listen", CheckFail, "taken by another program")
	})
	t.Run("NotThisMachine", func(t *testing.T) {
		t.Parallel()
		s := newDoctorSetup(t, nil)
		s.APIAddr = "192.0.2.1:8420" // TEST-NET-1: never an address of this machine
		wantCheck(t, s.Run(s.Options()), "api listen", CheckFail, "cannot listen")
	})
}

func TestDoctor_Readers(t *testing.T) {
	t.Parallel()
	t.Run("Silent", func(t *testing.T) {
		t.Parallel()
		s := newDoctorSetup(t, nil)
		o := s.Options()
		o.OpenPort = silentReaders(t)
		wantCheck(t, s.Run(o), "reader W01", CheckFail, "SIM-W01")
	})
	t.Run("NoPort", func(t *testing.T) {
		t.Parallel()
		s := newDoctorSetup(t, nil)
		s.Windows = `
[[window]]
id = "W01"
token = "w01-secret-token-0123456789"
reader = { port = "` + filepath.ToSlash(filepath.Join(t.TempDir(), "ttyUSB9")) + `" }
`
		o := s.Options()
		o.OpenPort = nil // the real serial port
		c := wantCheck(t, s.Run(o), "reader W01", CheckFail, "ttyUSB9")
		if !strings.Contains(c.Fix, "cable") {
			t.Errorf("fix %q: want it to say what to check", c.Fix)
		}
	})
}
