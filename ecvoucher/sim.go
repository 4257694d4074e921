package ecvoucher

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Path is where the decode service usually answers, below its base URL.
const Path = "/localcfc/api/hsecfc/localQrCodeQuery"

// DefaultCodeTTL is how long a simulated QR code stays valid (the real ones refresh
// every minute or so in the app).
const DefaultCodeTTL = 5 * time.Minute

// codePrefix starts every simulated QR code: ECQR:<ecToken>:<issued yyyyMMddHHmmss>.
const codePrefix = "ECQR:"

// Code returns the QR content the simulated service issues for ecToken at t: what a
// scanner reads off the patient's phone.
func Code(ecToken string, t time.Time) string {
	return codePrefix + ecToken + ":" + t.UTC().Format("20060102150405")
}

// Simulator is a stand-in e-voucher decode service (ec.query over HTTP, at Path or
// any path). It knows the vouchers by ecToken; a code older than TTL is expired.
// Safe for concurrent use; SetOffline makes it refuse every call with HTTP 503.
type Simulator struct {
	// TTL is a code's lifetime; 0 means DefaultCodeTTL.
	TTL time.Duration
	// DataAsString sends data as a JSON string holding the object, as some provinces do.
	DataAsString bool
	// Now is the clock; nil means time.Now.
	Now func() time.Time

	mu       sync.Mutex
	vouchers map[string]Voucher
	offline  atomic.Bool
	calls    atomic.Int64
}

// NewSimulator returns a simulator that knows vs.
func NewSimulator(vs []Voucher) *Simulator {
	s := &Simulator{vouchers: map[string]Voucher{}}
	for _, v := range vs {
		s.vouchers[v.ECToken] = v
	}
	return s
}

// SetOffline makes the service unreachable (HTTP 503) or reachable again.
func (s *Simulator) SetOffline(off bool) { s.offline.Store(off) }

// Calls returns how many ec.query calls were answered.
func (s *Simulator) Calls() int64 { return s.calls.Load() }

// Vouchers returns the vouchers the simulator knows.
func (s *Simulator) Vouchers() []Voucher {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Voucher, 0, len(s.vouchers))
	for _, v := range s.vouchers {
		out = append(out, v)
	}
	return out
}

// ServeHTTP answers one ec.query.
func (s *Simulator) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if s.offline.Load() {
		http.Error(w, "decode service offline (simulated)", http.StatusServiceUnavailable)
		return
	}
	if r.Method != http.MethodPost {
		http.Error(w, "POST ec.query JSON", http.StatusMethodNotAllowed)
		return
	}
	b, err := io.ReadAll(io.LimitReader(r.Body, 64<<10))
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	s.calls.Add(1)
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	_, _ = w.Write(s.Answer(b))
}

// Answer is the simulated service's answer to one ec.query input.
func (s *Simulator) Answer(in []byte) []byte {
	fail := func(code int, msg string) []byte {
		b, _ := json.Marshal(map[string]any{"code": code, "message": msg, "data": nil})
		return b
	}
	q, err := parseRequest(in)
	if err != nil {
		return fail(-1, "请求格式错误: "+err.Error())
	}
	if q.OrgID == "" {
		return fail(-1, "orgId 不能为空")
	}
	token, issued, ok := parseCode(q.ECQrCode)
	if !ok {
		return fail(1001, "二维码无效，请患者重新出示电子凭证")
	}
	now := time.Now
	if s.Now != nil {
		now = s.Now
	}
	ttl := s.TTL
	if ttl <= 0 {
		ttl = DefaultCodeTTL
	}
	if age := now().Sub(issued); age > ttl || age < -time.Minute {
		return fail(1002, "二维码已过期，请患者刷新电子凭证后重新出示")
	}
	s.mu.Lock()
	v, known := s.vouchers[token]
	s.mu.Unlock()
	if !known {
		return fail(1003, "电子凭证不存在")
	}
	var data any = v
	if s.DataAsString {
		b, _ := json.Marshal(v)
		data = string(b)
	}
	b, _ := json.Marshal(map[string]any{"code": 0, "message": "成功", "data": data})
	return b
}

// parseCode reads a simulated QR code.
func parseCode(code string) (token string, issued time.Time, ok bool) {
	rest, found := strings.CutPrefix(code, codePrefix)
	if !found {
		return "", time.Time{}, false
	}
	i := strings.LastIndexByte(rest, ':')
	if i <= 0 {
		return "", time.Time{}, false
	}
	t, err := time.Parse("20060102150405", rest[i+1:])
	if err != nil {
		return "", time.Time{}, false
	}
	return rest[:i], t, true
}

// String describes the simulator for a log line.
func (s *Simulator) String() string {
	return fmt.Sprintf("e-voucher decode simulator (%d vouchers)", len(s.Vouchers()))
}
