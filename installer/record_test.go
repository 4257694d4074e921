package installer

import (
	"strings"
	"testing"
)

func TestParseRecord(t *testing.T) {
	t.Run("Markers", func(t *testing.T) {
		o := Options{Executable: "/usr/local/bin/settle-agent", ConfigPath: "/srv/a b/agent.toml", DataDir: "/srv/data", UserName: "settleb"}
		var inst Installation
		parseRecord([]byte("#!/bin/sh\ncmd=\"/old run --config /old.toml\"\nexit 0\n\n"+recordLines(o)), &inst)
		if inst.Executable != o.Executable || inst.ConfigPath != o.ConfigPath || inst.DataDir != o.DataDir || inst.UserName != o.UserName {
			t.Errorf("got %+v; want the marker lines' %+v", inst, o)
		}
	})
	t.Run("SystemdUnitWithoutMarkers", func(t *testing.T) {
		var inst Installation
		parseRecord([]byte("[Service]\nExecStart=/usr/bin/settle-agent run --config /etc/x.toml\nUser=svc\nWorkingDirectory=/var/lib/x\n"), &inst)
		if inst.Executable != "/usr/bin/settle-agent" || inst.ConfigPath != "/etc/x.toml" || inst.UserName != "svc" || inst.DataDir != "/var/lib/x" {
			t.Errorf("got %+v", inst)
		}
	})
}

func TestCommandParts_Quoted(t *testing.T) {
	exe, conf := commandParts(`"C:\Program Files\SettleAgent\settle-agent.exe" run --config "C:\ProgramData\Settle Agent\settle-agent.toml"`)
	if exe != `C:\Program Files\SettleAgent\settle-agent.exe` || conf != `C:\ProgramData\Settle Agent\settle-agent.toml` {
		t.Errorf("got %q, %q", exe, conf)
	}
}

func TestInstallation_Report(t *testing.T) {
	inst := Installation{Name: "settle-agent", Files: []string{"/etc/init.d/settle-agent", "/etc/rc2.d/S50settle-agent"},
		ConfigPath: "/srv/conf.toml", DataDir: "/srv/data", UserName: "settle-agent"}
	rep := inst.Report()
	for _, want := range []string{"/etc/rc2.d/S50settle-agent", "kept the configuration /srv/conf.toml", "the data folder /srv/data", "userdel settle-agent"} {
		if !strings.Contains(rep, want) {
			t.Errorf("Report %q lacks %q", rep, want)
		}
	}
}
