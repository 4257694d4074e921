package adminclient

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"time"
)

// StoreCopy receives the running agent's consistent copy of its store
// (GET /v1/admin/store-copy) into w, and returns what the copy holds and when it
// was taken. The copy is whole only when its size and its SHA-256 trailer match
// what arrived.
func (c *Client) StoreCopy(ctx context.Context, w io.Writer) (counts map[string]map[string]int, taken time.Time, err error) {
	const path = "/v1/admin/store-copy"
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.base+path, nil)
	if err != nil {
		return nil, time.Time{}, err
	}
	req.Header.Set("Authorization", "Bearer "+c.token)
	resp, err := c.hc.Do(req)
	if err != nil {
		return nil, time.Time{}, fmt.Errorf("the agent's admin API at %s: %w (is the agent running?)", c.base, err)
	}
	defer resp.Body.Close()
	taken = time.Now()
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
		return nil, taken, errorOf(http.MethodGet, path, resp.StatusCode, b)
	}
	if err := json.Unmarshal([]byte(resp.Header.Get("X-Settle-Counts")), &counts); err != nil {
		return nil, taken, fmt.Errorf("the agent's store copy: its counts are unreadable: %w", err)
	}
	size, err := strconv.ParseInt(resp.Header.Get("X-Settle-Size"), 10, 64)
	if err != nil {
		return nil, taken, fmt.Errorf("the agent's store copy: its size is unreadable: %w", err)
	}
	sum := sha256.New()
	n, err := io.Copy(io.MultiWriter(w, sum), resp.Body)
	if err != nil {
		return nil, taken, fmt.Errorf("receive the store copy: %w", err)
	}
	if got, want := hex.EncodeToString(sum.Sum(nil)), resp.Trailer.Get("X-Settle-Sha256"); n != size || got != want {
		return nil, taken, fmt.Errorf("the copy arrived incomplete (%d of %d bytes, checksum %q, agent's %q); run the backup again", n, size, got, want)
	}
	return counts, taken, nil
}
