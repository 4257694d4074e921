// Package config loads settle-agent's one TOML configuration file: defaults that suit a
// single-window install first, then the file decoded strictly (an unknown key is an
// error naming the key and its line), then SETTLE_AGENT_<SECTION>_<KEY> environment
// overrides, then secrets given as "file:PATH" or "env:NAME", then validation that
// names every bad field at once. Secrets never appear in errors, logs or Redacted.
package config

import (
	"errors"
	"fmt"
	"net/netip"
	"path/filepath"
	"time"

	"github.com/settle-agent/settle-agent"
)

// Errors of this package. A *ValidationError also matches settle.ErrInvalid.
var (
	// ErrUnknownKey marks a key in the file that the configuration does not have.
	ErrUnknownKey = errors.New("unknown key")

	// ErrSecret marks a secret reference that could not be resolved (missing file or
	// environment variable).
	ErrSecret = errors.New("secret unavailable")
)

// Config is the whole configuration of one agent.
type Config struct {
	Path       string     `toml:"-"` // the file it came from; empty when parsed from memory
	Hospital   Hospital   `toml:"hospital"`
	Platform   Platform   `toml:"platform"`
	API        API        `toml:"api"`
	Store      Store      `toml:"store"`
	Windows    []Window   `toml:"window"`
	Offline    Offline    `toml:"offline"`
	Sync       Sync       `toml:"sync"`
	Mapping    Mapping    `toml:"mapping"`
	Catalogue  Catalogue  `toml:"catalogue"`
	HL7        HL7        `toml:"hl7"`
	DropFolder DropFolder `toml:"dropfolder"`
	Log        Log        `toml:"log"`
	EVoucher   EVoucher   `toml:"evoucher"`
	// Cluster is the group of front-end machines this agent belongs to (cluster.go);
	// nil without a [cluster] section: one machine, one bbolt file.
	Cluster *Cluster `toml:"cluster,omitempty"`

	// src says where each key came from (file line or environment variable), for errors.
	src sources
}

// Hospital names the designated medical institution (定点医药机构) this agent serves.
type Hospital struct {
	FixmedinsCode string `toml:"fixmedins_code"` // 12 characters, e.g. "H33010200001"
	FixmedinsName string `toml:"fixmedins_name"`
	Admdvs        string `toml:"admdvs"`     // treatment area, 6 digits
	MsgidNode     int    `toml:"msgid_node"` // -1: none (default); 0-9: node digit in msgid when several agents share one code
}

// Platform is the link to the provincial medical-insurance platform.
type Platform struct {
	BaseURL            string   `toml:"base_url"`
	Path               string   `toml:"path"`
	Timeout            Duration `toml:"timeout"`
	Paasid             string   `toml:"paasid"` // empty: no x-tif-* signing
	Token              Secret   `toml:"token"`  // signing token, required with paasid
	CAFile             string   `toml:"ca_file"`
	CertFile           string   `toml:"cert_file"`
	KeyFile            string   `toml:"key_file"`
	InsecureSkipVerify bool     `toml:"insecure_skip_verify"`
	RecerSysCode       string   `toml:"recer_sys_code"`
	Infver             string   `toml:"infver"`
	ProbeInterval      Duration `toml:"probe_interval"`
	BreakerThreshold   int      `toml:"breaker_threshold"`
	ProbeCertType      string   `toml:"probe_cert_type"` // optional 1101 probe person; default probe is 9001
	ProbeCertNo        string   `toml:"probe_cert_no"`
	// Paths overrides Path per infno ([platform.paths], "2207" = "/fsi/api/..."), for
	// provinces that give each service its own path; an infno not listed uses Path.
	Paths map[string]string `toml:"paths"`
	// FileInArray sends a 9101 file as a JSON array of byte values instead of base64
	// text (some provinces' gateways take only the array).
	FileInArray bool `toml:"file_in_array"`
	// Phrases are the province's own wordings of the refusals the agent acts on
	// ([platform.phrases]); a list left out keeps the agent's defaults
	// (docs/platform.md, "Refusals the agent recognises").
	Phrases PlatformPhrases `toml:"phrases,omitempty"`
	// Crypto is the 国密 envelope some provinces require ([platform.crypto], crypto.go).
	Crypto PlatformCrypto `toml:"crypto,omitempty"`
}

// PlatformPhrases are the err_msg wordings that mark a refusal the agent acts on.
// Each list replaces that kind's defaults when given.
type PlatformPhrases struct {
	OriginalNotFound  []string `toml:"original_not_found,omitempty"`
	AlreadySettled    []string `toml:"already_settled,omitempty"`
	SessionExpired    []string `toml:"session_expired,omitempty"`
	NothingToCancel   []string `toml:"nothing_to_cancel,omitempty"`
	AlreadyRegistered []string `toml:"already_registered,omitempty"`
	EnvelopeRefused   []string `toml:"envelope_refused,omitempty"`
	AlreadyDischarged []string `toml:"already_discharged,omitempty"`
	NotDischarged     []string `toml:"not_discharged,omitempty"`
	LinesDiffer       []string `toml:"lines_differ,omitempty"`
}

// API is the agent's local HTTP API for cashier windows and the HIS.
type API struct {
	Listen       string   `toml:"listen"`
	AdminToken   Secret   `toml:"admin_token"` // empty: admin endpoints refuse every call
	TLSCert      string   `toml:"tls_cert"`
	TLSKey       string   `toml:"tls_key"`
	ClientCA     string   `toml:"client_ca"` // with TLS: require client certificates signed by it
	MaxBodyBytes int64    `toml:"max_body_bytes"`
	RateLimit    float64  `toml:"rate_limit"` // requests per second per client
	ReadTimeout  Duration `toml:"read_timeout"`
	WriteTimeout Duration `toml:"write_timeout"`
	IdleTimeout  Duration `toml:"idle_timeout"`
	// Language is the status page's language unless a request asks otherwise
	// (?lang=): "zh" (Chinese, the default) or "en".
	Language string `toml:"language"`
	// HostNames are more names the status page, /metrics and /readyz answer under
	// (a DNS name IT uses for the machine); the listen address, the machine's host
	// name and localhost always count. Others get 421 (DNS rebinding).
	HostNames []string `toml:"host_names,omitempty"`
}

// Store is the durable queue's data folder.
type Store struct {
	Dir       string   `toml:"dir"`
	Key       Secret   `toml:"key"`      // base64 of a 32-byte AES key; empty: no encryption at rest
	OldKeys   []Secret `toml:"old_keys"` // earlier keys, still accepted for reading
	Retention Duration `toml:"retention"`
}

// Window is one cashier window: its API token and its serial devices.
type Window struct {
	ID      string `toml:"id"`
	Name    string `toml:"name"`
	Token   Secret `toml:"token"`
	Reader  *Port  `toml:"reader,omitempty"`  // social security card reader; nil: none
	Scanner *Port  `toml:"scanner,omitempty"` // e-voucher QR scanner; nil: none
}

// Port is one serial device. Defaults: 9600 baud, 8N1, protocol "frame" for a reader
// and "line" for a scanner, read timeout 500ms.
type Port struct {
	Port        string   `toml:"port"`
	Baud        int      `toml:"baud"`
	DataBits    int      `toml:"data_bits"`
	Parity      string   `toml:"parity"` // N, E, O, M or S
	StopBits    int      `toml:"stop_bits"`
	Protocol    string   `toml:"protocol"` // frame | line
	ReadTimeout Duration `toml:"read_timeout"`

	// A library reader (serial-reader.md) names the vendor's library instead of a port.
	Library   string     `toml:"library,omitempty"`   // HeaSecReadInfo.dll, libHeaSecReadInfo.so, SSCardDriver.dll
	Interface string     `toml:"interface,omitempty"` // heasec | sscard
	CardType  int        `toml:"card_type,omitempty"` // sscard: 1 contact, 2 contactless, 3 (default), 4 automatic
	Init      HeaSecInit `toml:"init,omitempty"`      // heasec Init values
	InitJSON  string     `toml:"init_json,omitempty"` // more Init keys a vendor's build needs, as a JSON object merged over init
	Poll      Duration   `toml:"poll,omitempty"`      // while a window waits; default 500ms
	Deadline  Duration   `toml:"deadline,omitempty"`  // per library call; default 5s
	NoSFZ     bool       `toml:"no_sfz,omitempty"`    // heasec: do not read resident ID cards
	HostExe   string     `toml:"host_exe,omitempty"`  // reader-host executable (the windows/386 build for 32-bit DLLs)
	// Remote: the reader hangs on the cashier's PC and its reader-host delivers reads.
	Remote bool `toml:"remote,omitempty"`
}

// HeaSecInit are the values heasec's Init takes (sent as JSON with these key names).
type HeaSecInit struct {
	IP              string `toml:"IP" json:"IP,omitempty"`                           // the card management (PSAM) server
	PORT            int    `toml:"PORT" json:"PORT,omitempty"`                       // its port
	TIMEOUT         int    `toml:"TIMEOUT" json:"TIMEOUT,omitempty"`                 // seconds
	LOG_PATH        string `toml:"LOG_PATH" json:"LOG_PATH,omitempty"`               //nolint:revive // the library's own key
	SFZ_DRIVER_TYPE int    `toml:"SFZ_DRIVER_TYPE" json:"SFZ_DRIVER_TYPE,omitempty"` //nolint:revive // the library's own key
}

// IsLibrary reports whether p is a vendor library reader rather than a serial port.
func (p *Port) IsLibrary() bool { return p != nil && p.Library != "" }

// EVoucher is the e-voucher decode service (ec.query) scanned QR codes go through.
type EVoucher struct {
	Mode         string   `toml:"mode"`     // "" (off, or inferred from url/base_url/library) | http | library
	BaseURL      string   `toml:"base_url"` // the service's {ec_base_url}; url defaults to it + /localcfc/api/hsecfc/localQrCodeQuery
	URL          string   `toml:"url"`      // http: the ec.query endpoint; library: NationEcTrans's url
	Library      string   `toml:"library"`  // library: NationECCode.dll / libNationECCode.so
	HostExe      string   `toml:"host_exe"`
	Timeout      Duration `toml:"timeout"` // default 5s
	OperatorID   string   `toml:"operator_id"`
	OperatorName string   `toml:"operator_name"`
	OfficeID     string   `toml:"office_id"`
	OfficeName   string   `toml:"office_name"`
	DeviceType   string   `toml:"device_type"`
}

// Offline says what the agent does while the platform cannot be reached (offline.md).
type Offline struct {
	Policy               string       `toml:"policy"` // full | estimate | refuse
	Deadline             Duration     `toml:"deadline"`
	MaxBillAmount        settle.Money `toml:"max_bill_amount"`
	MaxOutstandingAmount settle.Money `toml:"max_outstanding_amount"`
	RetryHorizon         Duration     `toml:"retry_horizon"`
	DefaultRatio         string       `toml:"default_ratio"` // decimal fund ratio for estimates before any real settlement, e.g. "0.70"
	// Inpatient is what a stay's settlement asked while offline does: defer (202
	// queued; the deposit covers the patient meanwhile) or refuse. The estimate
	// policy never applies to stays.
	Inpatient string `toml:"inpatient"`
}

// Sync paces the upload of queued bills when the platform is back.
type Sync struct {
	Concurrency   int     `toml:"concurrency"`
	RatePerSecond float64 `toml:"rate_per_second"`
}

// Mapping names the HIS-to-national item code mapping file.
type Mapping struct {
	File string `toml:"file"` // empty: HIS codes are already national codes
}

// HL7 is the HL7 v2 over MLLP listener.
type HL7 struct {
	Listen          string   `toml:"listen"` // empty: off
	DefaultMedType  string   `toml:"default_med_type"`
	DefaultWindow   string   `toml:"default_window"`
	IdleTimeout     Duration `toml:"idle_timeout"`
	MaxMessageBytes int64    `toml:"max_message_bytes"`
	// MLLP has no authentication: these keep the listener to the HIS (SECURITY.md).
	AllowFrom       []string `toml:"allow_from,omitempty"` // HIS addresses or networks ("10.1.2.3", "10.1.2.0/24"); empty: any
	Windows         []string `toml:"windows,omitempty"`    // windows this listener takes bills for; empty: every one
	TLSCert         string   `toml:"tls_cert"`             // MLLP over TLS when set (with tls_key)
	TLSKey          string   `toml:"tls_key"`              //
	FrameTimeout    Duration `toml:"frame_timeout"`        // a message must be whole this long after its first byte
	MaxConns        int      `toml:"max_conns"`            // connections in all
	MaxConnsPerHost int      `toml:"max_conns_per_host"`   // connections from one address
	MessageRate     float64  `toml:"message_rate"`         // bills a second taken over all connections

	// InpatientWindow books inpatient messages (ADT, DFT with PV1-2 "I"); empty:
	// default_window, else the first [[window]].
	InpatientWindow string `toml:"inpatient_window"`
}

// AllowPrefixes parses AllowFrom: a bare address is a network of that one address.
func (h HL7) AllowPrefixes() ([]netip.Prefix, error) {
	out := make([]netip.Prefix, 0, len(h.AllowFrom))
	for _, s := range h.AllowFrom {
		p, err := parseAllow(s)
		if err != nil {
			return nil, err
		}
		out = append(out, p)
	}
	return out, nil
}

func parseAllow(s string) (netip.Prefix, error) {
	if p, err := netip.ParsePrefix(s); err == nil {
		return p.Masked(), nil
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Prefix{}, fmt.Errorf("%q is neither an IP address nor a network such as 10.1.2.0/24", s)
	}
	a = a.Unmap()
	return netip.PrefixFrom(a, a.BitLen()), nil
}

// DropFolder is the watched folder of CSV bills.
type DropFolder struct {
	Dir           string   `toml:"dir"` // empty: off
	Encoding      string   `toml:"encoding"`
	QuietTime     Duration `toml:"quiet_time"`
	PollInterval  Duration `toml:"poll_interval"`
	DefaultWindow string   `toml:"default_window"`
	Windows       []string `toml:"windows,omitempty"` // windows the folder takes bills for; empty: every one
	MaxFileBills  int      `toml:"max_file_bills"`    // a file with more bills goes to error/ whole
}

// Log configures the agent's log.
type Log struct {
	Level      string `toml:"level"`  // debug | info | warn | error
	Format     string `toml:"format"` // text | json
	File       string `toml:"file"`   // empty: stderr
	MaxSizeMB  int    `toml:"max_size_mb"`
	MaxBackups int    `toml:"max_backups"`
}

// Default values that are not obvious from Default itself.
const (
	DefaultPlatformPath = "/fsi/api/rsfComIfsService/callService"
	DefaultListen       = "127.0.0.1:8420"
	DefaultBaud         = 9600
)

// Default returns the defaults: a single-window install (one window W01 with a card
// reader on this OS's usual port and no token yet) on this OS's default places.
func Default() *Config {
	return &Config{
		Hospital: Hospital{MsgidNode: -1},
		Platform: Platform{
			Path:             DefaultPlatformPath,
			Timeout:          Duration{3 * time.Second},
			RecerSysCode:     "YBXT",
			Infver:           "V1.0",
			ProbeInterval:    Duration{5 * time.Second},
			BreakerThreshold: 3,
		},
		API: API{
			Listen:       DefaultListen,
			MaxBodyBytes: 1 << 20,
			RateLimit:    50,
			ReadTimeout:  Duration{10 * time.Second},
			WriteTimeout: Duration{60 * time.Second}, // card waits are long polls of up to 30 s
			IdleTimeout:  Duration{120 * time.Second},
			Language:     "zh",
		},
		Store: Store{
			Dir:       DefaultDataDir(),
			Retention: Duration{720 * time.Hour},
		},
		Windows: []Window{defaultWindow()},
		Offline: Offline{
			Policy:               "full",
			Deadline:             Duration{3 * time.Second},
			MaxBillAmount:        settle.MustMoney("2000.00"),
			MaxOutstandingAmount: settle.MustMoney("50000.00"),
			RetryHorizon:         Duration{168 * time.Hour},
			DefaultRatio:         "0.70",
			Inpatient:            "defer",
		},
		Sync:      Sync{Concurrency: 8, RatePerSecond: 200},
		Catalogue: defaultCatalogue(),
		HL7: HL7{DefaultMedType: "11", IdleTimeout: Duration{5 * time.Minute}, MaxMessageBytes: 1 << 20,
			FrameTimeout: Duration{30 * time.Second}, MaxConns: 64, MaxConnsPerHost: 32, MessageRate: 20},
		DropFolder: DropFolder{Encoding: "utf-8", QuietTime: Duration{2 * time.Second}, PollInterval: Duration{time.Second}, MaxFileBills: 5000},
		Log:        Log{Level: "info", Format: "text", MaxSizeMB: 100, MaxBackups: 5},
	}
}

func defaultWindow() Window {
	w := Window{ID: "W01", Name: "Window 1", Reader: &Port{Port: DefaultReaderPort()}}
	w.Reader.fillDefaults("frame")
	return w
}

// fillDefaults sets every unset field of p to its default; protocol is "frame" for a
// card reader and "line" for a scanner.
func (p *Port) fillDefaults(protocol string) {
	if p.Baud == 0 {
		p.Baud = DefaultBaud
	}
	if p.DataBits == 0 {
		p.DataBits = 8
	}
	if p.Parity == "" {
		p.Parity = "N"
	}
	if p.StopBits == 0 {
		p.StopBits = 1
	}
	if p.Protocol == "" {
		p.Protocol = protocol
	}
	if p.ReadTimeout.Duration == 0 {
		p.ReadTimeout = Duration{500 * time.Millisecond}
	}
}

// WindowByToken returns the window whose token is token. It compares against every
// window in constant time, so the answer's timing does not tell which window matched.
func (c *Config) WindowByToken(token string) (*Window, bool) {
	found := -1
	for i := range c.Windows {
		if c.Windows[i].Token.Equal(token) && found < 0 {
			found = i
		}
	}
	if found < 0 {
		return nil, false
	}
	return &c.Windows[found], true
}

// Window returns the window with the given id.
func (c *Config) Window(id string) (*Window, bool) {
	for i := range c.Windows {
		if c.Windows[i].ID == id {
			return &c.Windows[i], true
		}
	}
	return nil, false
}

// DataPath joins name onto the store folder.
func (c *Config) DataPath(name string) string { return filepath.Join(c.Store.Dir, name) }
