package workflow

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	settle "github.com/settle-agent/settle-agent"
)

// encode encodes doc for Put (outside the commit).
func (c *core) encode(doc document) ([]byte, error) {
	data, err := json.Marshal(doc)
	if err != nil {
		return nil, fmt.Errorf("encode %s: %w", doc.name(), err)
	}
	kind, id := doc.key()
	return c.st.Encode(kind, id, data)
}

// put writes doc inside tx (which may run twice).
func (c *core) put(tx Tx, doc document) error {
	enc, err := c.encode(doc)
	if err != nil {
		return err
	}
	kind, id := doc.key()
	return tx.Put(kind, id, enc, doc.index())
}

// keep writes doc durably (fsynced) together with whatever more is done in also,
// in one transaction. The caller has set the document's state and days.
func (c *core) keep(ctx context.Context, doc document, also func(tx Tx) error) error {
	enc, err := c.encode(doc)
	if err != nil {
		return err
	}
	kind, id := doc.key()
	idx := doc.index()
	err = c.st.Update(ctx, func(tx Tx) error {
		if err := tx.Put(kind, id, enc, idx); err != nil {
			return err
		}
		if also != nil {
			return also(tx)
		}
		return nil
	})
	if errors.Is(err, ErrJobMoved) {
		// The queue refused the move (the job is not where the move needs it): the
		// store is fine and nothing changed.
		return fmt.Errorf("store %s: %w", doc.name(), err)
	}
	if err != nil {
		return fmt.Errorf("store %s: %w: %w", doc.name(), ErrStore, err)
	}
	return nil
}

// keepAfter stores, with save, what the platform did after the cashier deadline may
// have passed: without the request's deadline, a few tries. When the store still
// cannot keep it the request fails (the window must not be told "settled" while the
// store says otherwise).
func (c *core) keepAfter(ctx context.Context, doc document, save func(ctx context.Context) error) error {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	var err error
	for try := 0; try < 3; try++ {
		if err = save(ctx); err == nil {
			return nil
		}
		k, v := doc.ref()
		c.log.Error("could not store the state of "+doc.name(), k, v, "try", try+1, "err", err)
	}
	return err
}

// lineUp gives doc a queue job inside tx (requeue: its old job oldID when that one
// can carry the work) and writes doc again with the job's id.
func (c *core) lineUp(tx Tx, doc document, oldID uint64) error {
	key, p := doc.job()
	payload, err := json.Marshal(p)
	if err != nil {
		return err
	}
	id, err := c.requeue(tx, oldID, key, payload)
	if err != nil {
		return err
	}
	doc.journal().QueueID = id
	return c.put(tx, doc)
}

// checkWindow refuses a request (what: "bill", "admission") from a window this agent
// does not configure.
func (c *core) checkWindow(what, window string) error {
	if c.o.Windows != nil && !c.o.Windows(window) {
		v := &settle.ValidationError{What: what}
		v.Add("window", "window %q is not configured in this agent", window)
		return v
	}
	return nil
}
