package workflow

import (
	"sync"
	"time"

	settle "github.com/settle-agent/settle-agent"
	"github.com/settle-agent/settle-agent/platform"
)

// maxClockSkew is how far the agent's clock may be from the platform's before the
// engine stops letting it decide anything irreversible (a bill dead past the retry
// horizon, a settled bill swept past retention): a clock that jumped a week ahead
// must not kill every queued bill.
const maxClockSkew = time.Hour

// platformClock is how far the agent's clock was from the platform's at its last
// answer that carried a time.
type platformClock struct {
	mu    sync.Mutex
	known bool
	skew  time.Duration // agent minus platform
}

// observe notes the platform's respond_time of an answer received at agent time now.
func (c *platformClock) observe(resp *platform.Response, now time.Time) {
	if resp == nil {
		return
	}
	t, ok := platformTime(resp.RespondTime)
	if !ok {
		return
	}
	c.mu.Lock()
	c.known, c.skew = true, now.Sub(t)
	c.mu.Unlock()
}

// platformTime reads a platform time: 17 digits yyyyMMddHHmmssSSS, 14 digits, or
// "yyyy-MM-dd HH:mm:ss", all Beijing time.
func platformTime(s string) (time.Time, bool) {
	layouts := []string{"20060102150405", platform.InfTimeLayout}
	if len(s) == 17 {
		s = s[:14]
	}
	for _, l := range layouts {
		if len(s) == len(l) {
			if t, err := time.ParseInLocation(l, s, settle.Beijing); err == nil {
				return t, true
			}
		}
	}
	return time.Time{}, false
}

// ClockTrusted reports whether the agent's clock may decide deadlines: no platform
// answer with a time was seen in this run (nothing better to go by), or the last one
// agreed within an hour.
func (e *Link) ClockTrusted() bool {
	c := &e.pclock
	c.mu.Lock()
	defer c.mu.Unlock()
	return !c.known || (c.skew < maxClockSkew && c.skew > -maxClockSkew)
}

// ClockSkew is the agent's clock minus the platform's at the last answer, and
// whether one was seen.
func (e *Link) ClockSkew() (time.Duration, bool) {
	c := &e.pclock
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.skew, c.known
}
