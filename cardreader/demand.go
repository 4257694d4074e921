package cardreader

import "sync"

// Demand tracks which windows wait for a card right now, so that library readers poll
// (and remote reader hosts are told to poll) only while someone waits. The card
// endpoint calls Begin when a window's long poll starts and the returned func when it
// ends. The zero value is not usable; use NewDemand. Safe for concurrent use.
type Demand struct {
	mu      sync.Mutex
	waiting map[string]int
	changed map[string]chan struct{}
}

// NewDemand returns a Demand where no window waits.
func NewDemand() *Demand {
	return &Demand{waiting: map[string]int{}, changed: map[string]chan struct{}{}}
}

// Begin records that window waits for a card until the returned func is called (once;
// later calls do nothing).
func (d *Demand) Begin(window string) (end func()) {
	d.mu.Lock()
	d.waiting[window]++
	if d.waiting[window] == 1 {
		d.signal(window)
	}
	d.mu.Unlock()
	var once sync.Once
	return func() {
		once.Do(func() {
			d.mu.Lock()
			d.waiting[window]--
			if d.waiting[window] <= 0 {
				delete(d.waiting, window)
				d.signal(window)
			}
			d.mu.Unlock()
		})
	}
}

// Waiting reports whether window waits for a card now, and a channel closed at the
// next change of that answer.
func (d *Demand) Waiting(window string) (bool, <-chan struct{}) {
	d.mu.Lock()
	defer d.mu.Unlock()
	ch := d.changed[window]
	if ch == nil {
		ch = make(chan struct{})
		d.changed[window] = ch
	}
	return d.waiting[window] > 0, ch
}

// signal wakes whoever watches window; d.mu is held.
func (d *Demand) signal(window string) {
	if ch := d.changed[window]; ch != nil {
		close(ch)
		delete(d.changed, window)
	}
}
