// Package etcdstore is workflow.Store on etcd, for a group of front-end machines
// (docs/cluster.md): the documents, their index entries, the named values and the
// durable queue of every node live in one etcd cluster, every change of one step in
// one etcd transaction.
//
// Update is optimistic, as etcd's own concurrency.STM: the function reads through a
// transaction-local view at one revision, recording the revision of every key it read
// and every range it listed, and its writes commit in one Txn that compares each of
// them (ModRevision unchanged; no key of a listed range changed since) — when another
// writer came first, the function runs again on a fresh view. Updates made under a
// workflow.Locker's context (NewLocker) also compare the lock key's creation revision
// (WithFence), so a node that lost its lock cannot write.
//
// Keys under the prefix (default "/settle-agent/"):
//
//	d/<kind>/<id>            a document: uvarint length + its index entries ("\x00"-joined), then its stored form
//	i/<kind>/<entry>\x00<id> an index entry (empty value)
//	m/<key>                  a named value
//	q/seq                    the last queue job id
//	q/r/<id>                 a queue job (JSON), id as 16 hex digits
//	q/k/<key>\x00<id>        a job not done yet, under its key (the head of a key is its first)
//	q/t/<time><id>           a job that is the head of its key, at the time it is due
//	q/f/<time><id>           a done job, at the time it was done (retention)
//	q/s/<state><id>          every job, under its state (counts and listings by state, no scan)
//	import                   the import of a single machine's store, if any (import.go)
//
// Documents are sealed (store.Codec) before they leave the process.
package etcdstore

import "errors"

// Errors of the etcd store; test with errors.Is.
var (
	// ErrFenced: a write was made under a lock (or leadership) this node no longer
	// holds: another node may be working on the same bill. It is not retried; the
	// node gives the work up and the holder of the lock carries on.
	ErrFenced = errors.New("etcd store: the lock this write was made under is lost (another node holds it now)")

	// ErrTooLarge: one transaction would pass etcd's request limit (1.5 MiB by default).
	ErrTooLarge = errors.New("etcd store: transaction too large for one etcd request")

	// ErrNotEmpty: an import into the group was refused: the group holds bills, stays
	// or queue jobs of its own, or another store's import. A store moves only into a
	// new, empty group (docs/cluster.md, "Growing from one machine").
	ErrNotEmpty = errors.New("etcd store: the group is not empty: a store is imported only into a new group")

	// ErrClosed: the store was closed.
	ErrClosed = errors.New("etcd store closed")
)
