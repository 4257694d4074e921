package installer

import (
	"fmt"
	"path"
	"strings"
	"time"
)

// SystemdUnit renders the systemd unit install writes to
// /etc/systemd/system/<Name>.service: the command line `<exe> run --config
// <ConfigPath>`, the service account, restart on failure after 5 s, a stop
// timeout 10 s longer than StopTimeout, and the hardening that leaves the agent
// its serial ports and network: NoNewPrivileges, ProtectSystem=full,
// ProtectHome=read-only, PrivateTmp, writes only to DataDir, no capabilities,
// the @system-service system calls. Directives an older systemd does not know
// are logged and ignored by it. It is passed to
// kardianos as the "SystemdScript" option and holds no template actions, so
// kardianos writes it unchanged.
//
// Paths go into the unit unquoted, so they may not hold white space, quotes,
// '\', '%', '$', '{' or '}'; SystemdUnit returns an error that says so.
func (s *Service) SystemdUnit() (string, error) {
	o := s.o
	for _, f := range []struct{ what, p string }{
		{"program", o.Executable}, {"configuration file", o.ConfigPath}, {"data folder", o.DataDir},
	} {
		if i := strings.IndexFunc(f.p, unitUnsafe); i >= 0 || !path.IsAbs(f.p) {
			return "", fmt.Errorf("%s path %q cannot go into a systemd unit: use an absolute path without spaces, quotes, '\\', '%%', '$' or braces (e.g. /usr/local/bin/settle-agent, /etc/settle-agent/settle-agent.toml, /var/lib/settle-agent)", f.what, f.p)
		}
	}
	if strings.IndexFunc(o.UserName, unitUnsafe) >= 0 || o.UserName == "" {
		return "", fmt.Errorf("user name %q cannot go into a systemd unit", o.UserName)
	}
	stop := o.StopTimeout + 10*time.Second
	var b strings.Builder
	w := func(format string, a ...any) { fmt.Fprintf(&b, format+"\n", a...) }
	w("# Written by 'settle-agent install'. To change it: settle-agent uninstall, then settle-agent install.")
	b.WriteString(recordLines(o))
	w("[Unit]")
	w("Description=%s", o.DisplayName)
	w("ConditionFileIsExecutable=%s", o.Executable)
	w("Wants=network-online.target")
	w("After=network-online.target")
	w("# Keep restarting for as long as it takes: a hospital cannot settle without the agent.")
	w("StartLimitIntervalSec=0")
	w("")
	w("[Service]")
	w("Type=simple")
	w("ExecStart=%s run --config %s", o.Executable, o.ConfigPath)
	w("User=%s", o.UserName)
	w("# Secrets given as env:NAME in the configuration can be set here, one NAME=value a line.")
	w("EnvironmentFile=-%s", path.Join(path.Dir(o.ConfigPath), "environment"))
	w("WorkingDirectory=%s", o.DataDir)
	if o.DataDir == path.Join("/var/lib", o.Name) {
		w("StateDirectory=%s", o.Name)
		w("StateDirectoryMode=0750")
	}
	w("UMask=0027")
	w("Restart=on-failure")
	w("RestartSec=5")
	w("TimeoutStopSec=%d", int((stop+time.Second-1)/time.Second))
	w("KillMode=mixed")
	w("# Hardening that leaves the agent its serial ports (no PrivateDevices) and its network.")
	w("NoNewPrivileges=yes")
	w("ProtectSystem=full")
	w("ProtectHome=read-only")
	w("PrivateTmp=yes")
	w("ReadWritePaths=%s", o.DataDir)
	w("ProtectKernelTunables=yes")
	w("ProtectKernelModules=yes")
	w("ProtectControlGroups=yes")
	w("RestrictSUIDSGID=yes")
	w("RestrictRealtime=yes")
	w("LockPersonality=yes")
	w("ProtectClock=yes")
	w("ProtectKernelLogs=yes")
	w("ProtectHostname=yes")
	w("RestrictNamespaces=yes")
	w("MemoryDenyWriteExecute=yes")
	w("SystemCallArchitectures=native")
	w("SystemCallFilter=@system-service")
	w("SystemCallErrorNumber=EPERM")
	w("RestrictAddressFamilies=AF_UNIX AF_INET AF_INET6 AF_NETLINK")
	w("# Listens on ports above 1024 only, so it needs no capabilities.")
	w("CapabilityBoundingSet=")
	w("AmbientCapabilities=")
	w("")
	w("[Install]")
	w("WantedBy=multi-user.target")
	return b.String(), nil
}

func unitUnsafe(r rune) bool {
	return r <= ' ' || r == 0x7f || strings.ContainsRune(`"'\%${}`, r)
}
