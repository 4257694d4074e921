// Package workflow is the settlement engine: it owns the life of a bill and of an
// inpatient stay from the cashier's first request to the day's report. It
// knows the states and goals, builds every step's message (pure functions), stores
// each write's msgid before it is sent, resolves unknown outcomes with each
// transaction's own tools (platform.md "Outcome unknown"), drains the durable queue,
// applies cancellations, works out refunds and amounts due and the day each
// settlement belongs to (the platform's setl_time in Beijing time).
//
// An Engine holds four parts over one shared core: Link, the link to the platform
// (session, probe, breaker, the platform's clock, msgids, person cache, learned
// policy); Bills and Stays, the two workflows; and Queue, the durable queue's drain,
// its administration, recovery and retention. What every workflow does alike is
// written once: the Journal a document keeps of its messages (journal.go), the path
// that sends a stored write or a read for any document (send.go), keeping and listing
// documents (keep.go, documents.go), and the drain that advances a queued document,
// retries it with backoff and applies the retry horizon and clock trust (drain.go),
// into which a workflow plugs as a flow (bill_flow.go, stay_flow.go).
//
// It returns domain results (Result, StayResult) and the sentinel errors below, never
// HTTP; the adapter in package httpapi maps them to status codes. It sees the
// platform, the store and the item mapping through the small interfaces of ports.go;
// the clock is injected.
package workflow

import (
	"errors"
	"fmt"
)

// Errors of the engine; test with errors.Is (and errors.As for *Refusal and
// *StateError).
var (
	// ErrRefused marks a final refusal that needs a person: the platform's business
	// error, or the agent's own (not qualified). The error is a *Refusal.
	ErrRefused = errors.New("refused")
	// ErrOffline means the platform cannot be reached now; nothing was sent.
	ErrOffline = errors.New("the provincial platform cannot be reached")
	// ErrRefusedOffline means the offline policy is "refuse".
	ErrRefusedOffline = errors.New("insured settlement is refused while the platform is offline (offline policy \"refuse\")")
	// ErrUnmapped means a bill holds item codes the mapping does not know.
	ErrUnmapped = errors.New("unmapped item codes")
	// ErrClosed means the engine is shutting down.
	ErrClosed = errors.New("the agent is shutting down")
	// ErrWrongState means the bill's state does not allow the request (a *StateError).
	ErrWrongState = errors.New("the bill's state does not allow this")
	// ErrNotQualified is the agent's own refusal of a med_type 14 bill whose diagnosis
	// the patient is not filed for (5301); it is final like a business error.
	ErrNotQualified = errors.New("not qualified")
	// ErrJobMoved is a Store's answer to a queue move of a job that is no longer in
	// the state the move needs (its lease ran out and it moved on).
	ErrJobMoved = errors.New("the queue job moved on")
	// ErrStore means the store could not keep a change; the request did not complete.
	ErrStore = errors.New("the store could not keep the change")
	// ErrBookedUnread marks a write the platform answered with success (infcode 0)
	// in an answer the agent could not read in full (a 2207 without setl_id): it is
	// booked, and what it booked is looked up (5203), never reversed.
	ErrBookedUnread = errors.New("booked, but the answer could not be read in full")
)

// Refusal is a final refusal with the code and sentence the window is shown.
type Refusal struct {
	Code    string // platform_refused, not_qualified, ...
	Message string // the platform's err_msg verbatim, or the agent's sentence
}

func (r *Refusal) Error() string { return fmt.Sprintf("%s: %s", r.Code, r.Message) }

// Is makes errors.Is(err, ErrRefused) true.
func (r *Refusal) Is(target error) bool { return target == ErrRefused }

// StateError is a request the bill's state does not allow.
type StateError struct {
	Code    string // bill_cancelled, bill_dead, ...
	Message string
}

func (e *StateError) Error() string { return e.Message }

// Is makes errors.Is(err, ErrWrongState) true.
func (e *StateError) Is(target error) bool { return target == ErrWrongState }
