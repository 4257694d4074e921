package ecvoucher

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"time"

	"github.com/settle-agent/settle-agent"
	"github.com/settle-agent/settle-agent/cardreader/libhost"
)

// Transport carries one ec.query input to the service and brings its answer back. An
// error from it means the service could not be asked (ErrOffline).
type Transport interface {
	Exchange(ctx context.Context, in []byte) ([]byte, error)
}

// maxAnswer bounds an answer read over HTTP.
const maxAnswer = 1 << 20

// HTTP is the decode service over HTTP(S): a POST of the JSON input to URL.
type HTTP struct {
	URL    string
	Client *http.Client // nil: http.DefaultClient (the Decoder's timeout bounds each call)
}

// Exchange posts in to h.URL and returns the body of a 2xx answer.
func (h HTTP) Exchange(ctx context.Context, in []byte) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, h.URL, bytes.NewReader(in))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/json; charset=utf-8")
	c := h.Client
	if c == nil {
		c = http.DefaultClient
	}
	resp, err := c.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, maxAnswer))
	if err != nil {
		return nil, err
	}
	if resp.StatusCode/100 != 2 {
		return nil, fmt.Errorf("decode service answered HTTP %d", resp.StatusCode)
	}
	return b, nil
}

// Library is the decode service through the NationECCode library's NationEcTrans,
// loaded in a reader-host child (a libhost.Host with interface "nationec").
type Library struct {
	Host *libhost.Host
	URL  string // NationEcTrans's url argument
}

// Exchange calls NationEcTrans(URL, in, out) in the child; a non-zero result means the
// library could not reach the service.
func (l Library) Exchange(ctx context.Context, in []byte) ([]byte, error) {
	resp, err := l.Host.Call(ctx, libhost.Request{Op: libhost.OpECTrans, URL: l.URL, In: in})
	if err != nil {
		return nil, err
	}
	if resp.RC != 0 {
		return nil, fmt.Errorf("NationEcTrans returned %d: %s", resp.RC, libhost.Text(resp.Out))
	}
	return resp.Out, nil
}

// DefaultTimeout is a decode's deadline when Decoder.Timeout is 0.
const DefaultTimeout = 5 * time.Second

// Decoder turns scanned codes into e-voucher cards.
type Decoder struct {
	Query     Query
	Transport Transport
	Timeout   time.Duration // 0: DefaultTimeout
	Logger    *slog.Logger  // nil: discard
}

// Decode asks the service about code and returns the card for 1101. The error is
// ErrExpired, ErrRefused, ErrOffline or ErrBadAnswer.
func (d *Decoder) Decode(ctx context.Context, code string) (settle.Card, error) {
	timeout := d.Timeout
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	log := d.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	in, err := Request(d.Query, code)
	if err != nil {
		return settle.Card{}, fmt.Errorf("ec.query input: %w", err)
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	start := time.Now()
	out, err := d.Transport.Exchange(ctx, in)
	if err != nil {
		if errors.Is(ctx.Err(), context.DeadlineExceeded) {
			err = fmt.Errorf("no answer within %s: %w", timeout, err)
		}
		log.Warn("e-voucher decode service unreachable", "err", err)
		return settle.Card{}, fmt.Errorf("ec.query: %v: %w", err, ErrOffline)
	}
	v, err := ParseAnswer(out)
	if err != nil {
		log.Warn("e-voucher code refused", "err", err, "took", time.Since(start))
		return settle.Card{}, fmt.Errorf("ec.query: %w", err)
	}
	c := v.Card()
	log.Info("e-voucher decoded", "certno", settle.MaskID(c.SSN), "name", settle.MaskName(c.Name), "took", time.Since(start))
	return c, nil
}
