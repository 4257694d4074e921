// Package catalogue keeps the agent's local copy of the treatment area's catalogue
// (就医地目录, catalogue.md): the file downloads 1301, 1302, 1305 and 1306 (a zip of
// TAB-separated text fetched through 9102, read by column position, upserted by code
// with the version per catalogue, incremental and resumable), and the paged queries
// 1312 (class), 1318 (price caps), 1319 (self-pay ratios), 1316 and 1317 (the
// platform's view of this hospital's mapping), kept by rid and looked up by code,
// region and the fee's date.
//
// It lives in a bbolt file of its own (catalogue.db beside the agent's store), so a
// sync of 100k rows never holds up a settlement. On top of it: the catalogue-aware
// check of the item mapping (CheckMapping) and its upload (3301/3302, Upload).
package catalogue

import "errors"

// Errors of this package. Callers decide with errors.Is.
var (
	// ErrFile marks a downloaded catalogue file that cannot be read (not a zip, no
	// text file in it, a line without a code).
	ErrFile = errors.New("bad catalogue file")

	// ErrNotSynced marks a lookup or check that needs a catalogue never synced.
	ErrNotSynced = errors.New("catalogue not synced")

	// ErrBusy marks a sync asked for while another is running.
	ErrBusy = errors.New("catalogue sync already running")

	// ErrStuck marks a download whose platform answers rows without a newer version:
	// asking again would bring the same chunk forever.
	ErrStuck = errors.New("catalogue download makes no progress")

	// ErrLocked marks a catalogue file held by another process (normally the running
	// agent: go through its admin API, or stop it).
	ErrLocked = errors.New("catalogue file is locked by another process (the agent is running; use its admin API or stop it)")

	// ErrClosed marks a call on a closed Store.
	ErrClosed = errors.New("catalogue store closed")
)
