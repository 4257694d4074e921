package workflow

import (
	"context"
	"errors"

	settle "github.com/settle-agent/settle-agent"
)

// shelf is where one workflow's documents are kept in the store: their kind, their
// states and how one is read. Every workflow's lists and counts read through it.
type shelf[D any] struct {
	kind   string
	states []State
	get    func(tx ReadTx, id string) (D, error)
}

var (
	billShelf = shelf[*Record]{kind: KindBill, states: BillStates, get: getBill}
	stayShelf = shelf[*StayRecord]{kind: KindStay, states: StayStates, get: getStay}
)

// unreadable says what a list does with a listed document it cannot read.
type unreadable int

const (
	failUnreadable unreadable = iota // the list fails
	skipMissing                      // one gone since it was listed is left out; other errors fail
	skipUnreadable                   // any is left out (the status page)
)

// one reads one document; an error matching settle.ErrNotFound when there is none.
func (s shelf[D]) one(st Store, id string) (D, error) {
	var doc D
	err := st.View(func(tx ReadTx) error {
		var err error
		doc, err = s.get(tx, id)
		return err
	})
	return doc, err
}

// list reads, in one view, the documents whose ids the list function gives.
func (s shelf[D]) list(st Store, ids func(tx ReadTx) ([]string, error), bad unreadable) ([]D, error) {
	var out []D
	err := st.View(func(tx ReadTx) error {
		var err error
		out, err = s.listIn(tx, ids, bad)
		return err
	})
	return out, err
}

// listIn is list inside a view already open.
func (s shelf[D]) listIn(tx ReadTx, ids func(tx ReadTx) ([]string, error), bad unreadable) ([]D, error) {
	list, err := ids(tx)
	if err != nil {
		return nil, err
	}
	var out []D
	for _, id := range list {
		doc, err := s.get(tx, id)
		switch {
		case err == nil:
			out = append(out, doc)
		case bad == skipUnreadable, bad == skipMissing && errors.Is(err, settle.ErrNotFound):
		default:
			return nil, err
		}
	}
	return out, nil
}

// inState lists the ids of up to limit documents in state (any when empty) after id
// `after`, in id order.
func (s shelf[D]) inState(state State, after string, limit int) func(tx ReadTx) ([]string, error) {
	return func(tx ReadTx) ([]string, error) { return idsInState(tx, s.kind, state, s.states, after, limit) }
}

// byIndex lists the ids of up to limit documents under index entry.
func (s shelf[D]) byIndex(entry string, limit int) func(tx ReadTx) ([]string, error) {
	return func(tx ReadTx) ([]string, error) { return tx.IDs(s.kind, entry, "", limit) }
}

// counts counts the documents per state from the state index.
func (s shelf[D]) counts(st Store) map[State]int {
	out := map[State]int{}
	_ = st.View(func(tx ReadTx) error {
		for _, state := range s.states {
			out[state] = tx.Count(s.kind, IndexState+string(state))
		}
		return nil
	})
	return out
}

// load reads one document of s as a document (the drain path's view).
func load[D document](s shelf[D], st Store, id string) (document, error) {
	doc, err := s.one(st, id)
	if err != nil {
		return nil, err
	}
	return doc, nil
}

// lockAndLoad takes the lock lockKey of document id and loads it from s; the caller
// runs unlock when done. The returned context carries what the store writes made
// under the lock must honour (Locker). A stopping engine takes no new work.
func lockAndLoad[D any](c *core, ctx context.Context, s shelf[D], lockKey, id string) (context.Context, D, func(), error) {
	var none D
	if c.isClosing() {
		return ctx, none, nil, ErrClosed
	}
	ctx, unlock, err := c.locker.Lock(ctx, lockKey)
	if err != nil {
		return ctx, none, nil, err
	}
	doc, err := s.one(c.st, id)
	if err != nil {
		unlock()
		return ctx, none, nil, err
	}
	return ctx, doc, unlock, nil
}
