package httpapi

import (
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// rateLimiter limits requests per client address (token bucket per IP). Idle clients
// are forgotten so the map stays small.
type rateLimiter struct {
	mu      sync.Mutex
	now     func() time.Time
	limit   rate.Limit
	burst   int
	clients map[string]*clientLimit
	swept   time.Time
}

type clientLimit struct {
	l    *rate.Limiter
	seen time.Time
}

func newRateLimiter(perSecond float64, now func() time.Time) *rateLimiter {
	rl := &rateLimiter{now: now, clients: map[string]*clientLimit{}}
	if perSecond <= 0 {
		rl.limit = rate.Inf
	} else {
		rl.limit = rate.Limit(perSecond)
		rl.burst = max(int(perSecond*2), 10)
	}
	return rl
}

func (rl *rateLimiter) allow(ip string) bool {
	if rl.limit == rate.Inf {
		return true
	}
	now := rl.now()
	rl.mu.Lock()
	defer rl.mu.Unlock()
	c := rl.clients[ip]
	if c == nil {
		c = &clientLimit{l: rate.NewLimiter(rl.limit, rl.burst)}
		rl.clients[ip] = c
	}
	c.seen = now
	if now.Sub(rl.swept) > time.Minute {
		for k, v := range rl.clients {
			if now.Sub(v.seen) > 5*time.Minute {
				delete(rl.clients, k)
			}
		}
		rl.swept = now
	}
	return c.l.AllowN(now, 1)
}
