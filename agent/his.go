package agent

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"

	settle "github.com/settle-agent/settle-agent"
	"github.com/settle-agent/settle-agent/hisadapter"
	"github.com/settle-agent/settle-agent/workflow"
)

// hisSink is the agent as the HIS inputs see it: every way in ends in submitBill.
type hisSink struct{ a *Agent }

// SubmitBill stores the bill and starts its workflow; nil means it is durably stored
// (whatever the platform then said of it, which GET /v1/bills shows).
func (s hisSink) SubmitBill(ctx context.Context, b settle.Bill, source string) error {
	_, err := s.a.engine.Bills.SubmitBill(ctx, b, b.BillNo, source)
	// A refusal is an answer (stored with the bill): the HIS input acknowledges it.
	if errors.Is(err, workflow.ErrRefused) || errors.Is(err, workflow.ErrRefusedOffline) {
		return nil
	}
	return err
}

// startHIS starts the HL7 v2/MLLP listener when configured (the drop folder is
// runDropFolder).
// The listener is opened here so that a taken port fails the start loudly.
func (a *Agent) startHIS(ctx context.Context) error {
	sink := hisSink{a}
	// One intake for every HIS input: the drop folder cannot go around message_rate.
	intake := hisadapter.NewIntake(a.cfg.HL7.MessageRate, 0)
	a.mu.Lock()
	a.intake = intake
	a.mu.Unlock()
	if addr := a.cfg.HL7.Listen; addr != "" {
		ln, err := net.Listen("tcp", addr)
		if err != nil {
			return fmt.Errorf("hl7 listener on %s: %w (change [hl7] listen)", addr, err)
		}
		h := a.cfg.HL7
		allow, err := h.AllowPrefixes()
		if err != nil {
			ln.Close()
			return fmt.Errorf("hl7.allow_from: %w", err)
		}
		var tc *tls.Config
		if h.TLSCert != "" {
			cert, err := tls.LoadX509KeyPair(h.TLSCert, h.TLSKey)
			if err != nil {
				ln.Close()
				return fmt.Errorf("hl7.tls_cert/tls_key: %w", err)
			}
			tc = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
		}
		srv := &hisadapter.MLLPServer{
			Sink:            sink,
			Defaults:        hisadapter.DFTDefaults{MedType: h.DefaultMedType, Window: h.DefaultWindow, InpatientWindow: a.inpatientWindow()},
			Logger:          a.log.With("input", "hl7"),
			IdleTimeout:     h.IdleTimeout.Duration,
			FrameTimeout:    h.FrameTimeout.Duration,
			MaxMessageBytes: int(h.MaxMessageBytes),
			MaxConns:        h.MaxConns,
			MaxConnsPerHost: h.MaxConnsPerHost,
			AllowFrom:       allow,
			TLSConfig:       tc,
			Windows:         h.Windows,
			MessageRate:     h.MessageRate,
			Intake:          intake,
			Now:             a.now,
		}
		a.mu.Lock()
		a.hl7Addr = ln.Addr().String()
		a.mu.Unlock()
		a.goRun(func() {
			if err := srv.Serve(ctx, ln); err != nil && ctx.Err() == nil {
				a.log.Error("hl7 listener stopped", "err", err)
			}
		})
	}
	return nil
}

// runDropFolder reads the drop folder until ctx ends (on one machine always, in a
// group on the leader only, under its fence); without [dropfolder] dir it returns.
func (a *Agent) runDropFolder(ctx context.Context) {
	dir := a.cfg.DropFolder.Dir
	if dir == "" {
		return
	}
	df := &hisadapter.DropFolder{
		Dir:           dir,
		Encoding:      a.cfg.DropFolder.Encoding,
		QuietTime:     a.cfg.DropFolder.QuietTime.Duration,
		PollInterval:  a.cfg.DropFolder.PollInterval.Duration,
		Sink:          hisSink{a},
		Logger:        a.log.With("input", "dropfolder"),
		Now:           a.now,
		DefaultWindow: a.cfg.DropFolder.DefaultWindow,
		Windows:       a.cfg.DropFolder.Windows,
		Intake:        a.intake,
		MaxFileBills:  a.cfg.DropFolder.MaxFileBills,
	}
	if err := df.Run(ctx); err != nil && ctx.Err() == nil {
		a.log.Error("drop folder stopped", "err", err)
	}
}

// HL7Addr is the address of the MLLP listener once Run started it ("" when off).
func (a *Agent) HL7Addr() string {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.hl7Addr
}
