// Package store is the agent's durable storage: the documents of the settlement
// engine (bills, remembered answers, cached persons, learned policy), their index
// entries, a few named values (the msgid reservation, the amount carried offline) and
// the durable queue, all in one bbolt file so that one step of a workflow is one
// transaction and one fsync. It is the only package besides queue that touches bbolt.
//
// Documents are opaque bytes to the store. Each is compressed (S2) and, when the store
// has a key, sealed with AES-256-GCM bound to its kind and id; older keys still open
// what they sealed. A document's index entries ("state/queued", "day/2026-11-23") are
// kept in line with its last Put: an entry it no longer has is removed in the same
// transaction. Store implements workflow.Store.
package store

import (
	"errors"
	"fmt"

	settle "github.com/settle-agent/settle-agent"
)

// Errors of the store; test with errors.Is.
var (
	// ErrNotFound: no document of that kind and id. It matches settle.ErrNotFound.
	ErrNotFound = fmt.Errorf("document %w", settle.ErrNotFound)

	// ErrSealKey: the store holds a document sealed with a key the configuration lacks.
	ErrSealKey = errors.New("record sealed with a key that is not configured: add the old key to [store] old_keys")

	// ErrDamaged: a stored document is neither JSON nor a compressed record.
	ErrDamaged = errors.New("stored record is damaged")

	// ErrNoStore: the folder holds no store (a move into a group needs one).
	ErrNoStore = errors.New("no store in that folder: name the data folder of the machine being moved (its [store] dir)")

	// ErrMoved: the store was moved into a group of front-end machines (cluster
	// import); its bills and queue belong to the group now, and an agent settling
	// from it too would settle its queued bills twice.
	ErrMoved = errors.New("store moved into a group of front-end machines")

	// ErrNoDir: the data folder cannot be created.
	ErrNoDir = errors.New("data folder not usable")
)
