package sim

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	settle "github.com/settle-agent/settle-agent"
	"github.com/settle-agent/settle-agent/platform"
	"github.com/settle-agent/settle-agent/platform/gmcodec"
)

// DefaultPath is the path the real platform serves; a POST to any other path outside
// /sim/ is served the same way (provinces with a path per service).
const DefaultPath = "/fsi/api/rsfComIfsService/callService"

// Options tune a Platform; the zero value (or nil) means defaults.
type Options struct {
	// Token and Paasid: when Token is set, every call must carry a valid gateway
	// signature (platform.VerifySignature); a bad or stale one is answered HTTP 401.
	Token, Paasid string
	// RequireSignIn refuses business calls whose sign_no was not issued by 9001 since
	// the last reset.
	RequireSignIn bool
	// Now is the clock (time.Now when nil).
	Now func() time.Time
	// Seed seeds the fault draws (0: a fixed default seed).
	Seed int64
	// Logger receives one line per fault and business refusal (nil: discard).
	Logger *slog.Logger
	// ReconResultColumns is the column order of the 3202 result file it writes (nil:
	// platform.DefaultReconResultColumns).
	ReconResultColumns []string
	// Codec is the province's 国密 envelope rule (nil: plain JSON): every request must
	// come encrypted and signed as it says, or it is refused (infcode -2, 解密失败 or
	// 验签失败, nothing booked); answers go out the same way (envelope_crypto.go).
	Codec *gmcodec.Codec
}

// Platform is the simulated provincial platform. It is safe for concurrent use: one
// mutex guards its state, and every call is answered at once unless a fault says
// otherwise.
type Platform struct {
	fx   *Fixture
	opts Options
	now  func() time.Time
	log  *slog.Logger

	// Read-only indexes of the fixture.
	byPsnNo   map[string]*FixturePerson
	byCertno  map[string]*FixturePerson
	byCardNo  map[string]*FixturePerson
	byECToken map[string]*FixturePerson
	items     map[string]*CatalogueItem // the fixture's, and what PublishItem added (under mu)
	policies  map[string]*Policy

	files fileStore

	mu     sync.Mutex
	faults Faults
	rng    *rand.Rand
	seq    int64        // ids stay unique across resets
	refSeq atomic.Int64 // serial of inf_refmsgid
	st     *state
	calls  map[string]int
	seen   map[string]struct{} // every msgid received since the last reset
	repeat []string            // msgids received more than once
	cat    *catalogueState     // catalogue.go

	late     []*lateCall // "booked late" requests not yet landed (strict.go)
	holdLate bool        // HoldLate: late bookings wait for ReleaseLate
	answered int64       // calls processed since the last reset

	violations   map[string]int // strict rule -> refusals since the last reset
	violationLog []Violation    // the latest refusals of strict rules
}

// state is everything Reset restores.
type state struct {
	persons  map[string]*personState
	signNos  map[string]bool
	visits   map[string]*visit
	setls    map[string]*settlement
	ledger   []*booking
	byMsgid  map[string][]*booking
	replies  map[string][]byte // msgid -> stored answer (writes always; all when replaying)
	handled  map[string]bool   // msgids processed (a repeat is refused unless replaying)
	expired  map[string]bool   // sign_no values ExpireSessions forgot
	used     map[string]bool   // sign_no values calls carried
	usedDedc map[yearKey]settle.Money
	usedFund map[yearKey]settle.Money
	stays    map[string]*stay         // inpatient stays by mdtrt_id (inpatient.go)
	ipSetls  map[string]*ipSettlement // inpatient settlements by setl_id

	// Indexes, so that a call's cost does not grow with the ledger (index.go).
	byIptOtpNo   map[iptKey][]*visit   // every visit by hospital and ipt_otp_no
	visitsByPsn  map[string][]*visit   // every visit by psn_no, in registration order
	setlsBySetl  map[string][]*booking // settlement bookings (2207, 2304) by setl_id
	setlsByVisit map[string][]*booking // settlement bookings by mdtrt_id, in ledger order
	setlsByDay   map[string][]*booking // settlement bookings by Beijing date, in ledger order
}

type personState struct {
	fx      *FixturePerson
	balance settle.Money
}

type yearKey struct {
	psnNo string
	year  int
}

// New returns a platform holding f (DemoFixture when nil).
func New(f *Fixture, o *Options) *Platform {
	if f == nil {
		f = DemoFixture()
	}
	p := &Platform{fx: f}
	if o != nil {
		p.opts = *o
	}
	p.now = p.opts.Now
	if p.now == nil {
		p.now = time.Now
	}
	p.log = p.opts.Logger
	if p.log == nil {
		p.log = slog.New(slog.DiscardHandler)
	}
	seed := uint64(p.opts.Seed)
	if seed == 0 {
		seed = 20261123
	}
	p.rng = rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	p.byPsnNo = make(map[string]*FixturePerson, len(f.Persons))
	p.byCertno = make(map[string]*FixturePerson, len(f.Persons))
	p.byCardNo = make(map[string]*FixturePerson, len(f.Persons))
	p.byECToken = make(map[string]*FixturePerson, len(f.Persons))
	for i := range f.Persons {
		fp := &f.Persons[i]
		p.byPsnNo[fp.PsnNo] = fp
		p.byCertno[fp.Certno] = fp
		p.byCardNo[fp.CardNo] = fp
		if fp.ECToken != "" {
			p.byECToken[fp.ECToken] = fp
		}
	}
	p.items = make(map[string]*CatalogueItem, len(f.Items))
	for i := range f.Items {
		p.items[f.Items[i].MedListCodg] = &f.Items[i]
	}
	p.policies = make(map[string]*Policy, len(f.Policies))
	for i := range f.Policies {
		p.policies[f.Policies[i].Admdvs] = &f.Policies[i]
	}
	p.resetLocked()
	return p
}

// Reset restores the fixture's state (balances, deductibles, caps), forgets every
// visit, sign-in and stored answer, clears the ledger, the call counts and the faults.
func (p *Platform) Reset() {
	p.mu.Lock()
	p.resetLocked()
	p.mu.Unlock()
	p.log.Info("sim reset")
}

func (p *Platform) resetLocked() {
	st := &state{
		persons:  make(map[string]*personState, len(p.fx.Persons)),
		signNos:  map[string]bool{},
		visits:   map[string]*visit{},
		setls:    map[string]*settlement{},
		byMsgid:  map[string][]*booking{},
		replies:  map[string][]byte{},
		handled:  map[string]bool{},
		expired:  map[string]bool{},
		used:     map[string]bool{},
		usedDedc: map[yearKey]settle.Money{},
		usedFund: map[yearKey]settle.Money{},
		stays:    map[string]*stay{},
		ipSetls:  map[string]*ipSettlement{},

		byIptOtpNo:   map[iptKey][]*visit{},
		visitsByPsn:  map[string][]*visit{},
		setlsBySetl:  map[string][]*booking{},
		setlsByVisit: map[string][]*booking{},
		setlsByDay:   map[string][]*booking{},
	}
	for _, fp := range p.byPsnNo {
		st.persons[fp.PsnNo] = &personState{fx: fp, balance: fp.Balance}
	}
	p.st = st
	p.resetCatalogueLocked()
	p.faults = Faults{}
	p.calls = map[string]int{}
	p.seen = map[string]struct{}{}
	p.repeat = nil
	p.late, p.answered, p.holdLate = nil, 0, false
	p.violations, p.violationLog = map[string]int{}, nil
}

// Fixture returns the fixture the platform holds (do not modify it).
func (p *Platform) Fixture() *Fixture { return p.fx }

// Stats returns how many calls arrived per infno since the last reset (including
// calls a fault then dropped, but not calls refused while down or for a bad signature).
func (p *Platform) Stats() map[string]int {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := make(map[string]int, len(p.calls))
	for k, v := range p.calls {
		out[k] = v
	}
	return out
}

// RepeatedMsgids returns the msgids that arrived more than once since the last reset,
// in order of repetition. An agent must never repeat a msgid, so tests expect none.
func (p *Platform) RepeatedMsgids() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]string(nil), p.repeat...)
}

// Handler serves the platform and the /sim/ controls: POST to any path outside /sim/
// is a call (the real platform's DefaultPath, or a province's per-service path such as
// /fsi/api/outpatientSettleService/saveSettletmentV2; the envelope's infno decides). It
// serves in process as well, e.g. with httptest.NewServer.
func (p *Platform) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("/sim/", p.serveControl)
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		if p.Faults().Down {
			// A platform that is down answers nothing, not even HEAD or GET.
			dropConnection(w, false)
			return
		}
		if r.Method != http.MethodPost {
			if !strings.HasSuffix(r.URL.Path, "/callService") {
				http.Error(w, "not found: the platform serves POST "+DefaultPath+" (or a province's service path) and /sim/", http.StatusNotFound)
				return
			}
			w.Header().Set("Allow", http.MethodPost)
			http.Error(w, "callService takes POST", http.StatusMethodNotAllowed)
			return
		}
		p.serveCall(w, r)
	})
	return mux
}

// maxRequestBytes bounds one request body.
const maxRequestBytes = 8 << 20

// infcodeBusiness is the infcode of every business refusal the simulator gives.
const infcodeBusiness = -2

// bizError is a business refusal: final, its message for the cashier. rule names the
// strict rule it enforces, if any (Violations counts them).
type bizError struct{ msg, rule string }

// as marks e as the refusal of a strict rule.
func (e *bizError) as(rule string) *bizError {
	e.rule = rule
	return e
}

func biz(format string, args ...any) *bizError {
	if len(args) == 0 {
		return &bizError{msg: format}
	}
	return &bizError{msg: sprintf(format, args...)}
}

func (p *Platform) serveCall(w http.ResponseWriter, r *http.Request) {
	p.mu.Lock()
	f := p.faults
	p.mu.Unlock()
	if f.Down {
		dropConnection(w, false)
		return
	}
	if p.opts.Token != "" {
		if err := platform.VerifySignature(r.Header, p.opts.Paasid, p.opts.Token, p.now(), platform.DefaultMaxSkew); err != nil {
			p.log.Info("sim refused signature", "err", err)
			http.Error(w, err.Error(), http.StatusUnauthorized)
			return
		}
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, maxRequestBytes+1))
	if err != nil {
		return // the client went away
	}
	if len(body) > maxRequestBytes {
		http.Error(w, "request body larger than 8 MiB", http.StatusRequestEntityTooLarge)
		return
	}
	body, ok := p.openEnvelope(w, body)
	if !ok {
		return
	}
	var req platform.Request
	if err := json.Unmarshal(body, &req); err != nil {
		p.reply(w, p.errorResponse(&req, infcodeBusiness, "报文格式错误: "+err.Error()))
		return
	}
	if f.LatencyMS > 0 {
		if sleep(r.Context(), time.Duration(f.LatencyMS)*time.Millisecond) != nil {
			return
		}
	}

	p.mu.Lock()
	p.calls[req.Infno]++
	if req.Msgid != "" {
		if _, dup := p.seen[req.Msgid]; dup {
			p.repeat = append(p.repeat, req.Msgid)
		} else {
			p.seen[req.Msgid] = struct{}{}
		}
	}
	action := p.drawFault(req.Infno)
	var out []byte
	ctype := jsonType
	switch action {
	case faultReset, faultHTTP500, faultMinus1NotBooked:
	case faultLate:
		p.holdBackLocked(&req)
	default:
		out, ctype = p.processLocked(&req)
		p.answered++
		p.landDueLocked()
	}
	p.mu.Unlock()

	switch action {
	case faultReset:
		p.log.Info("sim fault: connection reset before processing", "infno", req.Infno, "msgid", req.Msgid)
		dropConnection(w, true)
	case faultHTTP500:
		p.log.Info("sim fault: HTTP 500, nothing booked", "infno", req.Infno, "msgid", req.Msgid)
		http.Error(w, "internal server error (simulated)", http.StatusInternalServerError)
	case faultMinus1Booked, faultMinus1NotBooked:
		p.log.Info("sim fault: infcode -1", "infno", req.Infno, "msgid", req.Msgid, "booked", action == faultMinus1Booked)
		p.reply(w, p.errorResponse(&req, platform.InfcodeSystemError, "系统异常"))
	case faultLoseResponse:
		p.log.Info("sim fault: processed, response lost", "infno", req.Infno, "msgid", req.Msgid)
		dropConnection(w, false)
	case faultLate:
		p.log.Info("sim fault: held back, to be booked late", "infno", req.Infno, "msgid", req.Msgid)
		dropConnection(w, false)
	default:
		p.replyAs(w, ctype, out)
	}
}

// Content types of answers.
const (
	jsonType  = "application/json; charset=utf-8"
	octetType = "application/octet-stream"
)

func (p *Platform) reply(w http.ResponseWriter, body []byte) { p.replyAs(w, jsonType, body) }

func (p *Platform) replyAs(w http.ResponseWriter, ctype string, body []byte) {
	w.Header().Set("Content-Type", ctype)
	_, _ = w.Write(body)
}

// processLocked answers one request (replaying a stored answer when asked to) and
// stores the answer for a later replay; the caller holds p.mu. It returns the body and
// its content type (a 9102 answer is the file itself).
func (p *Platform) processLocked(req *platform.Request) ([]byte, string) {
	if p.faults.ReplayMsgid && req.Msgid != "" {
		if out, ok := p.st.replies[req.Msgid]; ok {
			return out, jsonType
		}
	}
	if req.Msgid != "" && p.st.handled[req.Msgid] {
		p.noteViolation(RuleMsgidRepeated, req)
		return p.errorResponse(req, infcodeBusiness, "报文ID msgid "+req.Msgid+" 重复: 每个报文须使用新的报文ID"), jsonType
	}
	if req.Msgid != "" {
		p.st.handled[req.Msgid] = true
	}
	output, berr := p.dispatch(req)
	if f, ok := output.(fileAnswer); ok && berr == nil {
		return f.data, octetType
	}
	var out []byte
	if berr != nil && berr.rule != "" {
		p.noteViolation(berr.rule, req)
	}
	if berr != nil {
		p.log.Info("sim business error", "infno", req.Infno, "msgid", req.Msgid, "err_msg", berr.msg)
		out = p.errorResponse(req, infcodeBusiness, berr.msg)
	} else {
		out = p.okResponse(req, output)
	}
	if req.Msgid != "" && (p.faults.ReplayMsgid || platform.IsWrite(req.Infno) || req.Infno == platform.InfnoReversal) {
		p.st.replies[req.Msgid] = out
	}
	return out, jsonType
}

func (p *Platform) okResponse(req *platform.Request, output any) []byte {
	raw, err := json.Marshal(output)
	if err != nil {
		return p.errorResponse(req, platform.InfcodeSystemError, "系统异常: "+err.Error())
	}
	return p.encode(&platform.Response{Infcode: platform.InfcodeOK, Output: raw}, req)
}

func (p *Platform) errorResponse(req *platform.Request, code int, msg string) []byte {
	return p.encode(&platform.Response{Infcode: code, ErrMsg: msg}, req)
}

func (p *Platform) encode(resp *platform.Response, req *platform.Request) []byte {
	return p.sealAnswer(p.encodePlain(resp))
}

// encodePlain is the answer's JSON before any 国密 envelope.
func (p *Platform) encodePlain(resp *platform.Response) []byte {
	// inf_refmsgid is the platform's own id: receiver region (6) + time (14) + serial (10).
	serial := p.refSeq.Add(1)
	now := p.now()
	region := p.fx.TreatmentAdmdvs
	if len(region) != 6 {
		region = "330000"
	}
	resp.InfRefmsgid = region + now.In(beijing).Format("20060102150405") + sprintf("%010d", serial%10_000_000_000)
	resp.RefmsgTime = platform.FormatMillis(now)
	resp.RespondTime = platform.FormatMillis(now)
	if resp.Output == nil {
		resp.Output = json.RawMessage("{}")
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(resp)
	return buf.Bytes()
}

// beijing is China Standard Time, fixed (no tzdata needed on Windows).
var beijing = time.FixedZone("CST", 8*3600)

// Start serves p on addr (127.0.0.1:0 when empty) until ctx ends or stop is called. url
// is the base URL ("http://127.0.0.1:PORT"); calls go to url+DefaultPath.
func Start(ctx context.Context, addr string, p *Platform) (url string, stop func() error, err error) {
	if addr == "" {
		addr = "127.0.0.1:0"
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return "", nil, err
	}
	base, cancel := context.WithCancel(context.Background())
	srv := &http.Server{
		Handler:           p.Handler(),
		ReadHeaderTimeout: 10 * time.Second,
		BaseContext:       func(net.Listener) context.Context { return base },
	}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	var once sync.Once
	var stopErr error
	stop = func() error {
		once.Do(func() {
			cancel() // ends latency waits
			sctx, done := context.WithTimeout(context.Background(), 5*time.Second)
			defer done()
			// Connections a client opened but never used keep Shutdown waiting its
			// full 5 s: past the deadline they are closed, which is a clean stop too.
			if err := srv.Shutdown(sctx); err != nil {
				_ = srv.Close()
				if !errors.Is(err, context.DeadlineExceeded) {
					stopErr = err
				}
			}
			if err := <-served; err != nil && !errors.Is(err, http.ErrServerClosed) && stopErr == nil {
				stopErr = err
			}
		})
		return stopErr
	}
	go func() {
		select {
		case <-ctx.Done():
			_ = stop()
		case <-base.Done():
		}
	}()
	return "http://" + ln.Addr().String(), stop, nil
}
