package queue

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"time"
)

// State is where a record is in its life.
type State string

// The states a record can be in.
const (
	// StateReady: waiting to be leased once its NextAt has come.
	StateReady State = "ready"
	// StateLeased: handed out to a consumer until LeaseUntil; when LeaseUntil has
	// passed without Ack/Nack the record is leasable again (its state stays "leased").
	StateLeased State = "leased"
	// StateFailed: a business error; a person must look at it (Retry or Dead).
	StateFailed State = "failed"
	// StateDead: not done within the retry horizon, or moved here by a person.
	StateDead State = "dead"
	// StateDone: acknowledged; removed after the retention time.
	StateDone State = "done"
)

// States lists every state in the order Stats and the CLI show them.
var States = []State{StateReady, StateLeased, StateFailed, StateDead, StateDone}

// Valid reports whether s is one of the five states.
func (s State) Valid() bool { return stateByte(s) != 0 }

// Record is one queued item as callers see it. Records of one Key are handed out
// one at a time, in ID order.
type Record struct {
	ID         uint64    // assigned by Enqueue, increasing in enqueue order
	Key        string    // ordering key (e.g. a patient visit)
	Payload    []byte    // opaque to the queue
	State      State     // see the State constants
	EnqueuedAt time.Time // when Enqueue committed
	NextAt     time.Time // not leased before this (backoff after Nack)
	LeaseUntil time.Time // while leased: the lease runs out at this time
	DoneAt     time.Time // when Ack moved it to done
	Attempts   []Attempt // failed tries (Nack, Fail, expired leases); the most recent maxAttempts are kept
	Reason     string    // why it is failed/dead, or the last Nack cause
	Since      time.Time // where the retry horizon counts from (enqueue, or the last Retry); not in the JSON form
}

// Attempt is one try that did not end in Ack.
type Attempt struct {
	At    time.Time `json:"at"`
	Cause string    `json:"cause"`
}

// recordJSON is Record's wire form: snake_case, zero times left out, the payload
// embedded as JSON when it is valid JSON and as base64 otherwise.
type recordJSON struct {
	ID              uint64          `json:"id"`
	Key             string          `json:"key"`
	State           State           `json:"state"`
	EnqueuedAt      *time.Time      `json:"enqueued_at,omitempty"`
	NextAt          *time.Time      `json:"next_at,omitempty"`
	LeaseUntil      *time.Time      `json:"lease_until,omitempty"`
	DoneAt          *time.Time      `json:"done_at,omitempty"`
	Attempts        []Attempt       `json:"attempts,omitempty"`
	Reason          string          `json:"reason,omitempty"`
	PayloadEncoding string          `json:"payload_encoding,omitempty"`
	Payload         json.RawMessage `json:"payload,omitempty"`
}

func timePtr(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	return &t
}

func timeVal(t *time.Time) time.Time {
	if t == nil {
		return time.Time{}
	}
	return *t
}

// MarshalJSON writes the record with snake_case fields; the payload is embedded as
// JSON when valid, else as a base64 string with "payload_encoding":"base64".
func (r *Record) MarshalJSON() ([]byte, error) {
	j := recordJSON{
		ID: r.ID, Key: r.Key, State: r.State,
		EnqueuedAt: timePtr(r.EnqueuedAt), NextAt: timePtr(r.NextAt),
		LeaseUntil: timePtr(r.LeaseUntil), DoneAt: timePtr(r.DoneAt),
		Attempts: r.Attempts, Reason: r.Reason,
	}
	switch {
	case len(r.Payload) == 0:
	case json.Valid(r.Payload):
		j.Payload = r.Payload
	default:
		j.PayloadEncoding = "base64"
		b, _ := json.Marshal(base64.StdEncoding.EncodeToString(r.Payload))
		j.Payload = b
	}
	return json.Marshal(j)
}

// UnmarshalJSON reads what MarshalJSON wrote.
func (r *Record) UnmarshalJSON(b []byte) error {
	var j recordJSON
	if err := json.Unmarshal(b, &j); err != nil {
		return err
	}
	*r = Record{
		ID: j.ID, Key: j.Key, State: j.State,
		EnqueuedAt: timeVal(j.EnqueuedAt), NextAt: timeVal(j.NextAt),
		LeaseUntil: timeVal(j.LeaseUntil), DoneAt: timeVal(j.DoneAt),
		Attempts: j.Attempts, Reason: j.Reason,
	}
	switch j.PayloadEncoding {
	case "":
		if len(j.Payload) > 0 {
			r.Payload = append([]byte(nil), j.Payload...)
		}
	case "base64":
		var s string
		if err := json.Unmarshal(j.Payload, &s); err != nil {
			return fmt.Errorf("record %d payload: %w", j.ID, err)
		}
		p, err := base64.StdEncoding.DecodeString(s)
		if err != nil {
			return fmt.Errorf("record %d payload: %w", j.ID, err)
		}
		r.Payload = p
	default:
		return fmt.Errorf("record %d: unknown payload_encoding %q", j.ID, j.PayloadEncoding)
	}
	return nil
}
