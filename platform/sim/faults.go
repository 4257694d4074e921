package sim

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"time"
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
	// ReplayMsgid: a repeated msgid is answered with the stored response of the first
	// (as some provinces do). Off: a repeated msgid is processed as a new message.
	ReplayMsgid bool `json:"replay_msgid"`
}

// Validate checks rates are within 0..1 and the latency is not negative.
func (f Faults) Validate() error {
	for _, r := range []struct {
		name string
		v    float64
	}{{"http_500_rate", f.HTTP500Rate}, {"infcode_minus1_rate", f.InfcodeMinus1Rate}, {"reset_rate", f.ResetRate}, {"lose_response_rate", f.LoseResponseRate}} {
		if !(r.v >= 0 && r.v <= 1) {
			return fmt.Errorf("%s must be between 0 and 1, got %v", r.name, r.v)
		}
	}
	if f.LatencyMS < 0 || f.LatencyMS > 600_000 {
		return fmt.Errorf("latency_ms must be between 0 and 600000, got %d", f.LatencyMS)
	}
	return nil
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
	f.LatencyMS = min(max(f.LatencyMS, 0), 600_000)
	p.mu.Lock()
	p.faults = f
	p.mu.Unlock()
	p.log.Info("sim faults set", "down", f.Down, "latency_ms", f.LatencyMS, "http_500_rate", f.HTTP500Rate,
		"infcode_minus1_rate", f.InfcodeMinus1Rate, "reset_rate", f.ResetRate,
		"lose_response_rate", f.LoseResponseRate, "replay_msgid", f.ReplayMsgid)
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
)

// drawFault decides one call's fate; the caller holds p.mu.
func (p *Platform) drawFault() faultAction {
	f := &p.faults
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
