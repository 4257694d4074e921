package ecvoucher

import (
	"context"
	"fmt"
	"log/slog"
	"sync"

	"github.com/settle-agent/settle-agent"
)

// MaxPending bounds the decodes a Stage runs at once; a code beyond it is refused
// with ErrBusy (a QR code is short-lived: it is never queued).
const MaxPending = 8

// Stage sits between the readers and the window: give its OnRead to the readers and
// it passes social security and ID card reads to next at once, and decodes e-voucher
// codes (a read with mdtrt_cert_type 01 holding the scanned code) into the card 1101
// needs before passing them on; a failed decode reaches next as a read with Err set
// (ErrExpired, ErrOffline, ...). Run owns the decodes.
type Stage struct {
	dec  *Decoder // nil: no decode service configured
	next func(settle.CardRead)
	log  *slog.Logger

	mu      sync.Mutex
	ctx     context.Context
	wg      sync.WaitGroup
	pending int
}

// NewStage returns a stage decoding with dec (nil: every code is refused with
// ErrNotConfigured) and passing reads to next.
func NewStage(dec *Decoder, next func(settle.CardRead), log *slog.Logger) *Stage {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Stage{dec: dec, next: next, log: log}
}

// Run lets the stage decode until ctx ends, then waits for the decodes in flight.
func (s *Stage) Run(ctx context.Context) error {
	s.mu.Lock()
	s.ctx = ctx
	s.mu.Unlock()
	<-ctx.Done()
	s.mu.Lock()
	s.ctx = nil
	s.mu.Unlock()
	s.wg.Wait()
	return nil
}

// OnRead takes one read from a reader; it returns at once.
func (s *Stage) OnRead(r settle.CardRead) {
	if r.Err != nil || r.Card.CertType != settle.CertEVoucher {
		s.next(r)
		return
	}
	code := r.Card.CardNo
	if s.dec == nil {
		r.Card, r.Err = settle.Card{CertType: settle.CertEVoucher}, ErrNotConfigured
		s.next(r)
		return
	}
	s.mu.Lock()
	ctx := s.ctx
	if ctx == nil || s.pending >= MaxPending {
		s.mu.Unlock()
		r.Card, r.Err = settle.Card{CertType: settle.CertEVoucher}, fmt.Errorf("%d decodes waiting: %w", MaxPending, ErrBusy)
		s.next(r)
		return
	}
	s.pending++
	s.wg.Add(1)
	s.mu.Unlock()
	go func() { // owned by Run, which waits for it
		defer s.wg.Done()
		defer func() {
			s.mu.Lock()
			s.pending--
			s.mu.Unlock()
		}()
		r.Card, r.Err = s.dec.Decode(ctx, code)
		if r.Err != nil {
			r.Card = settle.Card{CertType: settle.CertEVoucher}
		}
		s.next(r)
	}()
}

// Decode decodes one code now (for a code the cashier software posts itself).
func (s *Stage) Decode(ctx context.Context, code string) (settle.Card, error) {
	if s.dec == nil {
		return settle.Card{CertType: settle.CertEVoucher}, ErrNotConfigured
	}
	return s.dec.Decode(ctx, code)
}
