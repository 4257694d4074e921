// Package sim is the simulated provincial medical-insurance platform: a faithful
// stand-in for the NHSA interface subset in docs/platform.md, for tests, the demo and
// training. It holds persons, the insured places' policies and the treatment area's
// catalogue (a Fixture), books registrations, fee uploads and settlements in a ledger
// tests can read, and injects faults (down, latency, HTTP 500, infcode -1, connection
// reset, lost responses, bookings that land late, a hospital share) switchable at run
// time under /sim/. It is as strict as the real platform (2601 only for the reversible
// transactions, "原交易不存在", feedetl_sn unique for ever, one settlement per visit,
// 2205 by chrg_bchno, 3202 through 9101/9102 files, sessions that expire on demand).
//
// docs/simulator.md describes the fixture format, the split arithmetic, the faults and
// the /sim/ control API.
package sim

import "errors"

// Errors of the simulator.
var (
	// ErrFixture marks a fixture file that cannot be used; the message names the field.
	ErrFixture = errors.New("bad fixture")

	// ErrNotLoopback marks a /sim/ control request from a client that is not on loopback.
	ErrNotLoopback = errors.New("simulator controls answer only to loopback clients")
)
