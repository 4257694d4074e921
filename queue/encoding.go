package queue

import (
	"encoding/binary"
	"errors"
	"fmt"
	"time"
)

// On disk a record is one value in the "records" bucket under its 8-byte big-endian
// id. The value is:
//
//	version byte (1), state byte,
//	varint due, enqueued, since, next, leaseUntil, doneAt (unix nanoseconds, 0 = none),
//	uvarint len + key, uvarint len + reason,
//	uvarint attempt count, then per attempt: varint at, uvarint len + cause,
//	uvarint len + payload.
//
// "due" is the record's entry in the due index (0: none), kept so a state move can
// delete exactly that entry; "since" is where the retry horizon counts from
// (enqueue, or the last Retry).
const recordVersion = 1

// maxAttempts bounds the attempts kept per record (the most recent ones).
const maxAttempts = 50

// stored is a record as kept on disk.
type stored struct {
	id                                      uint64
	state                                   byte
	due, enq, since, next, leaseUntil, done int64
	key, reason                             string
	attempts                                []Attempt
	payload                                 []byte
}

// State bytes, also the first byte of the "states" index keys.
const (
	sReady  byte = 'r'
	sLeased byte = 'l'
	sFailed byte = 'f'
	sDead   byte = 'x'
	sDone   byte = 'd'
)

func stateByte(s State) byte {
	switch s {
	case StateReady:
		return sReady
	case StateLeased:
		return sLeased
	case StateFailed:
		return sFailed
	case StateDead:
		return sDead
	case StateDone:
		return sDone
	}
	return 0
}

func stateOf(b byte) State {
	switch b {
	case sReady:
		return StateReady
	case sLeased:
		return StateLeased
	case sFailed:
		return StateFailed
	case sDead:
		return StateDead
	case sDone:
		return StateDone
	}
	return ""
}

func stateIndex(b byte) int {
	switch b {
	case sReady:
		return 0
	case sLeased:
		return 1
	case sFailed:
		return 2
	case sDead:
		return 3
	case sDone:
		return 4
	}
	return -1
}

func nanos(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	n := t.UnixNano()
	if n < 0 {
		return 0
	}
	return n
}

func fromNanos(n int64) time.Time {
	if n == 0 {
		return time.Time{}
	}
	return time.Unix(0, n).UTC()
}

func (r *stored) encode() []byte {
	n := 2 + 6*binary.MaxVarintLen64 + 3*binary.MaxVarintLen64 + len(r.key) + len(r.reason) + len(r.payload)
	for _, a := range r.attempts {
		n += 2*binary.MaxVarintLen64 + len(a.Cause)
	}
	b := make([]byte, 0, n)
	b = append(b, recordVersion, r.state)
	for _, v := range [...]int64{r.due, r.enq, r.since, r.next, r.leaseUntil, r.done} {
		b = binary.AppendVarint(b, v)
	}
	b = appendString(b, r.key)
	b = appendString(b, r.reason)
	b = binary.AppendUvarint(b, uint64(len(r.attempts)))
	for _, a := range r.attempts {
		b = binary.AppendVarint(b, nanos(a.At))
		b = appendString(b, a.Cause)
	}
	b = binary.AppendUvarint(b, uint64(len(r.payload)))
	return append(b, r.payload...)
}

func appendString(b []byte, s string) []byte {
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

var errShort = errors.New("truncated")

// decodeRecord parses a stored record value. It never panics; anything malformed
// is an error (the caller wraps it in ErrCorrupt). The payload is copied out of b.
func decodeRecord(id uint64, b []byte) (*stored, error) {
	decodeCount.Add(1)
	d := decoder{b: b}
	if v := d.byte(); v != recordVersion {
		if d.err != nil {
			return nil, d.err
		}
		return nil, fmt.Errorf("unknown record version %d", v)
	}
	r := &stored{id: id, state: d.byte()}
	if d.err == nil && stateOf(r.state) == "" {
		return nil, fmt.Errorf("unknown state byte %q", r.state)
	}
	for _, p := range [...]*int64{&r.due, &r.enq, &r.since, &r.next, &r.leaseUntil, &r.done} {
		*p = d.varint()
		if *p < 0 {
			d.fail(fmt.Errorf("negative time %d", *p))
		}
	}
	r.key = string(d.bytes())
	r.reason = string(d.bytes())
	n := d.uvarint()
	if n > maxAttempts || n > uint64(len(d.b)) {
		d.fail(fmt.Errorf("%d attempts", n))
	}
	if d.err == nil && n > 0 {
		r.attempts = make([]Attempt, 0, n)
		for i := uint64(0); i < n && d.err == nil; i++ {
			at := d.varint()
			r.attempts = append(r.attempts, Attempt{At: fromNanos(at), Cause: string(d.bytes())})
		}
	}
	if p := d.bytes(); len(p) > 0 {
		r.payload = append([]byte(nil), p...)
	}
	if d.err == nil && len(d.b) != 0 {
		d.fail(fmt.Errorf("%d trailing bytes", len(d.b)))
	}
	if d.err != nil {
		return nil, d.err
	}
	return r, nil
}

type decoder struct {
	b   []byte
	err error
}

func (d *decoder) fail(err error) {
	if d.err == nil {
		d.err = err
	}
}

func (d *decoder) byte() byte {
	if d.err != nil || len(d.b) == 0 {
		d.fail(errShort)
		return 0
	}
	c := d.b[0]
	d.b = d.b[1:]
	return c
}

func (d *decoder) varint() int64 {
	if d.err != nil {
		return 0
	}
	v, n := binary.Varint(d.b)
	if n <= 0 {
		d.fail(errShort)
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *decoder) uvarint() uint64 {
	if d.err != nil {
		return 0
	}
	v, n := binary.Uvarint(d.b)
	if n <= 0 {
		d.fail(errShort)
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *decoder) bytes() []byte {
	n := d.uvarint()
	if d.err != nil {
		return nil
	}
	if n > uint64(len(d.b)) {
		d.fail(errShort)
		return nil
	}
	p := d.b[:n]
	d.b = d.b[n:]
	return p
}

// record converts the stored form to what callers see.
func (r *stored) record() *Record {
	rec := &Record{
		ID: r.id, Key: r.key, Payload: r.payload, State: stateOf(r.state),
		EnqueuedAt: fromNanos(r.enq), NextAt: fromNanos(r.next),
		LeaseUntil: fromNanos(r.leaseUntil), DoneAt: fromNanos(r.done),
		Reason: r.reason, Since: fromNanos(r.since),
	}
	if len(r.attempts) > 0 {
		rec.Attempts = append([]Attempt(nil), r.attempts...)
	}
	return rec
}
