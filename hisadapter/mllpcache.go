package hisadapter

import (
	"crypto/sha256"
	"strconv"
	"sync"
)

// digest identifies a message's content apart from MSH-7 (some engines restamp a resend).
func (m *Message) digest() [sha256.Size]byte {
	h := sha256.New()
	for _, seg := range m.Segments {
		for i, f := range seg.Fields {
			if seg.Name == "MSH" && i == 7 {
				continue
			}
			for _, r := range f {
				for _, c := range r {
					for _, sc := range c {
						h.Write([]byte(strconv.Itoa(len(sc))))
						h.Write([]byte{':'})
						h.Write([]byte(sc))
					}
					h.Write([]byte{1})
				}
				h.Write([]byte{2})
			}
			h.Write([]byte{3})
		}
		h.Write([]byte{4})
	}
	var out [sha256.Size]byte
	h.Sum(out[:0])
	return out
}

// ackCache remembers the answers to recent control ids, bounded, oldest forgotten
// first. A control id being processed makes a concurrent duplicate wait for its answer.
type ackCache struct {
	mu    sync.Mutex
	cap   int
	m     map[string]*ackEntry
	order []string       // keys of final answers, oldest first
	count map[string]int // how often each key is listed in order
}

type ackEntry struct {
	digest [sha256.Size]byte
	done   chan struct{}
	ack    []byte
	final  bool
}

// begin returns the entry for key; leader is true when the caller must process the
// message (no answer yet for this content) and then call finish.
func (c *ackCache) begin(key string, digest [sha256.Size]byte) (e *ackEntry, leader bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if old, ok := c.m[key]; ok {
		select {
		case <-old.done:
			if old.digest == digest {
				return old, false
			}
			// The same control id with other content: not a resend. Process it
			// (the Sink's bill_no idempotency decides) and remember the new answer.
		default:
			return old, false // in flight: wait for it, then look again
		}
	}
	e = &ackEntry{digest: digest, done: make(chan struct{})}
	c.m[key] = e
	return e, true
}

func (c *ackCache) finish(key string, e *ackEntry, ack []byte, final bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e.ack, e.final = ack, final
	close(e.done)
	if !final {
		if c.m[key] == e {
			delete(c.m, key)
		}
		return
	}
	c.order = append(c.order, key)
	c.count[key]++
	for len(c.order) > c.cap {
		old := c.order[0]
		c.order = c.order[1:]
		if c.count[old]--; c.count[old] > 0 {
			continue
		}
		delete(c.count, old)
		if x, ok := c.m[old]; ok && isDone(x) {
			delete(c.m, old)
		}
	}
}

func isDone(e *ackEntry) bool {
	select {
	case <-e.done:
		return true
	default:
		return false
	}
}
