package cardreader

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/settle-agent/settle-agent"
	"github.com/settle-agent/settle-agent/cardreader/libhost"
)

// The remote reader protocol (docs/readers.md): a `settle-agent reader-host` on the
// cashier's PC talks to the agent's API with that window's bearer token:
//
//	POST {base}/v1/windows/{w}/reader/heartbeat?waiting=BOOL  body: Heartbeat
//	     held up to HeartbeatHold, answered {"waiting": bool} as soon as the
//	     window's demand differs from BOOL: the host polls its reader only then
//	POST {base}/v1/windows/{w}/reader/reads                    body: RemoteRead
//	     one read; 204 when taken
const (
	// RemotePrefix and the suffixes are the paths the RemoteHub serves.
	RemotePrefix        = "/v1/windows/"
	remoteHeartbeatPath = "/reader/heartbeat"
	remoteReadsPath     = "/reader/reads"
	// HeartbeatHold is how long the agent holds a heartbeat that has nothing to say.
	HeartbeatHold = 20 * time.Second
	// remoteGrace is how long after its last heartbeat a remote reader still counts
	// as connected (between two heartbeats, or through a short reconnect).
	remoteGrace = 5 * time.Second
	// maxRemoteBody bounds a heartbeat's or a read's body.
	maxRemoteBody = 64 << 10
	// maxReaderField and maxReaderError bound what a reader host says of itself and of
	// a failed read (cleaned with settle.CleanText: it shows on the status page).
	maxReaderField = 128
	maxReaderError = 300
)

// Heartbeat is what a reader host says of itself with every heartbeat.
type Heartbeat struct {
	Kind      string         `json:"kind"` // KindSerial or KindLibrary, on the cashier PC
	Port      string         `json:"port,omitempty"`
	Protocol  string         `json:"protocol,omitempty"`
	Library   string         `json:"library,omitempty"`
	Interface string         `json:"interface,omitempty"`
	Connected bool           `json:"connected"` // the reader itself answers
	LastError string         `json:"last_error,omitempty"`
	Firmware  string         `json:"firmware,omitempty"`
	Host      *libhost.State `json:"host,omitempty"`
	Version   string         `json:"version,omitempty"`
}

// clean makes every text of a heartbeat plain text of bounded length: it reaches the
// cashier, /v1/status and the open status page.
func (hb *Heartbeat) clean() {
	for _, s := range []*string{&hb.Kind, &hb.Port, &hb.Protocol, &hb.Library, &hb.Interface, &hb.Firmware, &hb.Version} {
		*s = settle.CleanText(*s, maxReaderField)
	}
	hb.LastError = settle.CleanText(hb.LastError, maxReaderError)
	if hb.Host != nil {
		h := *hb.Host
		h.Library = settle.CleanText(h.Library, maxReaderField)
		h.Interface = settle.CleanText(h.Interface, maxReaderField)
		h.LastFault = settle.CleanText(h.LastFault, maxReaderError)
		hb.Host = &h
	}
}

// HeartbeatOf is what a reader host says of its reader, from the reader's state.
func HeartbeatOf(st State, version string) Heartbeat {
	return Heartbeat{Kind: st.Kind, Port: st.Port, Protocol: st.Protocol, Library: st.Library, Interface: st.Interface,
		Connected: st.Connected, LastError: st.LastError, Firmware: st.Firmware, Host: st.Host, Version: version}
}

// RemoteRead is one read a reader host delivers: a card, or the error text the
// cashier should see.
type RemoteRead struct {
	Card  settle.Card `json:"card"`
	Error string      `json:"error,omitempty"`
	Code  string      `json:"code,omitempty"` // ErrorCode of the error
	At    time.Time   `json:"at"`
}

// ErrRemote is the error of a read that failed on the cashier's PC: its text is the
// reader host's, and it wraps the sentinel its code names (errors.Is works across the
// LAN).
type ErrRemote struct {
	Msg string
	Err error // nil when the code was unknown
}

func (e *ErrRemote) Error() string { return e.Msg }

// Unwrap returns the sentinel the reader host named.
func (e *ErrRemote) Unwrap() error { return e.Err }

// RemoteOptions configure a RemoteHub.
type RemoteOptions struct {
	// Token returns the bearer token of window and whether window has a remote
	// reader at all.
	Token func(window string) (token string, ok bool)
	// OnRead receives every read, validated again here against the agent's clock.
	OnRead func(settle.CardRead)
	// Demand says when a window waits for a card; nil: always.
	Demand *Demand
	// Hold is how long a heartbeat is held; 0 means HeartbeatHold.
	Hold time.Duration
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// Logger gets one line per connect, disconnect and read, PII masked; nil discards.
	Logger *slog.Logger
}

// RemoteHub is the agent's end of remote readers: an http.Handler the HTTP adapter
// mounts at "/v1/windows/{window}/reader/", and the state of each remote reader.
type RemoteHub struct {
	o   RemoteOptions
	log *slog.Logger

	mu    sync.Mutex
	peers map[string]*remotePeer
}

type remotePeer struct {
	st       State
	inflight int
	lastSeen time.Time
}

// NewRemoteHub returns a hub for o.
func NewRemoteHub(o RemoteOptions) *RemoteHub {
	if o.Hold <= 0 {
		o.Hold = HeartbeatHold
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	log := o.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &RemoteHub{o: o, log: log, peers: map[string]*remotePeer{}}
}

// Expect registers window as having a remote reader, so that its state shows before
// the reader host first connects.
func (h *RemoteHub) Expect(window string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.peer(window)
}

func (h *RemoteHub) peer(window string) *remotePeer {
	p := h.peers[window]
	if p == nil {
		p = &remotePeer{st: State{Window: window, Kind: KindRemote}}
		h.peers[window] = p
	}
	return p
}

// State returns the state of window's remote reader; ok is false when none is known.
func (h *RemoteHub) State(window string) (State, bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	p, ok := h.peers[window]
	if !ok {
		return State{}, false
	}
	return h.snapshot(p), true
}

// States returns the state of every remote reader, in no particular order.
func (h *RemoteHub) States() []State {
	h.mu.Lock()
	defer h.mu.Unlock()
	out := make([]State, 0, len(h.peers))
	for _, p := range h.peers {
		out = append(out, h.snapshot(p))
	}
	return out
}

// snapshot is p's state now; h.mu is held.
func (h *RemoteHub) snapshot(p *remotePeer) State {
	st := p.st
	st.Reads = cloneCounts(p.st.Reads)
	connected := p.inflight > 0 || (!p.lastSeen.IsZero() && h.o.Now().Sub(p.lastSeen) < remoteGrace)
	if !connected && st.Connected {
		st.Connected = false
		st.Since = p.lastSeen
		if st.LastError == "" {
			st.LastError = "the reader host on the cashier's PC is not connected: check that its service runs and reaches the agent"
		}
	}
	if !connected && p.lastSeen.IsZero() {
		st.LastError = "the reader host on the cashier's PC has not connected yet: install and start settle-agent reader-host there (docs/readers.md)"
	}
	return st
}

// ServeHTTP serves heartbeats and reads of remote reader hosts.
func (h *RemoteHub) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	window, op, ok := splitRemotePath(r.URL.Path)
	if !ok || r.Method != http.MethodPost {
		writeRemoteError(w, http.StatusNotFound, "not_found", "POST /v1/windows/{window}/reader/heartbeat or /reader/reads")
		return
	}
	// The token first, and the same 401 for an unknown window as for a wrong token:
	// nothing tells a caller without the token which windows exist, and nothing of the
	// path is echoed.
	tok, _ := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	want, known := "", false
	if h.o.Token != nil {
		want, known = h.o.Token(window)
	}
	if tok = strings.TrimSpace(tok); tok == "" || !known || !sameToken(tok, want) {
		w.Header().Set("WWW-Authenticate", `Bearer realm="settle-agent"`)
		writeRemoteError(w, http.StatusUnauthorized, "unauthorized",
			"the reader host must send its window's token (Authorization: Bearer <token>), for a window with reader = { remote = true }")
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxRemoteBody))
	if err != nil {
		writeRemoteError(w, http.StatusRequestEntityTooLarge, "bad_request", "body over 64 KiB")
		return
	}
	switch op {
	case remoteHeartbeatPath:
		h.heartbeat(w, r, window, body)
	case remoteReadsPath:
		h.read(w, r, window, body)
	}
}

// sameToken compares two tokens in constant time by their SHA-256 digests, so that
// not even the length of the wanted token shows in the time of a refusal.
func sameToken(got, want string) bool {
	g, w := sha256.Sum256([]byte(got)), sha256.Sum256([]byte(want))
	return subtle.ConstantTimeCompare(g[:], w[:]) == 1
}

// splitRemotePath cuts "/v1/windows/W01/reader/heartbeat" into W01 and the op.
func splitRemotePath(p string) (window, op string, ok bool) {
	rest, found := strings.CutPrefix(p, RemotePrefix)
	if !found {
		return "", "", false
	}
	i := strings.IndexByte(rest, '/')
	if i <= 0 {
		return "", "", false
	}
	window, op = rest[:i], rest[i:]
	if op != remoteHeartbeatPath && op != remoteReadsPath {
		return "", "", false
	}
	return window, op, true
}

func (h *RemoteHub) heartbeat(w http.ResponseWriter, r *http.Request, window string, body []byte) {
	var hb Heartbeat
	if err := json.Unmarshal(body, &hb); err != nil {
		writeRemoteError(w, http.StatusBadRequest, "bad_request", "heartbeat: "+err.Error())
		return
	}
	hb.clean()
	hostWaiting := r.URL.Query().Get("waiting") == "true"
	now := h.o.Now()
	h.mu.Lock()
	p := h.peer(window)
	wasConnected := p.inflight > 0 || (!p.lastSeen.IsZero() && now.Sub(p.lastSeen) < remoteGrace)
	p.inflight++
	p.lastSeen = now
	st := &p.st
	if !wasConnected {
		st.Since = now
	}
	st.Connected = true
	st.Port, st.Protocol, st.Library, st.Interface = hb.Port, hb.Protocol, hb.Library, hb.Interface
	st.Firmware, st.Host, st.Peer = hb.Firmware, hb.Host, remoteAddr(r)
	st.LastError = ""
	if !hb.Connected {
		st.LastError = "the reader host runs, but its reader does not answer"
		if hb.LastError != "" {
			st.LastError += ": " + hb.LastError
		}
	}
	h.mu.Unlock()
	if !wasConnected {
		h.log.Info("remote reader connected", "window", window, "peer", remoteAddr(r), "kind", hb.Kind)
	}
	defer func() {
		h.mu.Lock()
		p.inflight--
		p.lastSeen = h.o.Now()
		h.mu.Unlock()
	}()

	waiting := true
	var changed <-chan struct{}
	if h.o.Demand != nil {
		waiting, changed = h.o.Demand.Waiting(window)
	}
	if waiting == hostWaiting && changed != nil {
		t := time.NewTimer(h.o.Hold)
		defer t.Stop()
		select {
		case <-changed:
			waiting, _ = h.o.Demand.Waiting(window)
		case <-t.C:
		case <-r.Context().Done():
			return
		}
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	_ = json.NewEncoder(w).Encode(map[string]bool{"waiting": waiting})
}

func (h *RemoteHub) read(w http.ResponseWriter, r *http.Request, window string, body []byte) {
	var rr RemoteRead
	if err := json.Unmarshal(body, &rr); err != nil {
		writeRemoteError(w, http.StatusBadRequest, "bad_request", "read: "+err.Error())
		return
	}
	c, err := h.check(rr)
	at := h.o.Now()
	h.mu.Lock()
	p := h.peer(window)
	p.lastSeen = at
	p.st.LastRead = at
	if err != nil {
		p.st.LastError = err.Error()
	} else {
		p.st.LastError = ""
		if p.st.Reads == nil {
			p.st.Reads = map[string]int{}
		}
		p.st.Reads[Carrier(c)]++
	}
	h.mu.Unlock()
	if err != nil {
		h.log.Warn("remote card refused", "window", window, "carrier", Carrier(c), "err", err)
	} else {
		h.log.Info("remote card read", "window", window, "carrier", Carrier(c), "card_no", settle.MaskID(c.CardNo))
	}
	if h.o.OnRead != nil {
		h.o.OnRead(settle.CardRead{Window: window, Card: c, At: at, Err: err})
	}
	w.WriteHeader(http.StatusNoContent)
}

// check validates a remote read again with the agent's own parsers and clock: a read
// from the LAN is not trusted more than one from a local port.
func (h *RemoteHub) check(rr RemoteRead) (settle.Card, error) {
	if rr.Error != "" {
		msg := rr.Error
		if len(msg) > maxReaderError || !settle.PlainText(msg) {
			msg = "the reader on the cashier's PC reported an unreadable error"
		}
		return settle.Card{CertType: rr.Card.CertType}, &ErrRemote{Msg: msg, Err: errorOfCode(rr.Code)}
	}
	c := rr.Card
	switch c.CertType {
	case settle.CertSSCard:
		got, err := ParseBasic(BasicString(c))
		if err != nil {
			return got, err
		}
		return got, CheckCard(got, h.o.Now())
	case settle.CertIDNumber:
		got, err := ParseSFZ(SFZString(c, "", "", "", ""))
		if err != nil {
			return got, err
		}
		return got, CheckCard(got, h.o.Now())
	case settle.CertEVoucher:
		got, ok, err := parseLine([]byte(c.CardNo))
		if err == nil && !ok {
			err = fmt.Errorf("empty code: %w", ErrBadLine)
		}
		return got, err
	}
	return settle.Card{}, fmt.Errorf("mdtrt_cert_type %q: %w", truncate(c.CertType, 8), ErrBadBasic)
}

func remoteAddr(r *http.Request) string {
	if host, _, err := net.SplitHostPort(r.RemoteAddr); err == nil {
		return host
	}
	return r.RemoteAddr
}

func writeRemoteError(w http.ResponseWriter, status int, code, msg string) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]any{"error": map[string]string{"code": code, "message": msg}})
}

// errStatus is a non-2xx answer of the agent to a reader host.
type errStatus struct {
	code int
	msg  string
}

func (e *errStatus) Error() string { return fmt.Sprintf("agent answered HTTP %d: %s", e.code, e.msg) }

// statusError reads an error answer's message.
func statusError(resp *http.Response) error {
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	var body struct {
		Error struct {
			Message string `json:"message"`
		} `json:"error"`
	}
	msg := strings.TrimSpace(string(b))
	if json.Unmarshal(b, &body) == nil && body.Error.Message != "" {
		msg = body.Error.Message
	}
	return &errStatus{code: resp.StatusCode, msg: truncate(msg, 300)}
}
