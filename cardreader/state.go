package cardreader

import (
	"time"

	"github.com/settle-agent/settle-agent/cardreader/libhost"
)

// State is what the status page, the metrics and `doctor` show of one reader of any
// kind (serial, library, remote).
type State struct {
	Window    string    `json:"window"`
	Port      string    `json:"port"`
	Protocol  string    `json:"protocol"`
	Connected bool      `json:"connected"`
	Since     time.Time `json:"since,omitzero"`     // when Connected last changed
	LastRead  time.Time `json:"last_read,omitzero"` // the last card or code read, good or bad
	LastError string    `json:"last_error,omitempty"`
	Firmware  string    `json:"firmware,omitempty"` // from PONG (frame readers)
	// Kind is KindSerial, KindLibrary or KindRemote.
	Kind string `json:"kind,omitempty"`
	// Library and Interface name a library reader's vendor library.
	Library   string `json:"library,omitempty"`
	Interface string `json:"interface,omitempty"`
	// Host is a library reader's reader-host child: restarts, hangs, crashes.
	Host *libhost.State `json:"host,omitempty"`
	// Peer is a remote reader's host address, as last seen.
	Peer string `json:"peer,omitempty"`
	// Reads counts the reads per carrier (sscard, idcard, evoucher) since start.
	Reads map[string]int `json:"reads,omitempty"`
}

// Kinds of reader in State.Kind.
const (
	KindSerial  = "serial"  // a serial or USB-serial port (frame or line protocol)
	KindLibrary = "library" // a vendor library in a reader-host child
	KindRemote  = "remote"  // a reader-host on the cashier's PC, over the LAN
)
