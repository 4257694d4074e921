package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	settle "github.com/settle-agent/settle-agent"
	"github.com/settle-agent/settle-agent/agent"
	"github.com/settle-agent/settle-agent/catalogue"
	"github.com/settle-agent/settle-agent/config"
	"github.com/settle-agent/settle-agent/platform"
	"github.com/settle-agent/settle-agent/platform/sim"
	"github.com/settle-agent/settle-agent/store"
)

// TestCatalogueCommands is a fresh install with the agent stopped: status says the
// catalogue was never synced, sync fetches every catalogue from the simulator with a
// progress, the demo mapping passes the check and uploads (dry run first), and a
// wrong mapping is refused with each bad line named.
func TestCatalogueCommands(t *testing.T) {
	p, url, dir, mapping := mustCatalogueSim(t, &sim.Options{RequireSignIn: true})
	conf := writeCatalogueConfig(t, dir, url, "127.0.0.1:0", mapping, `upload_shape = "array"`)

	code, out, errOut := runCmd(t, nil, "catalogue", "status", "--config", conf)
	if code != 0 || !strings.Contains(out, "从未同步") {
		t.Fatalf("status before sync: exit %d\n%s%s; want the never-synced warning", code, out, errOut)
	}
	code, out, errOut = runCmd(t, nil, "catalogue", "sync", "--config", conf)
	if code != 0 {
		t.Fatalf("sync: exit %d\n%s%s", code, out, errOut)
	}
	for _, want := range []string{"[1/9] 1301 西药中成药 [##############################] 100%", "1312 医保目录信息"} {
		if !strings.Contains(errOut, want) {
			t.Errorf("progress lacks %q:\n%s", want, errOut)
		}
	}
	// The sync's msgids came from the agent's own high-water mark: an agent started
	// now issues only later ones.
	ast, err := store.Open(filepath.Join(dir, "data"), nil)
	if err != nil {
		t.Fatal(err)
	}
	mark, err := ast.MsgidReservation()
	ast.Close()
	if err != nil || !mark.After(time.Now()) || len(p.RepeatedMsgids()) != 0 {
		t.Fatalf("agent store's msgid mark %v, %v (repeated %v); want one ahead of now", mark, err, p.RepeatedMsgids())
	}
	code, out, _ = runCmd(t, nil, "catalogue", "status", "--config", conf, "--json")
	var st catalogue.Status
	if err := json.Unmarshal([]byte(out), &st); code != 0 || err != nil || st.Stale || len(st.Catalogues) != 9 {
		t.Fatalf("status --json: exit %d, %v: %s; want 9 fresh catalogues", code, err, out)
	}
	rows := 0
	for _, c := range st.Catalogues {
		if c.Kind == "file" {
			rows += c.Rows
		}
	}
	if rows != len(p.Fixture().Items) {
		t.Errorf("rows downloaded by file = %d; want %d", rows, len(p.Fixture().Items))
	}

	code, out, errOut = runCmd(t, nil, "mapping", "check", "--config", conf, mapping)
	n := len(p.Fixture().Items)
	total := fmt.Sprintf("目录对照文件可用：%d 行，%d 个 HIS 编码；都在已同步的医保目录中", n, n)
	if code != 0 || !strings.Contains(out, total) || strings.Count(out, "\n") != 1 {
		t.Fatalf("check of the demo mapping: exit %d\n%s%s; want the one total line %q", code, out, errOut, total)
	}
	code, out, errOut = runCmd(t, nil, "mapping", "check", "--lang", "en", "--config", conf, mapping)
	total = fmt.Sprintf("mapping file OK: %d row(s), %d HIS code(s); all in the synced catalogue", n, n)
	if code != 0 || !strings.Contains(out, total) || strings.Count(out, "\n") != 1 {
		t.Fatalf("check --lang en of the demo mapping: exit %d\n%s%s; want the one total line %q", code, out, errOut, total)
	}
	code, out, _ = runCmd(t, nil, "catalogue", "status", "--config", conf)
	if code != 0 || !strings.Contains(out, "同步于") || len(settle.StrayTimes(out)) != 0 {
		t.Errorf("catalogue status: exit %d\n%s; want Chinese with every time in Beijing time (strays %q)", code, out, settle.StrayTimes(out))
	}
	code, out, _ = runCmd(t, nil, "catalogue", "status", "--lang", "en", "--config", conf)
	if code != 0 || !strings.Contains(out, "SYNCED") || !strings.Contains(out, "(Beijing time)") {
		t.Errorf("catalogue status --lang en: exit %d\n%s; want English with Beijing time", code, out)
	}
	// The mapping shipped with the dry-run kit passes too.
	code, out, errOut = runCmd(t, nil, "mapping", "check", "--config", conf, filepath.Join("..", "..", "examples", "dryrun", "mapping.csv"))
	if code != 0 || !strings.Contains(out, "目录对照文件可用") {
		t.Fatalf("check of examples/dryrun/mapping.csv: exit %d\n%s%s", code, out, errOut)
	}
	code, out, errOut = runCmd(t, nil, "mapping", "upload", "--config", conf, "--dry-run")
	if code != 0 || !strings.Contains(out, "试运行") || p.Stats()[platform.InfnoMappingUpload] != 0 {
		t.Fatalf("upload --dry-run: exit %d\n%s%s", code, out, errOut)
	}
	code, out, errOut = runCmd(t, nil, "mapping", "upload", "--config", conf)
	if code != 0 || len(p.MappingRows("H33010200001")) != len(p.Fixture().Items) {
		t.Fatalf("upload: exit %d, platform holds %d rows\n%s%s", code, len(p.MappingRows("H33010200001")), out, errOut)
	}

	wrong := filepath.Join(dir, "wrong.csv")
	body := string(p.Fixture().MappingCSV()) + "YP9999,XJ99ZZZ999Z999999999999,YP9999,不存在的药,,,101,1.00\n" +
		"JC0001B,210102015000000,JC0001B,胸部CT平扫,,,201,300.00\n"
	if err := os.WriteFile(wrong, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	code, out, _ = runCmd(t, nil, "mapping", "check", "--config", conf, wrong)
	n = len(p.Fixture().Items) + 2
	for _, want := range []string{"第 " + strconv.Itoa(n) + " 行：med_list_codg：国家编码 XJ99ZZZ999Z999999999999", "第 " + strconv.Itoa(n+1) + " 行：price："} {
		if code == 0 || !strings.Contains(out, want) {
			t.Errorf("check of a wrong mapping: exit %d; want non-zero and %q in\n%s", code, want, out)
		}
	}
	before := p.Stats()[platform.InfnoMappingUpload]
	code, out, _ = runCmd(t, nil, "mapping", "upload", "--config", conf, wrong)
	if code == 0 || !strings.Contains(out, "未上传") || p.Stats()[platform.InfnoMappingUpload] != before {
		t.Errorf("upload of a wrong mapping: exit %d\n%s; want refused, nothing sent", code, out)
	}
}

// TestCatalogueCommands_ThroughAgent: while the agent runs it holds the files, and
// the commands go through its admin API: sync (following the progress), status,
// check and upload.
func TestCatalogueCommands_ThroughAgent(t *testing.T) {
	p, url, dir, mapping := mustCatalogueSim(t, nil)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	conf := writeCatalogueConfig(t, dir, url, ln.Addr().String(), mapping, `sync_at = ""`)
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
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("agent Run: %v", err)
		}
	})

	// sync_at "" : no start-up sync; the catalogue is never synced until asked.
	code, out, errOut := runCmd(t, nil, "catalogue", "status", "--config", conf)
	if code != 0 || !strings.Contains(out, "从未同步") {
		t.Fatalf("status through the agent: exit %d\n%s%s", code, out, errOut)
	}
	code, out, errOut = runCmd(t, nil, "catalogue", "sync", "--config", conf)
	if code != 0 || !strings.Contains(errOut, "目录同步完成") || p.Stats()[platform.InfnoCatalogueWestern] == 0 {
		t.Fatalf("sync through the agent: exit %d\n%s%s", code, out, errOut)
	}
	code, out, _ = runCmd(t, nil, "catalogue", "status", "--config", conf)
	if code != 0 || strings.Contains(out, "警告") {
		t.Fatalf("status after the sync: exit %d\n%s", code, out)
	}
	code, out, _ = runCmd(t, nil, "mapping", "check", "--config", conf, mapping)
	if code != 0 || !strings.Contains(out, "目录对照文件可用") {
		t.Fatalf("check through the agent: exit %d\n%s", code, out)
	}
	code, out, _ = runCmd(t, nil, "mapping", "upload", "--config", conf)
	if code != 0 || len(p.MappingRows("H33010200001")) != len(p.Fixture().Items) {
		t.Fatalf("upload through the agent: exit %d\n%s", code, out)
	}
}

// writeCatalogueConfig writes the configuration of an agent of the demo hospital
// against the simulator at url, with catalogue as its [catalogue] lines.
func writeCatalogueConfig(t *testing.T, dir, url, listen, mapping, catalogue string) string {
	t.Helper()
	conf := filepath.Join(dir, "agent.toml")
	text := `[hospital]
fixmedins_code = "H33010200001"
fixmedins_name = "Catalogue Test Hospital"
admdvs = "330100"
[platform]
base_url = "` + url + `"
[api]
listen = "` + listen + `"
admin_token = "admin-token-0123456789"
[store]
dir = "` + filepath.ToSlash(filepath.Join(dir, "data")) + `"
[mapping]
file = "` + filepath.ToSlash(mapping) + `"
[catalogue]
` + catalogue + `
[[window]]
id = "W01"
token = "w01-token-0123456789"
`
	if err := os.WriteFile(conf, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	return conf
}

// mustCatalogueSim serves a simulator on loopback until the test ends, and writes the
// demo mapping into a fresh folder.
func mustCatalogueSim(t *testing.T, o *sim.Options) (p *sim.Platform, url, dir, mapping string) {
	t.Helper()
	p = sim.New(nil, o)
	url, stop, err := sim.Start(context.Background(), "", p)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = stop() })
	dir = t.TempDir()
	mapping = filepath.Join(dir, "mapping.csv")
	if err := os.WriteFile(mapping, p.Fixture().MappingCSV(), 0o600); err != nil {
		t.Fatal(err)
	}
	return p, url, dir, mapping
}
