package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	settle "github.com/settle-agent/settle-agent"
	"github.com/settle-agent/settle-agent/agent"
	"github.com/settle-agent/settle-agent/config"
	"github.com/settle-agent/settle-agent/platform/sim"
	"github.com/settle-agent/settle-agent/store"
)

// backupAgent is an agent of the demo hospital with its own data folder, run
// in-process against a simulator until stop.
type backupAgent struct {
	conf string
	d    *demo
	stop func()
}

// startBackupAgent writes a configuration for dataDir against simURL and runs an
// agent on it.
func startBackupAgent(t *testing.T, p *sim.Platform, simURL, dir, dataDir string) *backupAgent {
	t.Helper()
	if err := os.MkdirAll(dir, 0o750); err != nil {
		t.Fatal(err)
	}
	mapping := filepath.Join(dir, "mapping.csv")
	if err := os.WriteFile(mapping, p.Fixture().MappingCSV(), 0o600); err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	conf := filepath.Join(dir, "agent.toml")
	text := `[hospital]
fixmedins_code = "H33010200001"
fixmedins_name = "Backup Test Hospital"
admdvs = "330100"
msgid_node = -1
[platform]
base_url = "` + simURL + `"
timeout = "2s"
probe_interval = "50ms"
[api]
listen = "` + ln.Addr().String() + `"
admin_token = "admin-token-0123456789"
rate_limit = 100000
[store]
dir = "` + filepath.ToSlash(dataDir) + `"
[mapping]
file = "` + filepath.ToSlash(mapping) + `"
[catalogue]
sync_at = ""
[[window]]
id = "W01"
token = "w01-token-0123456789"
`
	if err := os.WriteFile(conf, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Load(conf, func(string) string { return "" })
	if err != nil {
		t.Fatal(err)
	}
	a, err := agent.New(cfg, &agent.Options{Listener: ln})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- a.Run(ctx) }()
	stopped := false
	stop := func() {
		if stopped {
			return
		}
		stopped = true
		cancel()
		if err := <-done; err != nil && !errors.Is(err, context.Canceled) {
			t.Errorf("agent Run: %v", err)
		}
	}
	t.Cleanup(stop)
	d := &demo{url: "http://" + ln.Addr().String(), out: &strings.Builder{}, expect: map[string]string{}}
	if err := d.waitFor(ctx, "the agent", func() bool {
		st, _, err := d.call("GET", "/healthz", "", nil)
		return err == nil && st == 200
	}); err != nil {
		t.Fatal(err)
	}
	return &backupAgent{conf: conf, d: d, stop: stop}
}

// queuedBill submits and settles a bill while the platform is down: it is queued.
func (b *backupAgent) queuedBill(t *testing.T, n int) string {
	t.Helper()
	qty, _ := settle.ParseQty("1")
	price, _ := settle.ParsePrice("25.00")
	items := []settle.Item{{Line: 1, HISCode: "ZL0001", Name: "普通门诊诊查费", Qty: qty, UnitPrice: price, Amount: settle.MustMoney("25.00")}}
	bill := settle.Bill{
		BillNo: fmt.Sprintf("MZBK%d%04d", time.Now().UnixNano()%1e6, n), Window: "W01",
		Patient: settle.Patient{MdtrtCertType: settle.CertSSCard, MdtrtCertNo: "A33010001"},
		MedType: settle.MedTypeOutpatient, Dept: settle.Code{Code: "0301", Name: "内科"},
		Doctor: settle.Code{Code: "D0042", Name: "王医生"}, Diagnoses: []settle.Code{{Code: "I10.x00", Name: "高血压"}},
		Items: items, Total: settle.MustMoney("25.00"), CreatedAt: time.Now(),
	}
	const tok = "w01-token-0123456789"
	if _, err := b.d.mustCall("POST", "/v1/bills", tok, bill, 201); err != nil {
		t.Fatal(err)
	}
	body, err := b.d.mustCall("POST", "/v1/bills/"+bill.BillNo+"/settle", tok, map[string]string{"acct_used_flag": "1", "psn_setlway": "01"}, 202)
	if err != nil || str(body, "state") != "queued" {
		t.Fatalf("settle offline: %v %v; want 202 queued", err, body)
	}
	return bill.BillNo
}

// Bills queued while the platform is down are backed up while the agent runs; the
// backup restored into a fresh folder settles each of them exactly once.
func TestBackupRestore_QueuedBillsSettleExactlyOnce(t *testing.T) {
	p := sim.New(sim.DemoFixture(), &sim.Options{Seed: 1})
	simURL, simStop, err := sim.Start(context.Background(), "", p)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = simStop() })
	root := t.TempDir()
	first := startBackupAgent(t, p, simURL, filepath.Join(root, "a"), filepath.Join(root, "a", "data"))

	p.SetFaults(sim.Faults{Down: true})
	var bills []string
	for i := range 3 {
		bills = append(bills, first.queuedBill(t, i))
	}

	backup := filepath.Join(root, "backup")
	code, out, errOut := runCmd(t, nil, "backup", "--config", first.conf, "--lang", "en", backup)
	if code != 0 {
		t.Fatalf("backup while the agent runs: exit %d\n%s%s", code, out, errOut)
	}
	var m backupManifest
	b, err := os.ReadFile(filepath.Join(backup, manifestFile))
	if err != nil || json.Unmarshal(b, &m) != nil {
		t.Fatalf("manifest: %v\n%s", err, b)
	}
	if !m.Running || m.Counts["bills"]["queued"] != 3 || m.Counts["queue"]["ready"]+m.Counts["queue"]["leased"] != 3 {
		t.Errorf("manifest: running %v, counts %v; want running, 3 queued bills, 3 queue records", m.Running, m.Counts)
	}
	if !strings.HasSuffix(m.CreatedBeijing, "(Beijing time)") || len(m.Files) != 2 {
		t.Errorf("manifest: created %q, files %v; want Beijing time, the store and its key", m.CreatedBeijing, m.Files)
	}
	first.stop()

	// A second agent on a fresh folder, restored from the backup.
	second := filepath.Join(root, "b")
	if err := os.MkdirAll(second, 0o750); err != nil {
		t.Fatal(err)
	}
	conf := strings.ReplaceAll(readFile(t, first.conf), filepath.ToSlash(filepath.Join(root, "a", "data")), filepath.ToSlash(filepath.Join(second, "data")))
	confB := filepath.Join(second, "restore.toml")
	if err := os.WriteFile(confB, []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	code, out, errOut = runCmd(t, nil, "restore", "--config", confB, backup)
	if code != 0 || !strings.Contains(out, "已将") {
		t.Fatalf("restore into a fresh folder: exit %d\n%s%s", code, out, errOut)
	}
	p.SetFaults(sim.Faults{})
	restored := startBackupAgent(t, p, simURL, second, filepath.Join(second, "data"))
	for _, no := range bills {
		if err := restored.d.waitFor(context.Background(), "bill "+no+" settled", func() bool {
			_, body, err := restored.d.call("GET", "/v1/bills/"+no, "admin-token-0123456789", nil)
			return err == nil && str(body, "state") == "settled"
		}); err != nil {
			t.Fatal(err)
		}
		if got := p.Settled()[no]; got != 1 {
			t.Errorf("bill %s: platform settlements got %d; want 1", no, got)
		}
	}
	if rep := p.RepeatedMsgids(); len(rep) > 0 {
		t.Errorf("msgids sent twice: %v", rep)
	}
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// restore checks the manifest before anything, refuses while the agent runs and
// over a store unless --replace, which keeps the old store aside.
func TestRestore_Refusals(t *testing.T) {
	p := sim.New(sim.DemoFixture(), &sim.Options{Seed: 1})
	simURL, simStop, err := sim.Start(context.Background(), "", p)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = simStop() })
	root := t.TempDir()
	data := filepath.Join(root, "data")
	a := startBackupAgent(t, p, simURL, root, data)
	backup := filepath.Join(root, "backup")
	if code, out, errOut := runCmd(t, nil, "backup", "--config", a.conf, backup); code != 0 {
		t.Fatalf("backup: exit %d\n%s%s", code, out, errOut)
	}
	t.Run("NotIntoAFullFolder", func(t *testing.T) {
		if code, _, errOut := runCmd(t, nil, "backup", "--config", a.conf, backup); code == 0 || !strings.Contains(errOut, "新建或空") {
			t.Errorf("backup into a used folder: exit %d %s; want refused", code, errOut)
		}
	})
	t.Run("WhileRunning", func(t *testing.T) {
		code, _, errOut := runCmd(t, nil, "restore", "--config", a.conf, "--replace", backup)
		if code == 0 || !strings.Contains(errOut, "正在运行") {
			t.Errorf("restore while the agent runs: exit %d %s; want refused", code, errOut)
		}
	})
	a.stop()
	t.Run("OverAStore", func(t *testing.T) {
		code, _, errOut := runCmd(t, nil, "restore", "--config", a.conf, backup)
		if code == 0 || !strings.Contains(errOut, "--replace") {
			t.Errorf("restore over a store: exit %d %s; want refused naming --replace", code, errOut)
		}
	})
	t.Run("Damaged", func(t *testing.T) {
		bad := filepath.Join(root, "bad")
		if err := os.CopyFS(bad, os.DirFS(backup)); err != nil {
			t.Fatal(err)
		}
		f, err := os.OpenFile(filepath.Join(bad, store.File), os.O_WRONLY, 0)
		if err != nil {
			t.Fatal(err)
		}
		_, _ = f.WriteAt([]byte("x"), 5000)
		f.Close()
		code, _, errOut := runCmd(t, nil, "restore", "--config", a.conf, "--replace", "--lang", "en", bad)
		if code == 0 || !strings.Contains(errOut, "damaged") {
			t.Errorf("restore of a damaged backup: exit %d %s; want refused", code, errOut)
		}
		if _, err := os.Stat(filepath.Join(data, store.File)); err != nil {
			t.Errorf("the refused restore touched the store: %v", err)
		}
	})
	t.Run("Replace", func(t *testing.T) {
		code, out, errOut := runCmd(t, nil, "restore", "--config", a.conf, "--replace", backup)
		if code != 0 || !strings.Contains(out, "旧文件已保留") {
			t.Fatalf("restore --replace: exit %d\n%s%s", code, out, errOut)
		}
		kept, _ := filepath.Glob(filepath.Join(data, store.File+".before-restore-*"))
		if len(kept) != 1 {
			t.Errorf("old store kept aside: got %v; want one file", kept)
		}
	})
}
