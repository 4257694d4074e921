package cardreader

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/settle-agent/settle-agent"
	"github.com/settle-agent/settle-agent/cardreader/libhost"
	"github.com/settle-agent/settle-agent/cardreader/vendorlib"
)

// Library interfaces a LibConfig may name.
const (
	InterfaceHeaSec = vendorlib.HeaSec // HeaSecReadInfo: Init, ReadCardBas, ReadSFZ
	InterfaceSSCard = vendorlib.SSCard // SSCardDriver: iReadCardBas
)

// Defaults of LibConfig.
const (
	DefaultPoll         = 500 * time.Millisecond
	DefaultCallDeadline = 5 * time.Second
	DefaultCardType     = 3 // sscard: automatic, contact first
)

// LibConfig is one library reader at one window (the TOML
// `reader = { library = "...", interface = "heasec", init = {...}, poll = "500ms" }`).
type LibConfig struct {
	Window string `json:"window"`
	// Library is the vendor library's path (HeaSecReadInfo.dll, libHeaSecReadInfo.so,
	// SSCardDriver.dll, ...).
	Library string `json:"library"`
	// Interface is "heasec" or "sscard".
	Interface string `json:"interface"`
	// CardType is sscard's iReadCardBas type: 1 contact, 2 contactless, 3 automatic
	// contact first, 4 automatic contactless first; 0 means 3.
	CardType int `json:"card_type,omitempty"`
	// Init holds heasec's Init values (IP, PORT, TIMEOUT, LOG_PATH, SFZ_DRIVER_TYPE),
	// sent as one JSON object once per reader-host child.
	Init map[string]any `json:"init,omitempty"`
	// Poll is how often the reader is asked for a card while a window waits; 0 means 500 ms.
	Poll time.Duration `json:"poll,omitempty"`
	// Deadline bounds each call into the library; 0 means 5 s. A call that overruns it
	// stops that reader-host child, which is restarted with backoff.
	Deadline time.Duration `json:"deadline,omitempty"`
	// NoSFZ turns resident ID card reading (heasec ReadSFZ) off.
	NoSFZ bool `json:"no_sfz,omitempty"`
	// PhotoDir is where ReadSFZ writes the ID card photo; "" means the system temp dir.
	PhotoDir string `json:"photo_dir,omitempty"`
	// HostExe is the reader-host executable; "" means this program. A 64-bit agent
	// names the windows/386 build here for a vendor's 32-bit DLL.
	HostExe string `json:"host_exe,omitempty"`
}

// WithDefaults returns c with every zero value replaced by its default.
func (c LibConfig) WithDefaults() LibConfig {
	c.Interface = strings.ToLower(strings.TrimSpace(c.Interface))
	if c.CardType == 0 {
		c.CardType = DefaultCardType
	}
	if c.Poll == 0 {
		c.Poll = DefaultPoll
	}
	if c.Deadline == 0 {
		c.Deadline = DefaultCallDeadline
	}
	return c
}

// Validate checks c (after WithDefaults) and names every bad field at once.
func (c LibConfig) Validate() error {
	v := &settle.ValidationError{What: "reader " + c.Window}
	if strings.TrimSpace(c.Window) == "" {
		v.Add("window", "is required")
	}
	if strings.TrimSpace(c.Library) == "" {
		v.Add("library", "is required: the vendor library's path, e.g. HeaSecReadInfo.dll")
	}
	switch c.Interface {
	case InterfaceHeaSec, InterfaceSSCard:
	default:
		v.Add("interface", "%q is not heasec (HeaSecReadInfo) or sscard (SSCardDriver)", c.Interface)
	}
	if c.CardType < 1 || c.CardType > 4 {
		v.Add("card_type", "must be 1 (contact), 2 (contactless), 3 or 4 (automatic), got %d", c.CardType)
	}
	if c.Poll < 50*time.Millisecond || c.Poll > time.Minute {
		v.Add("poll", "must be between 50ms and 1m, got %s", c.Poll)
	}
	if c.Deadline < 100*time.Millisecond || c.Deadline > 5*time.Minute {
		v.Add("deadline", "must be between 100ms and 5m, got %s", c.Deadline)
	}
	if c.Interface == InterfaceHeaSec {
		if _, err := c.initJSON(); err != nil {
			v.Add("init", "cannot be sent as JSON: %v", err)
		}
	}
	return v.Err()
}

// initJSON is heasec's Init input: the configured values as one JSON object.
func (c LibConfig) initJSON() ([]byte, error) {
	if c.Init == nil {
		return []byte("{}"), nil
	}
	return json.Marshal(c.Init)
}

// LibOptions tunes a LibReader; nil or zero values mean the defaults.
type LibOptions struct {
	// OnRead receives every card read (social security or ID card) and every failed
	// read, once per insertion. It runs on the reader's goroutine: it must return quickly.
	OnRead func(settle.CardRead)
	// Demand says when the window waits for a card; the reader polls only then. nil
	// means poll all the time (a remote reader host does this).
	Demand *Demand
	// HostArgs and HostEnv start the reader-host child (tests re-execute their binary);
	// nil means `reader-host --stdio` and the agent's environment.
	HostArgs, HostEnv []string
	// MinBackoff and MaxBackoff bound the reader-host restart backoff.
	MinBackoff, MaxBackoff time.Duration
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// Logger gets one line per event, PII masked; nil discards.
	Logger *slog.Logger
}

// LibReader is a reader driven through a vendor's library in a reader-host child. Run
// polls it; State may be called from any goroutine.
type LibReader struct {
	cfg     LibConfig
	o       LibOptions
	log     *slog.Logger
	host    *libhost.Host
	running atomic.Bool

	mu      sync.Mutex
	st      State
	lastKey string // what the last poll found in the reader ("" none)
	faulted bool   // a fault was already told to the window
}

// NewLib checks cfg and returns a reader for it; no child starts until Run.
func NewLib(cfg LibConfig, o *LibOptions) (*LibReader, error) {
	cfg = cfg.WithDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	r := &LibReader{cfg: cfg}
	if o != nil {
		r.o = *o
	}
	if r.o.Now == nil {
		r.o.Now = time.Now
	}
	r.log = r.o.Logger
	if r.log == nil {
		r.log = slog.New(slog.DiscardHandler)
	}
	r.log = r.log.With("window", cfg.Window, "library", filepath.Base(cfg.Library))
	var initJSON []byte
	if cfg.Interface == InterfaceHeaSec {
		initJSON, _ = cfg.initJSON() // Validate checked it
	}
	r.host = libhost.New(libhost.Options{
		Exe: cfg.HostExe, Args: r.o.HostArgs, Env: r.o.HostEnv,
		Library: cfg.Library, Interface: cfg.Interface, Init: initJSON,
		Deadline: cfg.Deadline, MinBackoff: r.o.MinBackoff, MaxBackoff: r.o.MaxBackoff,
		Logger: r.log, // the host keeps real time for its backoff; Now is the cards' calendar
	})
	r.st = State{Window: cfg.Window, Kind: KindLibrary, Library: cfg.Library, Interface: cfg.Interface}
	return r, nil
}

// Config returns the reader's configuration with defaults filled in.
func (r *LibReader) Config() LibConfig { return r.cfg }

// State returns a snapshot of the reader's state, with its reader-host child's.
func (r *LibReader) State() State {
	hs := r.host.State()
	r.mu.Lock()
	defer r.mu.Unlock()
	st := r.st
	st.Host = &hs
	st.Reads = cloneCounts(r.st.Reads)
	return st
}

// Run polls the reader while the window waits (every Poll), until ctx ends; then it
// stops the reader-host child. The first poll starts the child, which opens the
// library and calls Init once. It returns nil once ctx ends.
func (r *LibReader) Run(ctx context.Context) error {
	if !r.running.CompareAndSwap(false, true) {
		return fmt.Errorf("reader %s: Run called twice", r.cfg.Window)
	}
	defer r.running.Store(false)
	defer r.host.Close()
	t := time.NewTimer(0)
	defer t.Stop()
	for {
		if r.o.Demand != nil {
			waiting, changed := r.o.Demand.Waiting(r.cfg.Window)
			if !waiting {
				select {
				case <-ctx.Done():
					return nil
				case <-changed:
				}
				continue
			}
		}
		r.Poll(ctx)
		t.Reset(r.cfg.Poll)
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

// Poll asks the library once for a social security card, then (heasec, when it
// exports ReadSFZ) for an ID card, and reports what it found if it differs from the
// last poll: a card left in the reader is reported once per insertion.
func (r *LibReader) Poll(ctx context.Context) {
	resp, err := r.host.Call(ctx, libhost.Request{Op: libhost.OpReadCard, CardType: int32(r.cfg.CardType)})
	if err != nil {
		r.callFailed(ctx, err)
		return
	}
	r.connected()
	if resp.RC == 0 {
		r.found("card:"+string(resp.Out), func() (settle.Card, error) { return r.parse(resp.Out, ParseBasic) })
		return
	}
	noCard := libhost.Text(resp.Out)
	if r.cfg.Interface == InterfaceHeaSec && !r.cfg.NoSFZ && r.host.State().HasSFZ {
		photo := filepath.Join(r.photoDir(), "sfz-"+r.cfg.Window+".bmp")
		resp, err := r.host.Call(ctx, libhost.Request{Op: libhost.OpReadSFZ, Photo: photo})
		if err != nil {
			r.callFailed(ctx, err)
			return
		}
		if resp.RC == 0 {
			r.found("sfz:"+string(resp.Out), func() (settle.Card, error) { return r.parse(resp.Out, ParseSFZ) })
			return
		}
	}
	r.mu.Lock()
	if r.lastKey != "" {
		r.log.Info("card removed")
	}
	r.lastKey = ""
	r.st.LastError = ""
	r.mu.Unlock()
	r.log.Debug("no card", "vendor_message", noCard, "rc", resp.RC)
}

func (r *LibReader) photoDir() string {
	if r.cfg.PhotoDir != "" {
		return r.cfg.PhotoDir
	}
	return os.TempDir()
}

// parse decodes GBK output and parses and checks it against today.
func (r *LibReader) parse(out []byte, parse func(string) (settle.Card, error)) (settle.Card, error) {
	s, err := DecodeGBK(out)
	if err != nil {
		return settle.Card{}, fmt.Errorf("%v: %w", err, ErrBadBasic)
	}
	c, err := parse(s)
	if err != nil {
		return c, err
	}
	return c, CheckCard(c, r.o.Now())
}

// found reports the card behind key unless the last poll found it already.
func (r *LibReader) found(key string, parse func() (settle.Card, error)) {
	r.mu.Lock()
	same := key == r.lastKey
	r.lastKey = key
	r.mu.Unlock()
	if same {
		return
	}
	c, err := parse()
	r.deliver(c, err)
}

func (r *LibReader) deliver(c settle.Card, err error) {
	at := r.o.Now()
	r.mu.Lock()
	r.st.LastRead = at
	if err != nil {
		r.st.LastError = err.Error()
	} else {
		r.st.LastError = ""
		if r.st.Reads == nil {
			r.st.Reads = map[string]int{}
		}
		r.st.Reads[Carrier(c)]++
	}
	r.mu.Unlock()
	if err != nil {
		r.log.Warn("card refused", "carrier", Carrier(c), "card_no", settle.MaskID(c.CardNo), "err", err)
	} else {
		r.log.Info("card read", "carrier", Carrier(c), "card_no", settle.MaskID(c.CardNo), "name", settle.MaskName(c.Name))
	}
	if r.o.OnRead != nil {
		r.o.OnRead(settle.CardRead{Window: r.cfg.Window, Card: c, At: at, Err: err})
	}
}

// connected notes a call that worked.
func (r *LibReader) connected() {
	r.mu.Lock()
	defer r.mu.Unlock()
	if !r.st.Connected {
		r.st.Connected, r.st.Since = true, r.o.Now()
	}
	r.faulted = false
}

// callFailed notes a call that did not work. A hang, a crash or a library that cannot
// be set up is told to a waiting window once per fault, so the cashier knows.
func (r *LibReader) callFailed(ctx context.Context, err error) {
	if ctx.Err() != nil {
		return
	}
	r.mu.Lock()
	if r.st.Connected {
		r.st.Connected, r.st.Since = false, r.o.Now()
	}
	r.st.LastError = err.Error()
	tell := !r.faulted && !errors.Is(err, libhost.ErrRestarting)
	if tell {
		r.faulted = true
		r.lastKey = "" // the card is read again once the library is back
	}
	r.mu.Unlock()
	if errors.Is(err, libhost.ErrRestarting) {
		r.log.Debug("reader library restarting", "err", err)
		return
	}
	r.log.Warn("reader library call failed", "err", err)
	if tell && r.o.OnRead != nil {
		r.o.OnRead(settle.CardRead{Window: r.cfg.Window, At: r.o.Now(), Err: fmt.Errorf("%v: %w", err, ErrReaderFault)})
	}
}

func cloneCounts(m map[string]int) map[string]int {
	if m == nil {
		return nil
	}
	c := make(map[string]int, len(m))
	for k, v := range m {
		c[k] = v
	}
	return c
}
