package installer

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
}

// DefaultPlaces returns this OS's default folders: /etc/settle-agent and
// /var/lib/settle-agent on Linux; C:\ProgramData\SettleAgent with data and logs
// under it on Windows.
func DefaultPlaces() Places { return defaultPlaces() }
