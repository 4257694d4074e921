package installer

import (
	"path/filepath"

	"github.com/kardianos/service"
)

// Places are the default folders and files of an installation.
type Places struct {
	// ConfigDir holds the configuration file and the secret files it names.
	ConfigDir string
	// ConfigFile is the configuration `settle-agent run` reads by default.
	ConfigFile string
	// DataDir holds the durable store; only the service account writes there.
	DataDir string
	// LogDir holds rotated log files; empty where the service manager keeps the
	// log (journald on Linux).
	LogDir string
	// LogFile is the log file a service writes (LogOptions.File); empty where
	// the service manager keeps the log.
	LogFile string
}

// DefaultPlaces returns this OS's default folders: /etc/settle-agent and
// /var/lib/settle-agent on Linux; C:\ProgramData\SettleAgent with data and logs
// under it on Windows.
func DefaultPlaces() Places {
	p := defaultPlaces()
	if p.LogDir != "" {
		p.LogFile = filepath.Join(p.LogDir, DefaultName+".log")
	}
	return p
}

// Interactive reports whether this process runs in the foreground rather than
// under the service manager: `settle-agent run` sets LogOptions.Service to its
// negation. In a container it is always true.
func Interactive() bool { return service.Interactive() }
