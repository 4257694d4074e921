package hisadapter

import (
	"net"
	"net/netip"
	"sync"
	"time"
)

// mllpConn is one open MLLP connection as the admission control sees it.
type mllpConn struct {
	c        net.Conn
	remote   string
	host     string    // the source address without the port
	since    time.Time // connected or last answered a message (wall clock)
	busy     bool      // a message of it is being processed
	answered bool      // it has delivered at least one whole message
}

// admission decides which connections the listener keeps: at most MaxConns in all
// and MaxConnsPerHost from one source address. A connection beyond a cap takes the
// place of a connection (of that host, or of any host when the total is full) that is
// not processing a message: first one that never delivered a whole message, then the
// one that has gone longest without one; when every one is busy the new connection is
// refused. Connections that never finish a frame
// are therefore the first to go, and a HIS that reconnects is never locked out by
// its own half-dead old connections or by another host's idle ones.
type admission struct {
	mu       sync.Mutex
	max      int
	perHost  int
	allow    []netip.Prefix
	conns    map[net.Conn]*mllpConn
	accepted bool // false once the listener has shut down
}

// admitResult says what became of a new connection.
type admitResult int

const (
	admitted admitResult = iota
	refusedFull
	refusedAddress
)

func hostOf(addr net.Addr) string {
	if ta, ok := addr.(*net.TCPAddr); ok {
		if ip, ok := netip.AddrFromSlice(ta.IP); ok {
			return ip.Unmap().String()
		}
	}
	host, _, err := net.SplitHostPort(addr.String())
	if err != nil {
		return addr.String()
	}
	return host
}

func (a *admission) allowed(host string) bool {
	if len(a.allow) == 0 {
		return true
	}
	ip, err := netip.ParseAddr(host)
	if err != nil {
		return false
	}
	for _, p := range a.allow {
		if p.Contains(ip.Unmap()) {
			return true
		}
	}
	return false
}

// admit registers c, or says why not. evicted is the connection closed to make room
// (nil when none was needed).
func (a *admission) admit(c net.Conn, now time.Time) (mc *mllpConn, evicted *mllpConn, res admitResult) {
	host := hostOf(c.RemoteAddr())
	if !a.allowed(host) {
		return nil, nil, refusedAddress
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	fromHost := 0
	for _, o := range a.conns {
		if o.host == host {
			fromHost++
		}
	}
	switch {
	case fromHost >= a.perHost:
		evicted = a.oldestIdle(host)
	case len(a.conns) >= a.max:
		evicted = a.oldestIdle("")
	}
	if (fromHost >= a.perHost || len(a.conns) >= a.max) && evicted == nil {
		return nil, nil, refusedFull
	}
	if evicted != nil {
		delete(a.conns, evicted.c)
		evicted.c.Close()
	}
	mc = &mllpConn{c: c, remote: c.RemoteAddr().String(), host: host, since: now}
	a.conns[c] = mc
	return mc, evicted, admitted
}

// oldestIdle is the connection (of host, or of any host when host is "") to give up
// for a new one: not processing a message, preferably one that never delivered a
// whole message (a trickler, a dead half-open socket), and of those the one that has
// gone longest without a message; nil when all are busy.
func (a *admission) oldestIdle(host string) *mllpConn {
	var best *mllpConn
	for _, o := range a.conns {
		if o.busy || host != "" && o.host != host {
			continue
		}
		if best == nil || best.answered && !o.answered || best.answered == o.answered && o.since.Before(best.since) {
			best = o
		}
	}
	return best
}

// setBusy marks c as processing a message (true) or as having answered one (false,
// which also restarts its idle clock).
func (a *admission) setBusy(mc *mllpConn, busy bool, now time.Time) {
	a.mu.Lock()
	defer a.mu.Unlock()
	mc.busy = busy
	if !busy {
		mc.since, mc.answered = now, true
	}
}

func (a *admission) remove(mc *mllpConn) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.conns[mc.c] == mc {
		delete(a.conns, mc.c)
	}
}

// closeAll closes every connection (shutdown).
func (a *admission) closeAll() {
	a.mu.Lock()
	defer a.mu.Unlock()
	for c := range a.conns {
		c.Close()
	}
}

func (a *admission) count() int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return len(a.conns)
}
