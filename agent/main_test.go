package agent_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	settle "github.com/settle-agent/settle-agent"
	"github.com/settle-agent/settle-agent/agent"
	"github.com/settle-agent/settle-agent/config"
	"github.com/settle-agent/settle-agent/internal/poll"
	"github.com/settle-agent/settle-agent/internal/simagent"
	"github.com/settle-agent/settle-agent/platform/sim"
)

// Tokens the test configuration gives its windows and admin.
const (
	tokW01   = "token-w01-0123456789"
	tokW02   = "token-w02-0123456789"
	tokAdmin = "token-admin-0123456789"
)

// testSystem is a real simulator over real HTTP and a real agent on 127.0.0.1:0 with
// its store in a temp dir, built by internal/simagent as the demo and the
// benchmarks build theirs.
type testSystem struct {
	tb      testing.TB
	Sim     *sim.Platform
	SimURL  string
	Cfg     *config.Config
	Agent   *agent.Agent
	URL     string
	running *simagent.Running
}

// MustSim starts the simulated platform with the demo fixture.
func MustSim(tb testing.TB) (*sim.Platform, string) {
	tb.Helper()
	p, url, stop, err := simagent.StartSim(context.Background(), 1)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() {
		_ = stop()
		// Every test: no msgid ever reached the platform twice.
		if rep := p.RepeatedMsgids(); len(rep) > 0 {
			tb.Errorf("msgids sent to the platform twice: %v", rep)
		}
	})
	return p, url
}

// MustConfig is a valid two-window configuration against simURL.
func MustConfig(tb testing.TB, simURL, dir string) *config.Config {
	tb.Helper()
	_, cfg, err := simagent.WriteConfig(dir, simURL, simagent.Options{
		Windows: []simagent.Window{{ID: "W01", Token: tokW01}, {ID: "W02", Token: tokW02}}, AdminToken: tokAdmin})
	if err != nil {
		tb.Fatal(err)
	}
	return cfg
}

// MustSystem starts simulator and agent; mut may change the configuration first.
func MustSystem(tb testing.TB, mut func(*config.Config)) *testSystem {
	tb.Helper()
	p, url := MustSim(tb)
	cfg := MustConfig(tb, url, tb.TempDir())
	if mut != nil {
		mut(cfg)
	}
	s := &testSystem{tb: tb, Sim: p, SimURL: url, Cfg: cfg}
	s.Start()
	tb.Cleanup(s.Stop)
	tb.Cleanup(s.checkNoOrphanBookings) // runs first: the agent is still up
	return s
}

// checkNoOrphanBookings fails the test when the platform holds a live settlement the
// agent does not hold as settled (a booking it lost track of).
func (s *testSystem) checkNoOrphanBookings() {
	if s.running == nil || s.tb.Failed() {
		return
	}
	for _, e := range s.Sim.Ledger() {
		if e.Infno != "2207" || !e.Live() {
			continue
		}
		no := e.ChrgBchno
		if i := strings.LastIndexByte(no, '-'); i > 0 {
			no = no[:i]
		}
		st, body := s.tryDo("GET", "/v1/bills/"+no, tokAdmin, nil)
		if st != 200 || str(body, "state") != "settled" || str(body, "settlement", "setl_id") != e.SetlID {
			s.tb.Errorf("the platform holds live settlement %s (msgid %s) of bill %s; the agent answers %d %s %s",
				e.SetlID, e.Msgid, no, st, str(body, "state"), str(body, "settlement", "setl_id"))
		}
	}
}

// Start runs a new agent on the system's configuration and store.
func (s *testSystem) Start() {
	s.tb.Helper()
	s.StartWith(nil)
}

// StartWith runs a new agent with o (its readers' ports, say) on the system's
// configuration and store.
func (s *testSystem) StartWith(o *agent.Options) {
	s.tb.Helper()
	r, err := simagent.Start(context.Background(), s.Cfg, o)
	if err != nil {
		s.tb.Fatal(err)
	}
	s.Agent, s.URL, s.running = r.Agent, r.URL, r
}

// Stop stops the agent (if running) and waits for it.
func (s *testSystem) Stop() {
	if s.running == nil {
		return
	}
	if err := s.running.Stop(); err != nil {
		s.tb.Errorf("agent Run: %v", err)
	}
	s.running = nil
}

var client = &http.Client{Timeout: 30 * time.Second}

// Do sends a JSON request and decodes a JSON answer.
func (s *testSystem) Do(method, path, token string, body any, hdr ...string) (int, map[string]any) {
	s.tb.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case []byte:
		rd = bytes.NewReader(b)
	case string:
		rd = bytes.NewReader([]byte(b))
	default:
		data, err := json.Marshal(b)
		if err != nil {
			s.tb.Fatal(err)
		}
		rd = bytes.NewReader(data)
	}
	req, err := http.NewRequest(method, s.URL+path, rd)
	if err != nil {
		s.tb.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := client.Do(req)
	if err != nil {
		s.tb.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	var m map[string]any
	if len(bytes.TrimSpace(data)) > 0 && data[0] == '{' {
		if err := json.Unmarshal(data, &m); err != nil {
			s.tb.Fatalf("%s %s: answer is not JSON: %v: %s", method, path, err, data)
		}
	}
	return resp.StatusCode, m
}

// waitFor polls cond until it holds (or fails the test after 20 s).
func (s *testSystem) waitFor(what string, cond func() bool) {
	s.tb.Helper()
	poll.Until(s.tb, 20*time.Second, what, cond)
}

var billSeq atomic.Int64

// newBill is a valid bill for a demo fixture person at window W01.
func newBill(cardNo string, items ...settle.Item) settle.Bill {
	n := billSeq.Add(1)
	if len(items) == 0 {
		items = []settle.Item{
			{Line: 1, HISCode: "ZL0001", Name: "普通门诊诊查费", Qty: mustQty("1"), UnitPrice: mustPrice("25.00"), Amount: settle.MustMoney("25.00")},
			{Line: 2, HISCode: "YP0003", Name: "厄贝沙坦片", Qty: mustQty("14"), UnitPrice: mustPrice("1.50"), Amount: settle.MustMoney("21.00")},
		}
	}
	var total settle.Money
	for _, it := range items {
		total += it.Amount
	}
	return settle.Bill{
		BillNo: fmt.Sprintf("MZ%d%06d", time.Now().UnixNano()%1e6, n), Window: "W01",
		Patient:   settle.Patient{MdtrtCertType: settle.CertSSCard, MdtrtCertNo: cardNo},
		MedType:   settle.MedTypeOutpatient,
		Dept:      settle.Code{Code: "0301", Name: "内科"},
		Doctor:    settle.Code{Code: "D0042", Name: "王医生"},
		Diagnoses: []settle.Code{{Code: "I10.x00", Name: "高血压"}},
		Items:     items, Total: total,
		CreatedAt: time.Now(),
	}
}

func mustQty(s string) settle.Qty {
	q, err := settle.ParseQty(s)
	if err != nil {
		panic(err)
	}
	return q
}

func mustPrice(s string) settle.Price {
	p, err := settle.ParsePrice(s)
	if err != nil {
		panic(err)
	}
	return p
}

// Demo fixture cards (platform/sim/fixture/demo.json).
const (
	cardLocalEmployee = "A33010001" // 张伟, 330100, 310, balance 2000
	cardLocalResident = "A33010002" // 李娜, 390
	cardShanghaiFiled = "B31000003" // 王强, 310000, filed
	cardUnfiled       = "C32010004" // 刘芳, 320100, not filed
	cardChronic       = "A33010006" // 陈秀英, I10.x00 and E11.900
)

func str(m map[string]any, path ...string) string {
	var v any = m
	for _, p := range path {
		mm, ok := v.(map[string]any)
		if !ok {
			return ""
		}
		v = mm[p]
	}
	s, _ := v.(string)
	return s
}

func dayNow() string { return time.Now().In(time.FixedZone("CST", 8*3600)).Format("2006-01-02") }

// settledByBill counts the platform's live settlements per bill number: a bill whose
// fee upload was lost and cancelled settles under a later charge batch
// ("<bill_no>-2", see workflow.ChargeBatch).
func settledByBill(p *sim.Platform) map[string]int {
	out := map[string]int{}
	for batch, n := range p.Settled() {
		if i := strings.LastIndexByte(batch, '-'); i > 0 {
			batch = batch[:i]
		}
		out[batch] += n
	}
	return out
}
