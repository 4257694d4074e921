package cardreader

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/settle-agent/settle-agent"
)

// LinkOptions configure a Link, the cashier PC's end of a remote reader.
type LinkOptions struct {
	// Agent is the agent's API base URL, e.g. "https://frontend:8443".
	Agent string
	// Window is the window the reader sits at; Token is that window's bearer token.
	Window, Token string
	// TLS verifies the agent's certificate (nil: the system roots).
	TLS *tls.Config
	// Status says what the host knows of its reader, sent with every heartbeat.
	Status func() Heartbeat
	// MinBackoff and MaxBackoff bound the wait before reconnecting; 0 means 500 ms, 30 s.
	MinBackoff, MaxBackoff time.Duration
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// Logger gets one line per connect, disconnect and dropped read; nil discards.
	Logger *slog.Logger
}

// LinkState is what the reader host shows of its link to the agent.
type LinkState struct {
	Agent     string    `json:"agent"`
	Connected bool      `json:"connected"`
	Since     time.Time `json:"since,omitzero"`
	Waiting   bool      `json:"waiting"` // the window waits for a card: the reader is polled
	Sent      int       `json:"sent"`
	Dropped   int       `json:"dropped"`
	LastError string    `json:"last_error,omitempty"`
}

// linkOutbox bounds the reads waiting to be delivered.
const linkOutbox = 16

// readSendWindow is how long a read is retried before it is dropped: a card read
// older than this belongs to a patient the cashier has asked again.
const readSendWindow = 20 * time.Second

// Link delivers a reader's reads from the cashier's PC to the agent: it keeps a
// heartbeat long poll open (reconnecting with backoff), mirrors the window's demand
// into Demand() for a library reader to poll by, and posts each read given to OnRead.
type Link struct {
	o      LinkOptions
	log    *slog.Logger
	base   string
	client *http.Client
	demand *Demand
	outbox chan settle.CardRead

	mu      sync.Mutex
	st      LinkState
	endWait func()
}

// NewLink checks o and returns a link; nothing connects until Run.
func NewLink(o LinkOptions) (*Link, error) {
	u, err := url.Parse(o.Agent)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("agent URL %q: want http(s)://host:port", o.Agent)
	}
	if strings.TrimSpace(o.Window) == "" || strings.ContainsAny(o.Window, "/?#") {
		return nil, fmt.Errorf("window %q: want the window's id, e.g. W01", o.Window)
	}
	if strings.TrimSpace(o.Token) == "" {
		return nil, fmt.Errorf("window %s: the token is empty", o.Window)
	}
	if o.MinBackoff <= 0 {
		o.MinBackoff = DefaultMinBackoff
	}
	if o.MaxBackoff < o.MinBackoff {
		o.MaxBackoff = max(DefaultMaxBackoff, o.MinBackoff)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Status == nil {
		o.Status = func() Heartbeat { return Heartbeat{Connected: true} }
	}
	log := o.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.TLSClientConfig = o.TLS
	l := &Link{
		o: o, log: log.With("window", o.Window, "agent", u.Host),
		base:   strings.TrimRight(o.Agent, "/") + RemotePrefix + url.PathEscape(o.Window),
		client: &http.Client{Transport: tr},
		demand: NewDemand(),
		outbox: make(chan settle.CardRead, linkOutbox),
	}
	l.st.Agent = u.Redacted()
	return l, nil
}

// Demand says when the agent's window waits for a card.
func (l *Link) Demand() *Demand { return l.demand }

// State returns a snapshot of the link.
func (l *Link) State() LinkState {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.st
}

// OnRead queues a read for the agent; it returns at once. A full outbox drops the read.
func (l *Link) OnRead(r settle.CardRead) {
	select {
	case l.outbox <- r:
	default:
		l.mu.Lock()
		l.st.Dropped++
		l.mu.Unlock()
		l.log.Warn("read dropped: the outbox is full", "carrier", Carrier(r.Card))
	}
}

// Run keeps the heartbeat going and delivers reads until ctx ends. Every goroutine it
// starts has ended when it returns; it returns nil once ctx ends.
func (l *Link) Run(ctx context.Context) error {
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { defer wg.Done(); l.sendLoop(ctx) }()
	defer wg.Wait()
	defer l.setWaiting(false)
	backoff := l.o.MinBackoff
	for {
		err := l.heartbeat(ctx)
		if ctx.Err() != nil {
			return nil
		}
		if err == nil {
			backoff = l.o.MinBackoff
			continue
		}
		l.disconnected(err, backoff)
		if !sleep(ctx, backoff) {
			return nil
		}
		backoff = min(2*backoff, l.o.MaxBackoff)
	}
}

// heartbeat makes one heartbeat call and applies its answer.
func (l *Link) heartbeat(ctx context.Context) error {
	body, err := json.Marshal(l.o.Status())
	if err != nil {
		return err
	}
	l.mu.Lock()
	waiting := l.st.Waiting
	l.mu.Unlock()
	var ans struct {
		Waiting bool `json:"waiting"`
	}
	err = l.postJSON(ctx, fmt.Sprintf("%s?waiting=%t", remoteHeartbeatPath, waiting), body, HeartbeatHold+15*time.Second, func(resp *http.Response) error {
		if err := json.NewDecoder(resp.Body).Decode(&ans); err != nil {
			return fmt.Errorf("heartbeat answer: %w", err)
		}
		return nil
	})
	if err != nil {
		return err
	}
	l.connected()
	l.setWaiting(ans.Waiting)
	return nil
}

func (l *Link) auth(req *http.Request) {
	req.Header.Set("Authorization", "Bearer "+l.o.Token)
	req.Header.Set("Content-Type", "application/json")
}

func (l *Link) connected() {
	l.mu.Lock()
	defer l.mu.Unlock()
	if !l.st.Connected {
		l.st.Connected, l.st.Since, l.st.LastError = true, l.o.Now(), ""
		l.log.Info("connected to the agent")
	}
}

func (l *Link) disconnected(err error, retry time.Duration) {
	l.setWaiting(false) // reads could not be delivered: stop polling the reader
	l.mu.Lock()
	was := l.st.Connected
	l.st.Connected, l.st.LastError = false, err.Error()
	if was {
		l.st.Since = l.o.Now()
	}
	l.mu.Unlock()
	if was {
		l.log.Warn("lost the agent; reconnecting with backoff", "err", err, "retry_in", retry)
	} else {
		l.log.Debug("agent still unreachable", "err", err, "retry_in", retry)
	}
}

// setWaiting mirrors the window's demand into l.demand.
func (l *Link) setWaiting(w bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.st.Waiting = w
	switch {
	case w && l.endWait == nil:
		l.endWait = l.demand.Begin(l.o.Window)
	case !w && l.endWait != nil:
		l.endWait()
		l.endWait = nil
	}
}

// sendLoop posts queued reads, retrying each for readSendWindow.
func (l *Link) sendLoop(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case r := <-l.outbox:
			l.deliver(ctx, r)
		}
	}
}

func (l *Link) deliver(ctx context.Context, r settle.CardRead) {
	rr := RemoteRead{Card: r.Card, At: r.At}
	if r.Err != nil {
		rr.Error, rr.Code = r.Err.Error(), ErrorCode(r.Err)
	}
	body, err := json.Marshal(rr)
	if err != nil {
		return
	}
	until := time.Now().Add(readSendWindow)
	backoff := l.o.MinBackoff
	for {
		err = l.post(ctx, body)
		if err == nil {
			l.mu.Lock()
			l.st.Sent++
			l.mu.Unlock()
			return
		}
		if ctx.Err() != nil || time.Now().Add(backoff).After(until) {
			break
		}
		sleep(ctx, backoff)
		backoff = min(2*backoff, l.o.MaxBackoff)
	}
	l.mu.Lock()
	l.st.Dropped++
	l.mu.Unlock()
	l.log.Warn("read dropped: the agent did not take it", "carrier", Carrier(r.Card), "err", err)
}

func (l *Link) post(ctx context.Context, body []byte) error {
	return l.postJSON(ctx, remoteReadsPath, body, 10*time.Second, nil)
}

// postJSON posts body to the window's path below the agent within timeout and hands a
// 2xx answer to read (nil: the body is not needed); another answer is an error.
func (l *Link) postJSON(ctx context.Context, path string, body []byte, timeout time.Duration, read func(*http.Response) error) error {
	cctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(cctx, http.MethodPost, l.base+path, bytes.NewReader(body))
	if err != nil {
		return err
	}
	l.auth(req)
	resp, err := l.client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		return statusError(resp)
	}
	if read != nil {
		return read(resp)
	}
	return nil
}
