package platform

import (
	"fmt"
	"strconv"
	"sync"
	"time"

	settle "github.com/settle-agent/settle-agent"
)

// The msgid scheme (docs/platform.md, "msgid"):
//
//	msgid = fixmedins_code (12) + yyyyMMddHHmmss (14, Beijing time) + sequence (4 digits)
//
// Uniqueness across agents of one hospital: each agent may be given a node digit 0-9; its
// sequences are then node*1000 .. node*1000+999, disjoint from every other node's. Without
// a node (Node -1, one agent per hospital) the sequence is 0000-9999.
//
// Uniqueness within one agent: a logical clock (unix seconds) that never goes backwards.
// It follows the wall clock while the wall clock moves forward; when the wall clock stands
// still or goes back, or when a second's sequences are used up, the logical clock moves to
// the next second on its own. So a msgid's timestamp is never before the wall clock and may
// run ahead of it under a burst (at most capacity msgids per second).
//
// Uniqueness across restarts: before the generator issues a msgid in a second later than
// its high-water mark, it calls Reserve(second + 10 s) synchronously and the caller persists
// that mark. A restarted generator is given the persisted mark (Reserved) and starts at the
// second after it, so it never reuses a second the previous run may have used, even if the
// machine's clock was set back in between.

// Msgid field widths.
const (
	MsgidLen         = 30
	fixmedinsCodeLen = 12
	msgidTimeLayout  = "20060102150405"
	reserveAhead     = 10 // seconds
)

// cst is Beijing time, which msgid and inf_time are written in; a fixed zone needs no
// tzdata on the machine.
var cst = time.FixedZone("CST", 8*3600)

// MsgidOptions configures a MsgidGenerator.
type MsgidOptions struct {
	// FixmedinsCode is the hospital's 12-character code, the msgid's prefix.
	FixmedinsCode string
	// Node is this agent's digit 0-9 when several agents of one hospital issue msgids;
	// -1 means none (the whole sequence space 0000-9999). The zero value is node 0.
	Node int
	// Now is the clock (nil: time.Now).
	Now func() time.Time
	// Reserved is the high-water second persisted by an earlier run (zero: none); the
	// generator issues only msgids of later seconds.
	Reserved time.Time
	// Reserve persists a new high-water mark; it is called synchronously, before any
	// msgid of a second beyond the old mark is issued. An error stops issuing (Next
	// returns it). nil: nothing is persisted.
	Reserve func(until time.Time) error
}

// MsgidGenerator issues msgids that are unique forever (see the scheme above). It is
// safe for concurrent use.
type MsgidGenerator struct {
	code    string
	base    int // first sequence number of this node
	size    int // sequences per second
	now     func() time.Time
	reserve func(time.Time) error

	mu       sync.Mutex
	sec      int64  // logical clock: the second being issued
	next     int    // next sequence offset within sec (size: used up)
	prefix   string // code + sec formatted
	reserved int64  // high-water second: msgids up to it may be issued
}

// NewMsgidGenerator checks o and returns a generator.
func NewMsgidGenerator(o MsgidOptions) (*MsgidGenerator, error) {
	if err := checkFixmedinsCode(o.FixmedinsCode); err != nil {
		return nil, err
	}
	g := &MsgidGenerator{code: o.FixmedinsCode, base: 0, size: 10000, now: o.Now, reserve: o.Reserve}
	switch {
	case o.Node == -1:
	case o.Node >= 0 && o.Node <= 9:
		g.base, g.size = o.Node*1000, 1000
	default:
		return nil, fmt.Errorf("msgid node %d: want 0-9, or -1 for none: %w", o.Node, settle.ErrInvalid)
	}
	if g.now == nil {
		g.now = time.Now
	}
	if !o.Reserved.IsZero() {
		g.reserved = o.Reserved.Unix()
		g.sec = g.reserved
		g.next = g.size // used up: the first msgid comes from a later second
	}
	return g, nil
}

func checkFixmedinsCode(s string) error {
	if len(s) != fixmedinsCodeLen {
		return fmt.Errorf("fixmedins_code %q: want %d characters: %w", clip(s), fixmedinsCodeLen, settle.ErrInvalid)
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= '0' && c <= '9' || c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z') {
			return fmt.Errorf("fixmedins_code %q: want letters and digits only: %w", s, settle.ErrInvalid)
		}
	}
	return nil
}

// Next returns a new msgid. It fails only when Reserve fails; no msgid beyond the
// persisted high-water mark is ever issued.
func (g *MsgidGenerator) Next() (string, error) {
	wall := g.now().Unix()
	g.mu.Lock()
	defer g.mu.Unlock()
	sec, next := g.sec, g.next
	switch {
	case wall > sec:
		sec, next = wall, 0
	case next >= g.size:
		sec, next = sec+1, 0
	}
	if sec > g.reserved {
		until := sec + reserveAhead
		if g.reserve != nil {
			if err := g.reserve(time.Unix(until, 0).In(cst)); err != nil {
				return "", fmt.Errorf("reserve msgids up to %s: %w", time.Unix(until, 0).In(cst).Format(InfTimeLayout), err)
			}
		}
		g.reserved = until
	}
	if sec != g.sec || g.prefix == "" {
		g.prefix = g.code + time.Unix(sec, 0).In(cst).Format(msgidTimeLayout)
	}
	g.sec, g.next = sec, next+1
	return g.prefix + seq4(g.base+next), nil
}

// HighWater returns the high-water mark reserved so far (zero before any).
func (g *MsgidGenerator) HighWater() time.Time {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.reserved == 0 {
		return time.Time{}
	}
	return time.Unix(g.reserved, 0).In(cst)
}

func seq4(n int) string {
	const digits = "0123456789"
	return string([]byte{digits[n/1000%10], digits[n/100%10], digits[n/10%10], digits[n%10]})
}

// formatMsgid writes a msgid; ParseMsgid is its inverse.
func formatMsgid(fixmedins string, at time.Time, seq int) string {
	return fixmedins + at.In(cst).Format(msgidTimeLayout) + seq4(seq)
}

// ParseMsgid splits a msgid into the hospital's code, the second it names (Beijing
// time) and its sequence number.
func ParseMsgid(s string) (fixmedins string, at time.Time, seq int, err error) {
	if len(s) != MsgidLen {
		return "", time.Time{}, 0, fmt.Errorf("msgid %q: %d characters, want %d: %w", clip(s), len(s), MsgidLen, settle.ErrInvalid)
	}
	code, stamp, tail := s[:fixmedinsCodeLen], s[fixmedinsCodeLen:fixmedinsCodeLen+14], s[fixmedinsCodeLen+14:]
	if err := checkFixmedinsCode(code); err != nil {
		return "", time.Time{}, 0, fmt.Errorf("msgid %q: %w", s, err)
	}
	for i := 0; i < len(stamp)+len(tail); i++ {
		if c := s[fixmedinsCodeLen+i]; c < '0' || c > '9' {
			return "", time.Time{}, 0, fmt.Errorf("msgid %q: time and sequence must be digits: %w", s, settle.ErrInvalid)
		}
	}
	at, err = time.ParseInLocation(msgidTimeLayout, stamp, cst)
	if err != nil {
		return "", time.Time{}, 0, fmt.Errorf("msgid %q: time: %v: %w", s, err, settle.ErrInvalid)
	}
	seq, _ = strconv.Atoi(tail)
	return code, at, seq, nil
}
