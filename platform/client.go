package platform

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptrace"
	"net/url"
	"os"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-resty/resty/v2"

	settle "github.com/settle-agent/settle-agent"
	"github.com/settle-agent/settle-agent/platform/gmcodec"
)

// Defaults of Options.
const (
	DefaultPath                = "/fsi/api/rsfComIfsService/callService"
	DefaultTimeout             = 3 * time.Second
	DefaultRecerSysCode        = "YBXT"
	DefaultInfver              = "V1.0"
	DefaultMaxIdleConnsPerHost = 64
	maxResponseBytes           = 16 << 20
)

// Options configures a Client. The zero value of each field means its default.
type Options struct {
	// BaseURL is the platform's scheme://host[:port][/prefix]. https unless it says
	// http:// explicitly (simulator, tests). Required.
	BaseURL string
	// Path is appended to BaseURL (DefaultPath).
	Path string
	// Paths overrides Path per infno (e.g. "2207" -> "/fsi/api/outpatientSettleService/saveSettletmentV2"),
	// for provinces that give each service its own path; an infno not in it uses Path.
	Paths map[string]string
	// Phrases recognise the refusals that have a sentinel (ErrOriginalNotFound,
	// ErrAlreadySettled, ErrSessionExpired, ErrNothingToCancel); a nil list uses
	// DefaultPhrases' list.
	Phrases Phrases
	// FileInArray sends a 9101 file as a JSON array of byte values instead of base64 text.
	FileInArray bool
	// ReconResultColumns is the column order of a 3202 result file (nil:
	// DefaultReconResultColumns).
	ReconResultColumns []string
	// Timeout bounds each call (DefaultTimeout); a context deadline that comes earlier wins.
	Timeout time.Duration
	// Paasid and Token sign every request with the x-tif-* headers when Paasid is set.
	Paasid, Token string
	// CAFile is a PEM bundle of the CAs trusted for the platform (the 金保 network's own
	// CA); empty: the system roots.
	CAFile string
	// CertFile and KeyFile are an optional client certificate (PEM).
	CertFile, KeyFile string
	// InsecureSkipVerify turns off server certificate checks (never in production).
	InsecureSkipVerify bool
	// FixmedinsCode and FixmedinsName name the hospital in every envelope.
	FixmedinsCode, FixmedinsName string
	// MdtrtareaAdmvs is the treatment area (the hospital's region code).
	MdtrtareaAdmvs string
	// RecerSysCode is the receiving system code (DefaultRecerSysCode).
	RecerSysCode string
	// Infver is the interface version (DefaultInfver).
	Infver string
	// Now is the clock for inf_time and signatures (nil: time.Now).
	Now func() time.Time
	// Logger gets one line per call, without personal data (nil: discard).
	Logger *slog.Logger
	// Crypto is [platform.crypto]: the 国密 envelope of provinces that encrypt or sign
	// it. NewClient makes its Codec from it when Codec is nil; empty: plain JSON.
	Crypto gmcodec.Settings
	// Codec encrypts and signs every envelope and opens every answer; nil: the
	// gmcodec.Codec of Crypto.
	Codec EnvelopeCodec
	// MaxIdleConnsPerHost sizes the keep-alive pool (DefaultMaxIdleConnsPerHost). It also
	// caps the open connections: callers beyond it wait for a free connection (within
	// their deadline; one that never got a connection is ErrNotSent).
	MaxIdleConnsPerHost int
}

// Meta is what varies per call in the envelope. Msgid is required: the caller writes it
// to its store before the call (it is what a reversal names). OpterType defaults to
// OpterStaff.
type Meta struct {
	Msgid         string
	InsuplcAdmdvs string
	OpterType     string
	Opter         string
	OpterName     string
}

// Client calls the platform. It is safe for concurrent use; its connection pool is sized
// for many windows calling at once.
type Client struct {
	o         Options
	base      string
	phrases   Phrases
	transport *http.Transport
	rc        *resty.Client
	codec     EnvelopeCodec // nil: plain
	log       *slog.Logger

	mu     sync.RWMutex
	signNo string
}

// NewClient checks o, loads the TLS material and returns a client.
func NewClient(o Options) (*Client, error) {
	if o.Path == "" {
		o.Path = DefaultPath
	}
	if o.Timeout <= 0 {
		o.Timeout = DefaultTimeout
	}
	if o.RecerSysCode == "" {
		o.RecerSysCode = DefaultRecerSysCode
	}
	if o.Infver == "" {
		o.Infver = DefaultInfver
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.MaxIdleConnsPerHost <= 0 {
		o.MaxIdleConnsPerHost = DefaultMaxIdleConnsPerHost
	}
	log := o.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	for infno, path := range o.Paths {
		if !strings.HasPrefix(path, "/") {
			return nil, fmt.Errorf("platform path of %s %q: want a path starting with /: %w", infno, path, settle.ErrInvalid)
		}
	}
	u, err := url.Parse(o.BaseURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("platform base_url %q: want https://host[:port] (or http:// for a simulator): %w", o.BaseURL, settle.ErrInvalid)
	}
	if o.Codec == nil {
		gm, err := gmcodec.New(o.Crypto)
		if err != nil {
			return nil, fmt.Errorf("[platform.crypto]: %w", err)
		}
		o.Codec = gm
	}
	tlsConf, err := tlsConfig(o)
	if err != nil {
		return nil, err
	}
	tr := &http.Transport{
		Proxy: nil, // the 金保 link is direct; a desktop proxy setting must not reroute it
		DialContext: (&net.Dialer{
			Timeout:   o.Timeout,
			KeepAlive: 30 * time.Second,
		}).DialContext,
		TLSClientConfig:       tlsConf,
		TLSHandshakeTimeout:   o.Timeout,
		MaxIdleConns:          o.MaxIdleConnsPerHost * 2,
		MaxIdleConnsPerHost:   o.MaxIdleConnsPerHost,
		MaxConnsPerHost:       o.MaxIdleConnsPerHost,
		IdleConnTimeout:       50 * time.Second, // below the usual 60-75 s of gateways, so they rarely close a connection under us
		ResponseHeaderTimeout: 0,                // the per-call context deadline bounds it
		DisableCompression:    false,
	}
	rc := resty.NewWithClient(&http.Client{Transport: tr}).
		SetLogger(discardRestyLogger{}).
		SetDisableWarn(true).
		SetRetryCount(0).
		SetResponseBodyLimit(maxResponseBytes)
	c := &Client{
		o:         o,
		base:      strings.TrimSuffix(o.BaseURL, "/"),
		phrases:   o.Phrases.orDefault(),
		transport: tr,
		rc:        rc,
		codec:     o.Codec,
		log:       log,
	}
	if o.Codec != nil && o.Codec.Describe() == "plain" {
		c.codec = nil // an empty [platform.crypto]: no work per envelope
	}
	return c, nil
}

func tlsConfig(o Options) (*tls.Config, error) {
	conf := &tls.Config{MinVersion: tls.VersionTLS12, InsecureSkipVerify: o.InsecureSkipVerify} //nolint:gosec // configurable, documented as never in production
	if o.CAFile != "" {
		pem, err := os.ReadFile(o.CAFile)
		if err != nil {
			return nil, fmt.Errorf("platform ca_file: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("platform ca_file %s holds no PEM certificate: %w", o.CAFile, settle.ErrInvalid)
		}
		conf.RootCAs = pool
	}
	if o.CertFile != "" || o.KeyFile != "" {
		cert, err := tls.LoadX509KeyPair(o.CertFile, o.KeyFile)
		if err != nil {
			return nil, fmt.Errorf("platform client certificate: %w", err)
		}
		conf.Certificates = []tls.Certificate{cert}
	}
	return conf, nil
}

// SetSignNo sets the sign_no (from 9001) every later envelope carries.
func (c *Client) SetSignNo(s string) {
	c.mu.Lock()
	c.signNo = s
	c.mu.Unlock()
}

// SignNo returns the current sign_no ("" before sign-in).
func (c *Client) SignNo() string {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return c.signNo
}

// Close drops the idle keep-alive connections.
func (c *Client) Close() { c.transport.CloseIdleConnections() }

// Envelope builds the request envelope for infno with input already marshalled.
func (c *Client) Envelope(infno string, m Meta, input json.RawMessage) Request {
	opterType := m.OpterType
	if opterType == "" {
		opterType = OpterStaff
	}
	return Request{
		Infno:          infno,
		Msgid:          m.Msgid,
		MdtrtareaAdmvs: c.o.MdtrtareaAdmvs,
		InsuplcAdmdvs:  m.InsuplcAdmdvs,
		RecerSysCode:   c.o.RecerSysCode,
		Infver:         c.o.Infver,
		OpterType:      opterType,
		Opter:          m.Opter,
		OpterName:      m.OpterName,
		InfTime:        c.o.Now().In(cst).Format(InfTimeLayout),
		FixmedinsCode:  c.o.FixmedinsCode,
		FixmedinsName:  c.o.FixmedinsName,
		SignNo:         c.SignNo(),
		Input:          input,
	}
}

// Call sends one transaction and classifies its result. input is marshalled into the
// envelope's input (nil: an empty object); when the answer is infcode 0 and output is
// non-nil, the answer's output is decoded into it (reset to its zero value first) and
// checked by its ValidateFor(infno) or Validate method. A 2207 or 2304 answer whose
// medins_setl_id is set but is not m.Msgid carries a SurpriseMismatch (the
// settlement is booked all the same).
//
// The error, when not nil, wraps exactly one outcome class: ErrBusiness (a
// *BusinessError), ErrOutcomeUnknown (ErrBadResponse is one kind), ErrNotSent or
// ErrUnauthorized; see Classify. The *Response is returned whenever an envelope was
// decoded, also with a business error.
func (c *Client) Call(ctx context.Context, infno string, m Meta, input, output any) (*Response, error) {
	start := time.Now()
	resp, err := c.call(ctx, infno, m, input, output)
	c.logCall(infno, m.Msgid, resp, err, time.Since(start))
	return resp, err
}

// URL returns the address infno is posted to: BaseURL + Paths[infno], else + Path.
func (c *Client) URL(infno string) string {
	path, ok := c.o.Paths[infno]
	if !ok || path == "" {
		path = c.o.Path
	}
	return c.base + "/" + strings.TrimPrefix(path, "/")
}

func (c *Client) call(ctx context.Context, infno string, m Meta, input, output any) (*Response, error) {
	hr, err := c.exchange(ctx, infno, m, input, "application/json")
	if err != nil {
		return nil, err
	}
	return c.answer(infno, m, hr.Body(), output)
}

// answer decodes and classifies an envelope body.
func (c *Client) answer(infno string, m Meta, body []byte, output any) (*Response, error) {
	body, signed, err := c.openAnswer(infno, body)
	if err != nil {
		return nil, fmt.Errorf("call %s %s: %w", infno, m.Msgid, err)
	}
	resp, err := DecodeResponse(body)
	if err != nil {
		return nil, fmt.Errorf("call %s %s: %w", infno, m.Msgid, err)
	}
	if resp.Infcode == InfcodeOK && !signed && c.codec != nil && c.codec.RequiresSignedAnswers() {
		return resp, fmt.Errorf("call %s %s: %w", infno, m.Msgid,
			badf("%s answer carries no signature (cainfo) though [platform.crypto] platform_public_key_file is set", infno))
	}
	if resp.Infcode != InfcodeOK && resp.Infcode != InfcodeSystemError && c.phrases.envelopeRefused(resp.ErrMsg) {
		mode := "plain"
		if c.codec != nil {
			mode = c.codec.Describe()
		}
		return resp, fmt.Errorf("call %s %s: %w", infno, m.Msgid, &EnvelopeRefusal{Infno: infno, Infcode: resp.Infcode, ErrMsg: resp.ErrMsg, Mode: mode})
	}
	if err := c.phrases.InfcodeError(infno, resp); err != nil {
		return resp, fmt.Errorf("call %s %s: %w", infno, m.Msgid, err)
	}
	if output != nil {
		sp, err := decodeOutputSurprises(infno, resp.Output, output)
		resp.Surprises = append(resp.Surprises, sp...)
		if err != nil {
			return resp, fmt.Errorf("call %s %s: %w", infno, m.Msgid, err)
		}
		if id := medinsSetlID(output); books(infno) && id != "" && id != m.Msgid {
			// medins_setl_id should echo the msgid; a province that fills it otherwise
			// still booked this request's settlement.
			resp.Surprises = append(resp.Surprises, Surprise{Kind: SurpriseMismatch, Field: "setlinfo.medins_setl_id",
				Detail: fmt.Sprintf("%s answer has medins_setl_id %s, not this request's msgid %s", infno, id, m.Msgid)})
		}
	}
	return resp, nil
}

// medinsSetlID is the medins_setl_id of a settlement's answer (2207, 2304), or "".
func medinsSetlID(output any) string {
	switch o := output.(type) {
	case *SettleOutput:
		return o.Setlinfo.MedinsSetlID
	case *InpatientSettleOutput:
		return o.Setlinfo.MedinsSetlID
	}
	return ""
}

// exchange sends one envelope and returns the HTTP answer when its status is 200; every
// error is classified as Call documents. accept is the Accept header.
func (c *Client) exchange(ctx context.Context, infno string, m Meta, input any, accept string) (*resty.Response, error) {
	if m.Msgid == "" {
		return nil, fmt.Errorf("call %s: msgid is empty: %w", infno, ErrNotSent)
	}
	in := json.RawMessage(`{}`)
	var err error
	if input != nil {
		in, err = json.Marshal(input)
	}
	if err != nil {
		return nil, fmt.Errorf("call %s %s: marshal input: %v: %w", infno, m.Msgid, err, ErrNotSent)
	}
	body, err := json.Marshal(c.Envelope(infno, m, in))
	if err != nil {
		return nil, fmt.Errorf("call %s %s: marshal envelope: %v: %w", infno, m.Msgid, err, ErrNotSent)
	}
	if body, err = c.sealRequest(infno, m.Msgid, body); err != nil {
		return nil, err
	}

	ctx, cancel := context.WithTimeout(ctx, c.o.Timeout)
	defer cancel()
	var connected atomic.Bool
	ctx = httptrace.WithClientTrace(ctx, &httptrace.ClientTrace{
		GotConn: func(httptrace.GotConnInfo) { connected.Store(true) },
	})
	req := c.rc.R().
		SetContext(ctx).
		SetHeader("Content-Type", "application/json; charset=utf-8").
		SetHeader("Accept", accept).
		SetBody(body)
	if c.o.Paasid != "" {
		SignHeaders(req.Header, c.o.Paasid, c.o.Token, c.o.Now())
	}
	hr, err := req.Post(c.URL(infno))
	if err != nil {
		return nil, transportError(infno, m.Msgid, err, connected.Load())
	}
	switch code := hr.StatusCode(); {
	case code == http.StatusUnauthorized:
		return nil, fmt.Errorf("call %s %s: %s: %w", infno, m.Msgid, bodyHint(hr.Body()), ErrUnauthorized)
	case code != http.StatusOK:
		return nil, fmt.Errorf("call %s %s: HTTP %d %s: %w", infno, m.Msgid, code, bodyHint(hr.Body()), ErrOutcomeUnknown)
	}
	return hr, nil
}

// DecodeResponse parses a response envelope. infcode may be a JSON number or a string
// holding an integer (some provinces quote it); any other field may be null or of
// another JSON type (a number where text is expected is read as its text); the output
// may be a JSON string holding the object. A body that is not an envelope (not JSON, no
// integer infcode) is ErrBadResponse, and so ErrOutcomeUnknown.
func DecodeResponse(body []byte) (*Response, error) {
	var w struct {
		Infcode     json.RawMessage `json:"infcode"`
		InfRefmsgid looseText       `json:"inf_refmsgid"`
		RefmsgTime  looseText       `json:"refmsg_time"`
		RespondTime looseText       `json:"respond_time"`
		ErrMsg      looseText       `json:"err_msg"`
		WarnMsg     looseText       `json:"warn_msg"`
		Output      json.RawMessage `json:"output"`
	}
	if err := json.Unmarshal(body, &w); err != nil {
		return nil, badf("body is not a JSON envelope (%v): %s", err, bodyHint(body))
	}
	if w.Output != nil {
		w.Output = unwrapJSONString(bytes.TrimSpace(w.Output))
	}
	text := strings.Trim(string(w.Infcode), `"`)
	code, err := strconv.Atoi(text)
	if err != nil || text == "" || text[0] == '+' {
		return nil, badf("envelope has no integer infcode: %s", bodyHint(body))
	}
	return &Response{Infcode: code, InfRefmsgid: string(w.InfRefmsgid), RefmsgTime: string(w.RefmsgTime), RespondTime: string(w.RespondTime),
		ErrMsg: string(w.ErrMsg), WarnMsg: string(w.WarnMsg), Output: w.Output}, nil
}

// looseText is envelope text that may arrive as null, a number, a flag or even an
// object (kept as its JSON).
type looseText string

func (t *looseText) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	switch {
	case len(b) == 0 || bytes.Equal(b, []byte("null")):
		*t = ""
	case b[0] == '"':
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		*t = looseText(s)
	default:
		*t = looseText(b)
	}
	return nil
}

// decodeOutput is decodeOutputSurprises without the surprises.
func decodeOutput(infno string, raw json.RawMessage, output any) error {
	_, err := decodeOutputSurprises(infno, raw, output)
	return err
}

// decodeOutputSurprises decodes an answer's output liberally into output, runs its
// Surprises and then its ValidateFor or Validate.
func decodeOutputSurprises(infno string, raw json.RawMessage, output any) ([]Surprise, error) {
	t := bytes.TrimSpace(raw)
	if len(t) == 0 || bytes.Equal(t, []byte("null")) {
		return nil, badf("%s answer has no output", infno)
	}
	// Start from the zero value: a field the answer lacks must not keep an old value.
	if v := reflect.ValueOf(output); v.Kind() == reflect.Pointer && !v.IsNil() {
		v.Elem().SetZero()
	}
	sp, err := decodeLiberal(t, output)
	if err != nil {
		return sp, badf("%s output: %v", infno, err)
	}
	if v, ok := output.(surprising); ok {
		sp = append(sp, v.Surprises(infno)...)
	}
	switch v := output.(type) {
	case interface{ ValidateFor(string) error }:
		return sp, v.ValidateFor(infno)
	case interface{ Validate() error }:
		return sp, v.Validate()
	}
	return sp, nil
}

// transportError classifies an error of the HTTP exchange. Before a connection was
// obtained (dial, DNS, TLS handshake, or a deadline hit while dialling) nothing was
// sent; after, the platform may have the request.
func transportError(infno, msgid string, err error, connected bool) error {
	if !connected {
		return fmt.Errorf("call %s %s: %s: %w", infno, msgid, describeNotSent(err), ErrNotSent)
	}
	what := "connection broken"
	switch {
	case errors.Is(err, context.DeadlineExceeded), isTimeout(err):
		what = "no answer before the deadline"
	case errors.Is(err, context.Canceled):
		what = "cancelled while waiting for the answer"
	case errors.Is(err, resty.ErrResponseBodyTooLarge):
		what = "answer too large"
	}
	return fmt.Errorf("call %s %s: %s: %v: %w", infno, msgid, what, err, ErrOutcomeUnknown)
}

func describeNotSent(err error) string {
	var certErr *tls.CertificateVerificationError
	switch {
	case errors.As(err, &certErr):
		return fmt.Sprintf("platform certificate not trusted (check ca_file): %v", err)
	case errors.Is(err, context.DeadlineExceeded), isTimeout(err):
		return fmt.Sprintf("could not connect before the deadline: %v", err)
	}
	return fmt.Sprintf("could not connect: %v", err)
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// bodyHint quotes the start of a body for an error message.
func bodyHint(b []byte) string {
	const n = 120
	s := strings.TrimSpace(string(b))
	if len(s) > n {
		s = s[:n] + "…"
	}
	return fmt.Sprintf("%q", s)
}

func (c *Client) logCall(infno, msgid string, resp *Response, err error, d time.Duration) {
	outcome := Classify(err)
	attrs := []any{
		slog.String("infno", infno),
		slog.String("msgid", msgid),
		slog.String("outcome", outcome.String()),
		slog.Duration("took", d),
	}
	if resp != nil {
		attrs = append(attrs, slog.Int("infcode", resp.Infcode))
	}
	if err != nil && outcome != OutcomeBusiness {
		// Transport and envelope errors quote no input. A business err_msg may name the
		// patient, so it goes to the cashier, not to the log.
		attrs = append(attrs, slog.String("err", err.Error()))
	}
	level := slog.LevelDebug
	switch outcome {
	case OutcomeBusiness:
		level = slog.LevelInfo
	case OutcomeUnknown, OutcomeNotSent:
		level = slog.LevelWarn
	}
	c.log.Log(context.Background(), level, "platform call", attrs...)
}

// discardRestyLogger keeps resty quiet; the client logs one line per call itself.
type discardRestyLogger struct{}

func (discardRestyLogger) Errorf(string, ...any) {}
func (discardRestyLogger) Warnf(string, ...any)  {}
func (discardRestyLogger) Debugf(string, ...any) {}
