package doctor

import (
	"strings"
	"testing"
)

func TestWriteChecks_Golden(t *testing.T) {
	checks := []Check{
		{Name: "configuration", Status: CheckOK, Detail: "/etc/settle-agent/settle-agent.toml: 2 windows, platform https://10.1.2.3:8080, api 127.0.0.1:8420, store /var/lib/settle-agent",
			DetailZh: "/etc/settle-agent/settle-agent.toml：2 个窗口，医保平台 https://10.1.2.3:8080，API 127.0.0.1:8420，数据目录 /var/lib/settle-agent"},
		{Name: "configuration", Status: CheckWarn, Detail: "configuration file /etc/settle-agent/settle-agent.toml is readable by group/others (mode 0644); run: chmod 600 /etc/settle-agent/settle-agent.toml"},
		{Name: "data folder", Status: CheckOK, Detail: "/var/lib/settle-agent is writable", Fix: "not shown when ok", DetailZh: "/var/lib/settle-agent 可写", FixZh: "正常时不显示"},
		{Name: "free space", Status: CheckWarn, Detail: "only 812.0 MiB free on the disk of /var/lib/settle-agent (warns under 1.0 GiB)", Fix: "free space on that disk",
			DetailZh: "/var/lib/settle-agent 所在磁盘仅剩 812.0 MiB（少于 1.0 GiB 即提醒）", FixZh: "请清理该磁盘"},
		{Name: "store", Status: CheckOK, Detail: "/var/lib/settle-agent/settle-agent.db: 12 queued, 0 failed, 0 dead, 1.0 MiB",
			DetailZh: "/var/lib/settle-agent/settle-agent.db：排队 12 笔，失败 0 笔，放弃 0 笔，1.0 MiB"},
		{Name: "reader W01", Status: CheckFail, Detail: "open /dev/ttyUSB0:\nno such file or directory", Fix: "check the cable"},
		{Name: "platform", Status: CheckFail, Detail: "sign-in (9001) failed: connection refused", Fix: "check [platform] base_url and the 金保 line"},
		{Name: "clock skew", Status: CheckWarn, Detail: "not measured", Fix: ""},
	}
	var b strings.Builder
	if err := WriteChecks(&b, checks, "en"); err != nil {
		t.Fatal(err)
	}
	goldenFile(t, "doctor.golden", b.String())
	if got, want := strings.Count(b.String(), "\n"), len(checks); got != want {
		t.Errorf("lines: got %d; want %d (one per check)", got, want)
	}
	// In Chinese (the default of `settle-agent doctor`) the status and the check's
	// name read in Chinese, every check known by a Chinese name.
	var zh strings.Builder
	if err := WriteChecks(&zh, checks, "zh"); err != nil {
		t.Fatal(err)
	}
	goldenFile(t, "doctor_zh.golden", zh.String())
	for _, want := range []string{"正常  配置", "注意  磁盘空间", "失败  读卡器 W01", "失败  医保平台", "— check the cable", "/var/lib/settle-agent 可写",
		"— 请清理该磁盘"} {
		if !strings.Contains(zh.String(), want) {
			t.Errorf("Chinese lines lack %q:\n%s", want, zh.String())
		}
	}
	for _, name := range []string{"configuration", "data folder", "free space", "item mapping", "drop folder", "store", "catalogue",
		"api listen", "hl7 listen", "readers", "e-voucher", "platform", "clock skew", "group", "group members", "group quorum",
		"group leader", "group clocks", "etcd quota"} {
		if checkNameZh(name) == name {
			t.Errorf("check %q: got no Chinese name; want one", name)
		}
	}
}

func TestFailed(t *testing.T) {
	checks := []Check{{Status: CheckOK}, {Status: CheckWarn}, {Status: CheckFail}, {Status: CheckFail}}
	if got := Failed(checks); got != 2 {
		t.Errorf("Failed: got %d; want 2", got)
	}
}

func TestFormatBytes(t *testing.T) {
	for _, tc := range []struct {
		n    uint64
		want string
	}{{0, "0 B"}, {1023, "1023 B"}, {1024, "1.0 KiB"}, {100 << 20, "100.0 MiB"}, {3 << 30, "3.0 GiB"}, {1 << 62, "4096.0 PiB"}} {
		if got := formatBytes(tc.n); got != tc.want {
			t.Errorf("formatBytes(%d): got %q; want %q", tc.n, got, tc.want)
		}
	}
}

func FuzzParseReadyz(f *testing.F) {
	f.Add([]byte(`{"store":"ok","online":true,"readers":[{"window":"W01","port":"/dev/ttyUSB0","protocol":"frame","connected":true,"firmware":"SIM-1.0"}],"queue":{"ready":3,"leased":1,"failed":0,"dead":0,"file_bytes":32768}}`))
	f.Add([]byte(`{"store":"unavailable","error":"queue store closed","online":false,"readers":[]}`))
	f.Add([]byte(`{"status":"alive"}`))
	f.Add([]byte(`<html>not found</html>`))
	f.Add([]byte(`{"store":1}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := parseReadyz(b)
		if err == nil && r.Store == "" {
			t.Errorf("parseReadyz(%q) accepted an answer without store", b)
		}
		if herr := parseHealthz(b); herr == nil && !strings.Contains(string(b), "alive") {
			t.Errorf("parseHealthz(%q) accepted an answer that does not say alive", b)
		}
	})
}
