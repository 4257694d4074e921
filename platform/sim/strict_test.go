package sim

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/settle-agent/settle-agent/platform"
)

func TestStrict_CancelFeeByBatch(t *testing.T) {
	p, c := mustSim(t, nil)
	var reg platform.RegisterOutput
	c.ok("2201", regInput(psnLocalEmployee), &reg)
	mdtrt := reg.Data.MdtrtID
	c.upload(psnLocalEmployee, mdtrt, "A1", line{codgVisit, "1", "25"})
	c.upload(psnLocalEmployee, mdtrt, "A2", line{codgCT, "1", "240"})
	cancel := func(chrg string) platform.CancelFeeInput {
		return platform.CancelFeeInput{Data: platform.CancelFeeData{ChrgBchno: chrg, MdtrtID: mdtrt, PsnNo: psnLocalEmployee}}
	}
	c.refused("2205", platform.CancelFeeInput{Data: platform.CancelFeeData{FeedetlSn: "0000", MdtrtID: mdtrt, PsnNo: psnLocalEmployee}}, "chrg_bchno")
	c.ok("2205", cancel("A1"), nil)
	c.refused("2205", cancel("A1"), msgNothingToCancel)
	// A2 stands: the visit settles for it alone.
	c.settle(psnLocalEmployee, mdtrt, "A2", "11", "310", money("240.00"), "1")
	if n := p.Settled()["A2"]; n != 1 {
		t.Errorf("A2 settled %d; want 1", n)
	}
	c.refused("2205", cancel(platform.ChrgBchnoAll), "已结算")

	// "0000" cancels every unsettled line; then there is nothing left.
	c.ok("2201", regInput(psnLocalEmployee), &reg)
	c.upload(psnLocalEmployee, reg.Data.MdtrtID, "A3", line{codgVisit, "1", "25"})
	all := platform.CancelFeeInput{Data: platform.CancelFeeData{ChrgBchno: platform.ChrgBchnoAll, MdtrtID: reg.Data.MdtrtID, PsnNo: psnLocalEmployee}}
	c.ok("2205", all, nil)
	c.refused("2205", all, msgNothingToCancel)

	// The client reads "nothing to cancel" as ErrNothingToCancel.
	cl := realClient(t, c, platform.Options{})
	if _, err := cl.Call(context.Background(), "2205", c.meta(), all, nil); !errors.Is(err, platform.ErrNothingToCancel) {
		t.Errorf("client: got %v; want ErrNothingToCancel", err)
	}
}

func TestStrict_SettleRequiresPreSettlement(t *testing.T) {
	_, c := mustSim(t, nil)
	mdtrt, total := c.visitFlow(psnLocalEmployee, "310", "S1", line{codgVisit, "1", "25"}, line{codgAmox, "10", "0.35"})
	c.refused("2207", settleInput(psnLocalEmployee, mdtrt, "S1", "11", "310", total, "1"), "fulamt_ownpay_amt")
	in := c.confirmInput(psnLocalEmployee, mdtrt, "S1", "11", "310", total, "1")
	stale := in
	stale.Data.InscpScpAmt++
	c.refused("2207", stale, "与预结算结果")
	var out platform.SettleOutput
	c.ok("2207", in, &out)
	if out.Setlinfo.SetlTime == "" || out.Setlinfo.SetlID == "" {
		t.Errorf("2207 answer %+v; want setl_id and setl_time", out.Setlinfo)
	}
	// A second settlement of the visit, however it is asked, is refused.
	c.refused("2207", in, msgAlreadySettled)
	cl := realClient(t, c, platform.Options{})
	if _, err := cl.Call(context.Background(), "2207", c.meta(), in, &platform.SettleOutput{}); !errors.Is(err, platform.ErrAlreadySettled) {
		t.Errorf("client: got %v; want ErrAlreadySettled", err)
	}
}

func TestStrict_ReversalSentinels(t *testing.T) {
	p, c := mustSim(t, nil)
	cl := realClient(t, c, platform.Options{})
	rev := func(omsgid, oinfno string) error {
		_, err := cl.Call(context.Background(), "2601", c.meta(), platform.ReversalInput{Data: platform.ReversalData{PsnNo: psnLocalEmployee, Omsgid: omsgid, Oinfno: oinfno}}, nil)
		return err
	}
	if err := rev("H33010200001202611230000004242", "2207"); !errors.Is(err, platform.ErrOriginalNotFound) {
		t.Errorf("never booked: got %v; want ErrOriginalNotFound", err)
	}
	regMsg := c.ok("2201", regInput(psnLocalEmployee), nil)
	err := rev(regMsg, "2201")
	if !errors.Is(err, platform.ErrBusiness) || errors.Is(err, platform.ErrOriginalNotFound) {
		t.Errorf("2201 reversed: got %v; want a plain business refusal (out of scope, not \"not found\")", err)
	}
	// The platform's own count of strict refusals: what a test of the agent asserts on.
	v := p.Violations()
	if v[RuleReversalOutOfScope] != 1 || v[RuleReversalNotFound] != 1 || len(v) != 2 {
		t.Errorf("violations %v; want one out of scope and one not found", v)
	}
	if log := p.ViolationLog(); len(log) != 2 || log[0].Rule != RuleReversalNotFound || log[1].Infno != "2601" {
		t.Errorf("violation log %+v", log)
	}
	if code, body := control(t, c, http.MethodGet, "/sim/stats", ""); code != 200 || !strings.Contains(body, `"reversal_out_of_scope": 1`) {
		t.Errorf("GET /sim/stats = %d %s; want the violations", code, body)
	}
	p.Reset()
	if v := p.Violations(); len(v) != 0 {
		t.Errorf("violations after reset %v; want none", v)
	}
}

// TestStrict_CleanRunViolatesNothing: a visit settled the way the real platform wants
// (2206 then 2207 with its amounts, new msgids) triggers no strict rule.
func TestStrict_CleanRunViolatesNothing(t *testing.T) {
	p, c := mustSim(t, nil)
	mdtrt, total := c.visitFlow(psnLocalEmployee, "310", "K1", line{codgCT, "1", "240"}, line{codgVisit, "1", "25"})
	s, msgid := c.settle(psnLocalEmployee, mdtrt, "K1", "11", "310", total, "1")
	c.ok("2601", platform.ReversalInput{Data: platform.ReversalData{PsnNo: psnLocalEmployee, Omsgid: msgid, Oinfno: "2207"}}, nil)
	s2, _ := c.settle(psnLocalEmployee, mdtrt, "K1", "11", "310", total, "1")
	c.ok("2208", platform.CancelSettleInput{Data: platform.CancelSettleData{SetlID: s2.SetlID, MdtrtID: mdtrt, PsnNo: psnLocalEmployee}}, nil)
	c.ok("2205", platform.CancelFeeInput{Data: platform.CancelFeeData{ChrgBchno: "K1", MdtrtID: mdtrt, PsnNo: psnLocalEmployee}}, nil)
	if v := p.Violations(); len(v) != 0 || s.SetlID == "" {
		t.Errorf("violations %v; want none", v)
	}
}

func TestStrict_FeedetlSnForever(t *testing.T) {
	_, c := mustSim(t, nil)
	mdtrt, _ := c.visitFlow(psnLocalEmployee, "310", "F1", line{codgVisit, "1", "25"})
	c.ok("2205", platform.CancelFeeInput{Data: platform.CancelFeeData{ChrgBchno: "F1", MdtrtID: mdtrt, PsnNo: psnLocalEmployee}}, nil)
	c.refused("2204", c.feeInput(psnLocalEmployee, mdtrt, "F1", line{codgVisit, "1", "25"}), "重复")
	dup := c.feeInput(psnLocalEmployee, mdtrt, "F2", line{codgVisit, "1", "25"}, line{codgAmox, "1", "0.35"})
	dup.Feedetail[1].FeedetlSn = dup.Feedetail[0].FeedetlSn
	c.refused("2204", dup, "重复")
}

func TestStrict_SessionExpires(t *testing.T) {
	p, c := mustSim(t, &Options{RequireSignIn: true})
	cl := realClient(t, c, platform.Options{})
	var si platform.SignInOutput
	if _, err := cl.Call(context.Background(), "9001", c.meta(), platform.SignInInput{SignIn: platform.SignInData{OpterNo: "W01"}}, &si); err != nil {
		t.Fatal(err)
	}
	cl.SetSignNo(si.Signinoutb.SignNo)
	q := platform.ChronicQueryInput{Data: platform.ChronicQueryData{PsnNo: psnChronic}}
	if _, err := cl.Call(context.Background(), "5301", c.meta(), q, &platform.ChronicQueryOutput{}); err != nil {
		t.Fatal(err)
	}
	if n := p.ExpireSessions(); n != 1 {
		t.Errorf("ExpireSessions = %d; want 1", n)
	}
	if _, err := cl.Call(context.Background(), "5301", c.meta(), q, &platform.ChronicQueryOutput{}); !errors.Is(err, platform.ErrSessionExpired) {
		t.Fatalf("after expiry: got %v; want ErrSessionExpired", err)
	}
	// Sign in again once and repeat the call.
	if _, err := cl.Call(context.Background(), "9001", c.meta(), platform.SignInInput{SignIn: platform.SignInData{OpterNo: "W01"}}, &si); err != nil {
		t.Fatal(err)
	}
	cl.SetSignNo(si.Signinoutb.SignNo)
	if _, err := cl.Call(context.Background(), "5301", c.meta(), q, &platform.ChronicQueryOutput{}); err != nil {
		t.Errorf("after signing in again: %v", err)
	}

	// Without RequireSignIn a sign_no the platform saw is expired all the same, over /sim/.
	p2, c2 := mustSim(t, nil)
	c2.signNo = "ANY-SIGN-NO"
	c2.ok("5301", q, nil)
	code, body := control(t, c2, http.MethodPost, "/sim/expire-sessions", "")
	if code != 200 || !strings.Contains(body, `"expired": 1`) {
		t.Fatalf("POST /sim/expire-sessions: %d %s", code, body)
	}
	c2.refused("5301", q, "重新签到")
	_ = p2
}

func TestStrict_BookedLate(t *testing.T) {
	p, c := mustSim(t, nil)
	cl := realClient(t, c, platform.Options{})
	ctx := context.Background()
	mdtrt, total := c.visitFlow(psnLocalEmployee, "310", "L1", line{codgVisit, "1", "25"})
	in := c.confirmInput(psnLocalEmployee, mdtrt, "L1", "11", "310", total, "1")

	p.HoldLate(true)
	p.SetFaults(Faults{LateRate: 1})
	first := c.meta()
	_, err := cl.Call(ctx, "2207", first, in, &platform.SettleOutput{})
	if platform.Classify(err) != platform.OutcomeUnknown {
		t.Fatalf("late 2207: got %v; want an unknown outcome (no answer)", err)
	}
	p.SetFaults(Faults{})
	if got := p.PendingLate(); len(got) != 1 || got[0] != first.Msgid {
		t.Fatalf("pending late %v; want [%s]", got, first.Msgid)
	}
	// The client's reversal finds nothing: not booked (yet).
	_, err = cl.Call(ctx, "2601", c.meta(), platform.ReversalInput{Data: platform.ReversalData{PsnNo: psnLocalEmployee, Omsgid: first.Msgid, Oinfno: "2207"}}, nil)
	if !errors.Is(err, platform.ErrOriginalNotFound) {
		t.Fatalf("2601 of the late 2207: got %v; want ErrOriginalNotFound", err)
	}
	// Then the booking lands after all.
	if n := p.ReleaseLate(); n != 1 {
		t.Fatalf("ReleaseLate = %d; want 1", n)
	}
	if n := p.Settled()["L1"]; n != 1 {
		t.Fatalf("L1 settled %d after the late booking; want 1", n)
	}
	// The repeat with a new msgid is refused "already settled"; 5203 names the msgid that booked.
	if _, err := cl.Call(ctx, "2207", c.meta(), in, &platform.SettleOutput{}); !errors.Is(err, platform.ErrAlreadySettled) {
		t.Fatalf("repeated 2207: got %v; want ErrAlreadySettled", err)
	}
	q, _, err := cl.QuerySettlement(ctx, c.meta(), platform.SettleQueryData{PsnNo: psnLocalEmployee, MdtrtID: mdtrt})
	if err != nil {
		t.Fatal(err)
	}
	if s, ok := q.ByMsgid(first.Msgid); !ok || len(q.Standing()) != 1 || s.SetlID == "" {
		t.Errorf("5203: %+v; want the late settlement, booked by %s", q.Setlinfo, first.Msgid)
	}

	// Without HoldLate a late booking lands after LateAfterCalls further calls.
	p.HoldLate(false)
	mdtrt2, total2 := c.visitFlow(psnLocalEmployee, "310", "L2", line{codgVisit, "1", "25"})
	in2 := c.confirmInput(psnLocalEmployee, mdtrt2, "L2", "11", "310", total2, "1")
	p.SetFaults(Faults{LateRate: 1, LateAfterCalls: 2})
	if _, err := cl.Call(ctx, "2207", c.meta(), in2, &platform.SettleOutput{}); platform.Classify(err) != platform.OutcomeUnknown {
		t.Fatalf("late 2207: got %v; want an unknown outcome", err)
	}
	p.SetFaults(Faults{LateAfterCalls: 2})
	for i := range 2 {
		if n := p.Settled()["L2"]; n != 0 {
			t.Fatalf("L2 settled after %d calls; want it to land after 2", i)
		}
		c.ok("5301", platform.ChronicQueryInput{Data: platform.ChronicQueryData{PsnNo: psnChronic}}, nil)
	}
	if n := p.Settled()["L2"]; n != 1 {
		t.Errorf("L2 settled %d after 2 calls; want 1", n)
	}
}

func TestStrict_HospitalShare(t *testing.T) {
	p, c := mustSim(t, nil)
	cl := realClient(t, c, platform.Options{})
	p.SetFaults(Faults{HospPartAmt: "5.00"})
	mdtrt, total := c.visitFlow(psnLocalEmployee, "310", "H1", line{codgCT, "1", "240"})
	in := c.confirmInput(psnLocalEmployee, mdtrt, "H1", "11", "310", total, "1")
	var out platform.SettleOutput
	resp, err := cl.Call(context.Background(), "2207", c.meta(), in, &out)
	if err != nil {
		t.Fatalf("2207 with a hospital share: %v; want a success", err)
	}
	s := out.Setlinfo
	if s.HospPartAmt.Money() != money("5.00") || s.FundPaySumamt+s.PsnPartAmt+s.HospPartAmt != s.MedfeeSumamt {
		t.Errorf("setlinfo %+v; want hosp_part_amt 5.00 and medfee = fund + psn_part + hosp_part", s)
	}
	if len(resp.Surprises) != 0 {
		t.Errorf("surprises %v; want none (the identity holds with the hospital's share)", resp.Surprises)
	}
	for _, e := range p.Ledger() {
		if e.Infno == "2207" && e.HospPartAmt != money("5.00") {
			t.Errorf("ledger %+v; want hosp_part_amt 5.00", e)
		}
	}
	if err := (Faults{HospPartAmt: "-1"}).Validate(); err == nil {
		t.Errorf("a negative hosp_part_amt validated")
	}
}

// TestStrict_SeededRunReplays: the simulator served in process (httptest, the Handler)
// with a seed and an injected clock answers a fixed sequence of calls identically on two
// runs, faults included.
func TestStrict_SeededRunReplays(t *testing.T) {
	run := func() []byte {
		clock := testNow
		p := New(DemoFixture(), &Options{Seed: 99, Now: func() time.Time { clock = clock.Add(time.Millisecond); return clock }})
		srv := httptest.NewServer(p.Handler())
		defer srv.Close()
		c := &simClient{tb: t, url: srv.URL, hc: srv.Client()}
		p.SetFaults(Faults{InfcodeMinus1Rate: 0.2, LoseResponseRate: 0.2, LateRate: 0.2, HTTP500Rate: 0.1})
		var log bytes.Buffer
		for i := range 30 {
			code, resp, err := c.post("2201", c.nextMsgid(), regInput(psnLocalEmployee))
			log.WriteString(strings.Repeat("-", i%2))
			if err != nil {
				log.WriteString("dropped\n")
				continue
			}
			raw, _ := json.Marshal(resp)
			log.WriteString(http.StatusText(code))
			log.Write(raw)
			log.WriteByte('\n')
		}
		p.ReleaseLate()
		ledger, _ := json.Marshal(p.Ledger())
		log.Write(ledger)
		return log.Bytes()
	}
	a, b := run(), run()
	if !bytes.Equal(a, b) {
		t.Errorf("two seeded runs differ:\n%s\n---\n%s", a, b)
	}
	if !bytes.Contains(a, []byte("dropped")) || !bytes.Contains(a, []byte(`"infcode":-1`)) {
		t.Errorf("the fault mix injected nothing: %s", a)
	}
}

// control sends one /sim/ request and returns the status and body.
func control(t *testing.T, c *simClient, method, path, body string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest(method, c.url+path, strings.NewReader(body))
	resp, err := c.hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var buf bytes.Buffer
	_, _ = buf.ReadFrom(resp.Body)
	return resp.StatusCode, buf.String()
}

func TestControl_Late(t *testing.T) {
	p, c := mustSim(t, nil)
	if code, body := control(t, c, http.MethodPut, "/sim/late", `{"hold": true}`); code != 200 || !strings.Contains(body, `"hold": true`) {
		t.Fatalf("PUT /sim/late = %d %s", code, body)
	}
	if code, body := control(t, c, http.MethodPut, "/sim/faults", `{"late_rate": 1, "late_after_calls": 3, "hosp_part_amt": "1.50"}`); code != 200 {
		t.Fatalf("PUT /sim/faults = %d %s", code, body)
	}
	if f := p.Faults(); f.LateRate != 1 || f.LateAfterCalls != 3 || f.HospPartAmt != "1.50" {
		t.Errorf("faults %+v", f)
	}
	for _, bad := range []string{`{"late_rate": 1.5}`, `{"late_after_calls": -1}`, `{"hosp_part_amt": "x"}`} {
		if code, body := control(t, c, http.MethodPut, "/sim/faults", bad); code != http.StatusBadRequest {
			t.Errorf("PUT /sim/faults %s = %d %s; want 400", bad, code, body)
		}
	}
	msgid := c.nextMsgid()
	if _, _, err := c.post("2201", msgid, regInput(psnLocalEmployee)); err == nil {
		t.Fatal("a late 2201 was answered; want no answer")
	}
	if code, body := control(t, c, http.MethodGet, "/sim/late", ""); code != 200 || !strings.Contains(body, msgid) {
		t.Errorf("GET /sim/late = %d %s; want %s pending", code, body, msgid)
	}
	if code, body := control(t, c, http.MethodPost, "/sim/late/release", ""); code != 200 || !strings.Contains(body, `"landed": 1`) {
		t.Errorf("POST /sim/late/release = %d %s", code, body)
	}
	if n := booked(p, "2201"); n != 1 {
		t.Errorf("2201 booked %d after release; want 1", n)
	}
}

// TestPaths_PerService: a client configured with a province's per-service path reaches
// the simulator all the same.
func TestPaths_PerService(t *testing.T) {
	_, c := mustSim(t, nil)
	cl := realClient(t, c, platform.Options{Paths: map[string]string{"5301": "/fsi/api/chronicService/query"}})
	if _, err := cl.Call(context.Background(), "5301", c.meta(), platform.ChronicQueryInput{Data: platform.ChronicQueryData{PsnNo: psnChronic}}, &platform.ChronicQueryOutput{}); err != nil {
		t.Fatal(err)
	}
}

// TestStrict_VisitNumberUnique: ipt_otp_no is the hospital's own visit number, unique:
// a second registration under it is refused while the first is open (find it with
// 5201), and allowed again once that one is cancelled (or settled). 5201 knows a visit's med_type only from
// 2203: before, it is general outpatient (11).
func TestStrict_VisitNumberUnique(t *testing.T) {
	p, c := mustSim(t, nil)
	cl := realClient(t, c, platform.Options{})
	reg := platform.RegisterInput{Data: platform.RegisterData{PsnNo: psnChronic, Insutype: "310", Begntime: "2026-11-23 09:00:00", IptOtpNo: "HIS-9"}}
	var out platform.RegisterOutput
	c.ok("2201", reg, &out)
	c.refused("2201", reg, "已挂号")
	if _, err := cl.Call(context.Background(), "2201", c.meta(), reg, &platform.RegisterOutput{}); !errors.Is(err, platform.ErrAlreadyRegistered) {
		t.Errorf("client: got %v; want ErrAlreadyRegistered", err)
	}
	if v := p.Violations()[RuleVisitRepeated]; v != 2 {
		t.Errorf("visit_repeated %d; want 2", v)
	}
	find := func(medType string) bool {
		t.Helper()
		vs, _, err := cl.QueryVisits(context.Background(), c.meta(), platform.VisitQueryData{PsnNo: psnChronic, MedType: medType})
		if err != nil {
			t.Fatal(err)
		}
		_, ok := vs.ByIptOtpNo("HIS-9")
		return ok
	}
	if !find("11") || find("14") {
		t.Errorf("before 2203: found as 11 %v, as 14 %v; want 11 only", find("11"), find("14"))
	}
	c.ok("2203", platform.VisitInfoInput{Mdtrtinfo: platform.VisitInfo{MdtrtID: out.Data.MdtrtID, PsnNo: psnChronic, MedType: "14", DiseCodg: "E11.900"}}, nil)
	if find("11") || !find("14") || !find("") {
		t.Errorf("after 2203 (14): found as 11 %v, as 14 %v, any %v; want 14 and any", find("11"), find("14"), find(""))
	}
	c.ok("2202", platform.CancelRegisterInput{Data: platform.CancelRegisterData{PsnNo: psnChronic, MdtrtID: out.Data.MdtrtID, IptOtpNo: "HIS-9"}}, nil)
	c.ok("2201", reg, nil)
}

// TestStrict_InsuredPlaceRoutes: a call about a person whose envelope names another
// insured place than the person's is refused (the platform routes by it); an empty one
// is not checked.
func TestStrict_InsuredPlaceRoutes(t *testing.T) {
	p, c := mustSim(t, nil)
	cl := realClient(t, c, platform.Options{})
	reg := platform.RegisterInput{Data: platform.RegisterData{PsnNo: psnShanghaiFiled, Insutype: "310", Begntime: "2026-11-23 09:00:00", IptOtpNo: "X1"}}
	m := c.meta()
	m.InsuplcAdmdvs = "330100" // the treatment area, not Shanghai
	if _, err := cl.Call(context.Background(), "2201", m, reg, &platform.RegisterOutput{}); err == nil || !strings.Contains(err.Error(), "insuplc_admdvs") {
		t.Fatalf("2201 with the wrong insured place: got %v; want a refusal naming insuplc_admdvs", err)
	}
	m = c.meta()
	m.InsuplcAdmdvs = "310000"
	var out platform.RegisterOutput
	if _, err := cl.Call(context.Background(), "2201", m, reg, &out); err != nil || out.Data.MdtrtID == "" {
		t.Fatalf("2201 with the patient's insured place: %v", err)
	}
	// psn_no inside a list (2204's feedetail) is found too.
	fees := c.feeInput(psnShanghaiFiled, out.Data.MdtrtID, "X1", line{codgVisit, "1", "25"})
	m = c.meta()
	m.InsuplcAdmdvs = "330100"
	if _, err := cl.Call(context.Background(), "2204", m, fees, &platform.FeeUploadOutput{}); err == nil {
		t.Errorf("2204 with the wrong insured place: got nil; want a refusal")
	}
	if v := p.Violations()[RuleInsuplcMismatch]; v != 2 {
		t.Errorf("insuplc_mismatch %d; want 2", v)
	}
}
