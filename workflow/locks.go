package workflow

import (
	"context"
	"sync"
)

// keyLocks is the Locker of one process: it serialises the work on one bill (a
// window's request, the sync worker) while letting different bills proceed in
// parallel. Entries live only while used.
type keyLocks struct {
	mu    sync.Mutex
	locks map[string]*keyLock
}

type keyLock struct {
	ch   chan struct{}
	refs int
}

func newKeyLocks() *keyLocks { return &keyLocks{locks: map[string]*keyLock{}} }

// Lock waits for the key's lock or for ctx; the returned func releases it. The
// context comes back as it was: one process needs no fence.
func (l *keyLocks) Lock(ctx context.Context, key string) (context.Context, func(), error) {
	l.mu.Lock()
	bl := l.locks[key]
	if bl == nil {
		bl = &keyLock{ch: make(chan struct{}, 1)}
		l.locks[key] = bl
	}
	bl.refs++
	l.mu.Unlock()
	select {
	case bl.ch <- struct{}{}:
		return ctx, func() { <-bl.ch; l.release(key, bl) }, nil
	case <-ctx.Done():
		l.release(key, bl)
		return ctx, nil, ctx.Err()
	}
}

func (l *keyLocks) release(key string, bl *keyLock) {
	l.mu.Lock()
	bl.refs--
	if bl.refs == 0 {
		delete(l.locks, key)
	}
	l.mu.Unlock()
}
