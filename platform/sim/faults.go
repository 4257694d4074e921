package sim

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"time"

	settle "github.com/settle-agent/settle-agent"
)

// Faults is the fault injection in force, set with SetFaults or PUT /sim/faults. The
// zero value injects nothing. Rates are probabilities 0..1 drawn per call (from
// Options.Seed, so a run can be repeated).
type Faults struct {
	// Down: every call's connection is closed with no answer; nothing is booked.
	Down bool `json:"down"`
	// LatencyMS delays every answer (the wait ends early if the client goes away).
	LatencyMS int `json:"latency_ms"`
	// HTTP500Rate answers HTTP 500 before processing; nothing is booked.
	HTTP500Rate float64 `json:"http_500_rate"`
	// InfcodeMinus1Rate answers infcode -1 "系统异常"; in half of those calls the
	// transaction was processed and booked anyway (the outcome is truly unknown).
	InfcodeMinus1Rate float64 `json:"infcode_minus1_rate"`
	// ResetRate resets the connection (TCP RST) before processing; nothing is booked.
	ResetRate float64 `json:"reset_rate"`
	// LoseResponseRate processes and books the call, then closes the connection
	// without answering.
	LoseResponseRate float64 `json:"lose_response_rate"`
	// LateRate: "booked late". The call is not processed now: its connection is closed
	// without an answer (the client gives up), and the booking lands later, after
	// LateAfterCalls further calls have been answered (or when ReleaseLate is called,
	// with HoldLate). Only writes are delayed; a late 2601 of a late write may come after
	// the client's reversal was answered "原交易不存在".
	LateRate float64 `json:"late_rate"`
	// LateAfterCalls is how many later calls are answered before a late booking lands
	// (0 means 1).
	LateAfterCalls int `json:"late_after_calls"`
	// HospPartAmt is the hospital's share (hosp_part_amt, e.g. "1.50") every 2206/2207
	// answer carries: that much of the fund's payment is borne by the hospital instead,
	// so medfee_sumamt = fund_pay_sumamt + psn_part_amt + hosp_part_amt (capped at
	// the fund's payment). Empty or "0": none, as usual.
	HospPartAmt string `json:"hosp_part_amt,omitempty"`
	// ReplayMsgid: a repeated msgid is answered with the stored response of the first
	// (as some provinces do). Off: a repeated msgid is refused as a duplicate message.
	ReplayMsgid bool `json:"replay_msgid"`
}

// Validate checks rates are within 0..1 and the latency is not negative.
func (f Faults) Validate() error {
	for _, r := range []struct {
		name string
		v    float64
	}{{"http_500_rate", f.HTTP500Rate}, {"infcode_minus1_rate", f.InfcodeMinus1Rate}, {"reset_rate", f.ResetRate}, {"lose_response_rate", f.LoseResponseRate}, {"late_rate", f.LateRate}} {
		if !(r.v >= 0 && r.v <= 1) {
			return fmt.Errorf("%s must be between 0 and 1, got %v", r.name, r.v)
		}
	}
	if f.LatencyMS < 0 || f.LatencyMS > 600_000 {
		return fmt.Errorf("latency_ms must be between 0 and 600000, got %d", f.LatencyMS)
	}
	if f.LateAfterCalls < 0 || f.LateAfterCalls > 1000 {
		return fmt.Errorf("late_after_calls must be between 0 and 1000, got %d", f.LateAfterCalls)
	}
	if _, err := f.hospPart(); err != nil {
		return err
	}
	return nil
}

// hospPart is HospPartAmt as money.
func (f Faults) hospPart() (settle.Money, error) {
	if f.HospPartAmt == "" {
		return 0, nil
	}
	m, err := settle.ParseMoney(f.HospPartAmt)
	if err != nil || m < 0 {
		return 0, fmt.Errorf("hosp_part_amt must be a non-negative amount such as \"1.50\", got %q", f.HospPartAmt)
	}
	return m, nil
}

// SetFaults replaces the fault injection in force. Invalid values are clamped into range.
func (p *Platform) SetFaults(f Faults) {
	clamp := func(v float64) float64 {
		if !(v >= 0) {
			return 0
		}
		return min(v, 1)
	}
	f.HTTP500Rate, f.InfcodeMinus1Rate = clamp(f.HTTP500Rate), clamp(f.InfcodeMinus1Rate)
	f.ResetRate, f.LoseResponseRate = clamp(f.ResetRate), clamp(f.LoseResponseRate)
	f.LateRate = clamp(f.LateRate)
	f.LateAfterCalls = min(max(f.LateAfterCalls, 0), 1000)
	if _, err := f.hospPart(); err != nil {
		f.HospPartAmt = ""
	}
	f.LatencyMS = min(max(f.LatencyMS, 0), 600_000)
	p.mu.Lock()
	p.faults = f
	p.mu.Unlock()
	p.log.Info("sim faults set", "down", f.Down, "latency_ms", f.LatencyMS, "http_500_rate", f.HTTP500Rate,
		"infcode_minus1_rate", f.InfcodeMinus1Rate, "reset_rate", f.ResetRate,
		"lose_response_rate", f.LoseResponseRate, "late_rate", f.LateRate, "late_after_calls", f.LateAfterCalls,
		"hosp_part_amt", f.HospPartAmt, "replay_msgid", f.ReplayMsgid)
}

// Faults returns the fault injection in force.
func (p *Platform) Faults() Faults {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.faults
}

// faultAction is what the draw decided for one call.
type faultAction int

const (
	faultNone faultAction = iota
	faultReset
	faultHTTP500
	faultMinus1Booked
	faultMinus1NotBooked
	faultLoseResponse
	faultLate
)

// drawFault decides one call's fate; the caller holds p.mu. Every rate that is set
// draws once per call, in a fixed order, so a seeded run replays exactly.
func (p *Platform) drawFault(infno string) faultAction {
	f := &p.faults
	if f.LateRate > 0 && p.rng.Float64() < f.LateRate && delayable(infno) {
		return faultLate
	}
	switch {
	case f.ResetRate > 0 && p.rng.Float64() < f.ResetRate:
		return faultReset
	case f.HTTP500Rate > 0 && p.rng.Float64() < f.HTTP500Rate:
		return faultHTTP500
	case f.InfcodeMinus1Rate > 0 && p.rng.Float64() < f.InfcodeMinus1Rate:
		if p.rng.IntN(2) == 0 {
			return faultMinus1Booked
		}
		return faultMinus1NotBooked
	case f.LoseResponseRate > 0 && p.rng.Float64() < f.LoseResponseRate:
		return faultLoseResponse
	}
	return faultNone
}

// sleep waits d or until ctx ends.
func sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// dropConnection takes the connection from the HTTP server and closes it without a
// response; with reset it sends a TCP RST instead of a FIN.
func dropConnection(w http.ResponseWriter, reset bool) {
	conn, _, err := http.NewResponseController(w).Hijack()
	if err != nil {
		// Not hijackable (HTTP/2): the closest is aborting the handler.
		panic(http.ErrAbortHandler)
	}
	if tc, ok := conn.(*net.TCPConn); ok && reset {
		_ = tc.SetLinger(0)
	}
	_ = conn.Close()
}
