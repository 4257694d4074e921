package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	settle "github.com/settle-agent/settle-agent"
	"github.com/settle-agent/settle-agent/ecvoucher"
	"github.com/settle-agent/settle-agent/hisadapter"
	"github.com/settle-agent/settle-agent/platform/sim"
)

// The demo's patients, from the simulator's demo fixture (platform/sim/fixture/demo.json).
const (
	psnLocalEmployee = "33010000000000000001" // 张伟, Hangzhou employee
	psnShanghaiFiled = "31000000000000000003" // 王强, Shanghai employee, filed for treatment here
	psnUnfiled       = "32010000000000000004" // 刘芳, Nanjing, not filed
	psnChronic       = "33010000000000000006" // 陈秀英, hypertension and diabetes
	psnResident      = "33010000000000000002" // 李娜, Hangzhou resident
)

var demoClient = &http.Client{Timeout: 70 * time.Second}

// call is the cashier software talking to the agent.
func (d *demo) call(method, path, token string, body any) (int, map[string]any, error) {
	var rd io.Reader
	if body != nil {
		data, err := json.Marshal(body)
		if err != nil {
			return 0, nil, err
		}
		rd = bytes.NewReader(data)
	}
	req, err := http.NewRequest(method, d.url+path, rd)
	if err != nil {
		return 0, nil, err
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := demoClient.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	var m map[string]any
	if len(data) > 0 && data[0] == '{' {
		if err := json.Unmarshal(data, &m); err != nil {
			return resp.StatusCode, nil, fmt.Errorf("%s %s: %v", method, path, err)
		}
	}
	return resp.StatusCode, m, nil
}

func (d *demo) mustCall(method, path, token string, body any, want ...int) (map[string]any, error) {
	st, m, err := d.call(method, path, token, body)
	if err != nil {
		return nil, err
	}
	for _, w := range want {
		if st == w {
			return m, nil
		}
	}
	return m, fmt.Errorf("%s %s: got HTTP %d %v; want %v", method, path, st, m, want)
}

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

func tokenOf(window string) string {
	for _, w := range demoWindows {
		if w.id == window {
			return w.token
		}
	}
	return ""
}

// swipe inserts the person's card in the window's simulated reader and collects the
// read through the cashier API's long poll.
func (d *demo) swipe(ctx context.Context, window, psnNo string) (settle.Patient, error) {
	fx := d.sim.Fixture()
	p, ok := fx.Person(psnNo)
	if !ok {
		return settle.Patient{}, fmt.Errorf("no demo person %s", psnNo)
	}
	var card settle.Card
	for _, c := range fx.Cards() {
		if c.CardNo == p.CardNo {
			card = c
		}
	}
	r := d.reader(window)
	if r == nil {
		return settle.Patient{}, fmt.Errorf("window %s has no reader", window)
	}
	if err := r.Insert(card); err != nil {
		return settle.Patient{}, err
	}
	defer func() { _ = r.Remove() }()
	body, err := d.mustCall("GET", "/v1/windows/"+window+"/card?wait=10s", tokenOf(window), nil, 200)
	if err != nil {
		return settle.Patient{}, err
	}
	d.say("    card read at %s: card %s, social security no. %s → %s (%s insured in %s, source: %s)",
		window, str(body, "card", "card_no"), str(body, "card", "ssn"), settle.MaskName(str(body, "person", "psn_name")),
		insutypeName(body), insuplc(body), str(body, "source"))
	return card.Patient(), nil
}

// scanEVoucher has the window's scanner read the person's e-voucher QR code: first a
// stale one (the window is asked for a fresh code), then a fresh one, which the agent
// decodes with the e-voucher service into the ecToken for 1101.
func (d *demo) scanEVoucher(ctx context.Context, window, psnNo string) (settle.Patient, error) {
	p, ok := d.sim.Fixture().Person(psnNo)
	if !ok || p.ECToken == "" {
		return settle.Patient{}, fmt.Errorf("no demo person %s with an e-voucher", psnNo)
	}
	sc := d.scanner(window)
	if sc == nil {
		return settle.Patient{}, fmt.Errorf("window %s has no scanner", window)
	}
	stale := ecvoucher.Code(p.ECToken, time.Now().Add(-time.Hour))
	if err := sc.ScanCode(stale); err != nil {
		return settle.Patient{}, err
	}
	body, err := d.mustCall("GET", "/v1/windows/"+window+"/card?wait=10s", tokenOf(window), nil, 422)
	if err != nil {
		return settle.Patient{}, err
	}
	d.say("    a code shown an hour ago: HTTP 422 %s — %s", str(body, "error", "details", "reason"), str(body, "error", "message"))
	fresh := ecvoucher.Code(p.ECToken, time.Now())
	if err := sc.ScanCode(fresh); err != nil {
		return settle.Patient{}, err
	}
	body, err = d.mustCall("GET", "/v1/windows/"+window+"/card?wait=10s", tokenOf(window), nil, 200)
	if err != nil {
		return settle.Patient{}, err
	}
	d.say("    fresh code %s… decoded by ec.query → ecToken %s → 1101 (mdtrt_cert_type 01): %s (%s insured in %s, carrier %s)",
		fresh[:min(len(fresh), 14)], str(body, "card", "card_no"), settle.MaskName(str(body, "person", "psn_name")),
		insutypeName(body), insuplc(body), str(body, "carrier"))
	return settle.Patient{MdtrtCertType: settle.CertEVoucher, MdtrtCertNo: str(body, "card", "card_no"),
		PsnName: str(body, "card", "name"), PsnCertType: str(body, "card", "psn_cert_type"), Certno: p.Certno}, nil
}

func insutypeName(body map[string]any) string {
	ins, _ := body["person"].(map[string]any)["insuinfo"].([]any)
	if len(ins) == 0 {
		return "?"
	}
	switch ins[0].(map[string]any)["insutype"] {
	case "310":
		return "employee"
	case "390":
		return "resident"
	}
	return "?"
}

func insuplc(body map[string]any) string {
	ins, _ := body["person"].(map[string]any)["insuinfo"].([]any)
	if len(ins) == 0 {
		return "?"
	}
	s, _ := ins[0].(map[string]any)["insuplc_admdvs"].(string)
	return s
}

var demoBillSeq int

// bill is what the HIS sends for a visit: items by HIS code with the catalogue's prices.
func (d *demo) bill(window string, pt settle.Patient, medType string, diag settle.Code, lines ...any) settle.Bill {
	demoBillSeq++
	prices := map[string]sim.CatalogueItem{}
	for _, it := range d.sim.Fixture().Catalogue() {
		prices[it.MedinsListCodg] = it
	}
	b := settle.Bill{
		BillNo: fmt.Sprintf("MZ%s%04d", time.Now().Format("20060102"), demoBillSeq), Window: window,
		Patient: pt, MedType: medType, Dept: settle.Code{Code: "0301", Name: "内科"},
		Doctor: settle.Code{Code: "D0042", Name: "王医生"}, Diagnoses: []settle.Code{diag}, CreatedAt: time.Now(),
	}
	for i := 0; i+1 < len(lines); i += 2 {
		code, qty := lines[i].(string), lines[i+1].(string)
		c := prices[code]
		q, _ := settle.ParseQty(qty)
		it := settle.Item{Line: len(b.Items) + 1, HISCode: code, Name: c.Name, Qty: q, UnitPrice: c.Price, Amount: settle.LineAmount(q, c.Price)}
		b.Items = append(b.Items, it)
		b.Total += it.Amount
	}
	return b
}

func (d *demo) presettle(b settle.Bill) (map[string]any, error) {
	body, err := d.mustCall("POST", "/v1/bills", tokenOf(b.Window), b, 201)
	if err != nil {
		return nil, err
	}
	items := fmt.Sprintf("%d item%s", len(b.Items), plural(len(b.Items)))
	if body["estimate"] == true {
		d.say("    bill %s: %s, total ¥%s → local ESTIMATE (offline, for information only): fund ≈¥%s, account ≈¥%s, cash ≈¥%s",
			b.BillNo, items, b.Total, str(body, "split", "fund_pay_sumamt"), str(body, "split", "acct_pay"), str(body, "split", "psn_cash_pay"))
		return body, nil
	}
	d.say("    bill %s: %s, total ¥%s → platform pre-settlement (2206): fund ¥%s, account ¥%s, cash ¥%s",
		b.BillNo, items, b.Total, str(body, "split", "fund_pay_sumamt"), str(body, "split", "acct_pay"), str(body, "split", "psn_cash_pay"))
	return body, nil
}

func (d *demo) settle(b settle.Bill) (map[string]any, error) {
	st, body, err := d.call("POST", "/v1/bills/"+b.BillNo+"/settle", tokenOf(b.Window), map[string]string{"acct_used_flag": "1", "psn_setlway": "01"})
	if err != nil {
		return nil, err
	}
	switch st {
	case 200:
		d.say("    settled (2207): setl_id %s — fund ¥%s, account ¥%s, patient pays ¥%s cash",
			str(body, "settlement", "setl_id"), str(body, "settlement", "fund_pay_sumamt"), str(body, "settlement", "acct_pay"), str(body, "settlement", "psn_cash_pay"))
		d.expect[b.BillNo] = "settled"
	case 202:
		d.say("    QUEUED durably (the platform is unreachable). Offline policy \"full\": the patient pays the whole bill, ¥%s, now —\n"+
			"      not the estimate's cash share; once it settles, the cashier office refunds the difference (or collects what is due)", str(body, "collect_now"))
		d.expect[b.BillNo] = "settled"
	default:
		return body, fmt.Errorf("settle %s: HTTP %d %v", b.BillNo, st, body)
	}
	return body, nil
}

// waiting shows a bill from the HIS as the agent left it: pre-settled, waiting for
// the cashier, who settles it at the window with the patient there.
func (d *demo) waiting(no, window string) error {
	body, err := d.mustCall("GET", "/v1/bills/"+no, tokenOf(window), nil, 200)
	if err != nil {
		return err
	}
	if st := str(body, "state"); st != "presettled" {
		return fmt.Errorf("bill %s from the HIS: state %s; want presettled", no, st)
	}
	d.say("    the agent pre-settled it (2206): fund ¥%s, account ¥%s, cash ¥%s — it waits for the cashier at %s (status page: 待窗口结算)",
		str(body, "split", "fund_pay_sumamt"), str(body, "split", "acct_pay"), str(body, "split", "psn_cash_pay"), window)
	d.say("    the cashier settles it at %s with the patient there:", window)
	return nil
}

// story is the day at the hospital, step by step.
func (d *demo) story(ctx context.Context) error {
	if err := d.gmStory(ctx); err != nil {
		return err
	}
	d.headline("A local employee (Hangzhou) swipes the social security card at window W01")
	pt, err := d.swipe(ctx, "W01", psnLocalEmployee)
	if err != nil {
		return err
	}
	b1 := d.bill("W01", pt, settle.MedTypeOutpatient, settle.Code{Code: "J06.900", Name: "急性上呼吸道感染"}, "ZL0001", "1", "JY0001", "1", "JC0001", "1", "YP0001", "24", "YP0007", "1")
	if _, err := d.presettle(b1); err != nil {
		return err
	}
	if _, err := d.settle(b1); err != nil {
		return err
	}

	d.headline("A resident shows the medical-insurance e-voucher QR code (医保电子凭证) at window W01's scanner")
	ptEC, err := d.scanEVoucher(ctx, "W01", psnResident)
	if err != nil {
		return err
	}
	bEC := d.bill("W01", ptEC, settle.MedTypeOutpatient, settle.Code{Code: "J06.900", Name: "急性上呼吸道感染"}, "ZL0001", "1", "YP0001", "12")
	if _, err := d.presettle(bEC); err != nil {
		return err
	}
	if _, err := d.settle(bEC); err != nil {
		return err
	}

	d.headline("A cross-region patient from Shanghai (filed, 已备案) at window W02: 就医地目录, 参保地政策")
	pt2, err := d.swipe(ctx, "W02", psnShanghaiFiled)
	if err != nil {
		return err
	}
	b2 := d.bill("W02", pt2, settle.MedTypeOutpatient, settle.Code{Code: "I10.x00", Name: "高血压"}, "ZL0002", "1", "JC0001", "1", "JC0002", "1", "YP0003", "28", "YP0005", "1")
	if _, err := d.presettle(b2); err != nil {
		return err
	}
	if _, err := d.settle(b2); err != nil {
		return err
	}

	d.headline("A chronic-disease patient (门诊慢特病, med_type 14: hypertension), qualification checked with 5301")
	pt3, err := d.swipe(ctx, "W01", psnChronic)
	if err != nil {
		return err
	}
	b3 := d.bill("W01", pt3, settle.MedTypeChronic, settle.Code{Code: "I10.x00", Name: "高血压"}, "ZL0001", "1", "JY0003", "1", "JC0002", "1", "YP0002", "60", "YP0003", "30", "YP0005", "1")
	if _, err := d.presettle(b3); err != nil {
		return err
	}
	if _, err := d.settle(b3); err != nil {
		return err
	}

	d.headline("A cross-region patient who never filed (未备案): the platform refuses, the cashier sees why")
	pt4, err := d.swipe(ctx, "W02", psnUnfiled)
	if err != nil {
		return err
	}
	b4 := d.bill("W02", pt4, settle.MedTypeOutpatient, settle.Code{Code: "J06.900", Name: "急性上呼吸道感染"}, "ZL0001", "1")
	st, body, err := d.call("POST", "/v1/bills", tokenOf("W02"), b4)
	if err != nil {
		return err
	}
	if st != 422 {
		return fmt.Errorf("unfiled patient: got HTTP %d %v; want 422", st, body)
	}
	d.say("    refused (HTTP 422): %q — the patient pays as self-pay or files first", str(body, "error", "message"))
	d.expect[b4.BillNo] = "failed"

	d.headline("A settled bill is cancelled at the window (2208)")
	b5 := d.bill("W01", pt, settle.MedTypeOutpatient, settle.Code{Code: "J06.900", Name: "急性上呼吸道感染"}, "JY0002", "1")
	if _, err := d.presettle(b5); err != nil {
		return err
	}
	if _, err := d.settle(b5); err != nil {
		return err
	}
	if _, err := d.mustCall("POST", "/v1/bills/"+b5.BillNo+"/cancel", tokenOf("W01"), nil, 200); err != nil {
		return err
	}
	d.say("    bill %s cancelled at the platform", b5.BillNo)
	d.expect[b5.BillNo] = "cancelled"

	if err := d.hisInputs(ctx); err != nil {
		return err
	}
	if err := d.inpatient(ctx); err != nil {
		return err
	}
	return d.outage(ctx)
}

// hisInputs shows a bill arriving over HL7 v2/MLLP and one through the drop folder.
func (d *demo) hisInputs(ctx context.Context) error {
	d.headline("The HIS integration engine sends a bill as HL7 v2 DFT^P03 over MLLP")
	no := fmt.Sprintf("MZ%s%04d", time.Now().Format("20060102"), 900+demoBillSeq)
	msg := strings.Join([]string{
		"MSH|^~\\&|HIS|DEMO|SETTLE|DEMO|" + time.Now().Format("20060102150405") + "||DFT^P03^DFT_P03|CTRL" + no + "|P|2.5|||||CHN|UNICODE UTF-8",
		"EVN|P03|" + time.Now().Format("20060102150405"),
		"PID|1||P0002||李^娜",
		"PV1|1|O|W02^^^DEMO||||D0042^王^医生|||||||||||11|" + no,
		"DG1|1||J06.900^急性上呼吸道感染^ICD10",
		"IN1|1|390||||||||||||||||||||||||||||||||||03^A33010002",
		"FT1|1|||" + time.Now().Format("20060102150405") + "||CG|ZL0001^普通门诊诊查费|||1|25.00|25.00|0301^内科",
		"FT1|2|||" + time.Now().Format("20060102150405") + "||CG|YP0006^对乙酰氨基酚片|||10|1.20|0.12|0301^内科",
	}, "\r") + "\r"
	conn, err := net.DialTimeout("tcp", d.agent.HL7Addr(), 5*time.Second)
	if err != nil {
		return err
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(20 * time.Second))
	if _, err := conn.Write(hisadapter.Frame([]byte(msg))); err != nil {
		return err
	}
	ack, err := bufio.NewReader(conn).ReadString(0x1c)
	if err != nil {
		return fmt.Errorf("read ACK: %w", err)
	}
	msa := ""
	for _, seg := range strings.Split(strings.Trim(ack, "\x0b\x1c\r"), "\r") {
		if strings.HasPrefix(seg, "MSA|") {
			msa = seg
		}
	}
	d.say("    ACK: %s (the bill is stored before AA is sent)", msa)
	if !strings.HasPrefix(msa, "MSA|AA|") {
		return fmt.Errorf("HL7 bill not accepted: %q", ack)
	}
	if err := d.waiting(no, "W02"); err != nil {
		return err
	}
	if _, err := d.settle(settle.Bill{BillNo: no, Window: "W02"}); err != nil {
		return err
	}

	d.headline("An older HIS exports a CSV file into the drop folder")
	dno := fmt.Sprintf("MZ%s%04d", time.Now().Format("20060102"), 950+demoBillSeq)
	csv := "bill_no,window,mdtrt_cert_type,mdtrt_cert_no,med_type,diagnosis_code,line,his_code,name,qty,unit_price,amount\n" +
		dno + ",W01,03,A33010001,11,J06.900,1,ZL0001,普通门诊诊查费,1,25.00,25.00\n" +
		dno + ",W01,03,A33010001,11,J06.900,2,YP0008,奥美拉唑肠溶胶囊,14,0.95,13.30\n"
	drop := filepath.Join(d.dir, "drop")
	tmp := filepath.Join(drop, dno+".csv.tmp")
	if err := os.WriteFile(tmp, []byte(csv), 0o600); err != nil {
		return err
	}
	if err := os.Rename(tmp, filepath.Join(drop, dno+".csv")); err != nil {
		return err
	}
	if err := d.waitFor(ctx, "the CSV file to reach done/", func() bool {
		_, err := os.Stat(filepath.Join(drop, "done", dno+".csv"))
		return err == nil
	}); err != nil {
		return err
	}
	d.say("    %s.csv taken and moved to done/", dno)
	if err := d.waiting(dno, "W01"); err != nil {
		return err
	}
	if _, err := d.settle(settle.Bill{BillNo: dno, Window: "W01"}); err != nil {
		return err
	}
	return nil
}

// outage cuts the network, keeps the windows working, and syncs when it returns.
func (d *demo) outage(ctx context.Context) error {
	d.headline("The network to the provincial platform is cut (fibre cut, 金保 line down)")
	d.sim.SetFaults(sim.Faults{Down: true})
	d.say("    the windows keep serving patients:")
	var queued []string
	for _, v := range []struct {
		window, psn string
		lines       []any
	}{
		{"W01", psnLocalEmployee, []any{"ZL0001", "1", "YP0001", "24"}},
		{"W02", psnResident, []any{"ZL0001", "1", "JY0001", "1"}},
		{"W01", psnShanghaiFiled, []any{"ZL0002", "1", "YP0003", "28", "JY0003", "1"}},
	} {
		pt, err := d.swipe(ctx, v.window, v.psn)
		if err != nil {
			return err
		}
		b := d.bill(v.window, pt, settle.MedTypeOutpatient, settle.Code{Code: "J06.900", Name: "急性上呼吸道感染"}, v.lines...)
		if _, err := d.presettle(b); err != nil {
			return err
		}
		if _, err := d.settle(b); err != nil {
			return err
		}
		queued = append(queued, b.BillNo)
	}
	if err := d.inpatientOffline(ctx); err != nil {
		return err
	}
	_, status, err := d.call("GET", "/v1/status", demoAdminToken, nil)
	if err != nil {
		return err
	}
	q, _ := status["queue"].(map[string]any)
	bills, _ := status["bills"].(map[string]any)
	stays, _ := status["stays"].(map[string]any)
	d.say("    status: online=%v, %v bills and %v inpatient step(s) queued, oldest %.0f s — see %s/",
		status["online"], bills["queued"], stays["queued_ops"], q["oldest_age_s"], d.url)

	d.headline("The network comes back: the agent notices, syncs the queue, and settles each bill exactly once")
	d.sim.SetFaults(sim.Faults{})
	if err := d.waitFor(ctx, "the queue to drain", func() bool {
		for _, no := range queued {
			_, b, err := d.call("GET", "/v1/bills/"+no, demoAdminToken, nil)
			if err != nil || str(b, "state") != "settled" {
				return false
			}
		}
		return true
	}); err != nil {
		return err
	}
	if err := d.inpatientSynced(ctx); err != nil {
		return err
	}
	for _, no := range queued {
		_, b, _ := d.call("GET", "/v1/bills/"+no, demoAdminToken, nil)
		diff, _ := b["difference"].(map[string]any)
		d.say("    %s settled (setl_id %s): collected ¥%s, real cash share ¥%s → refund ¥%s, amount due ¥%s",
			no, str(b, "settlement", "setl_id"), str(diff, "collected"), str(diff, "psn_cash_pay"), str(diff, "refund"), str(diff, "amount_due"))
	}

	d.headline("Daily reconciliation with the platform (3201 totals, 3202 details when they differ)")
	day := settle.Day(time.Now())
	rep, err := d.mustCall("GET", "/v1/reconciliation?date="+day, demoAdminToken, nil, 200)
	if err != nil {
		return err
	}
	totals, _ := rep["totals"].([]any)
	for _, t := range totals {
		m := t.(map[string]any)
		d.say("    insutype %s, clr_type %s: %v settlements, total ¥%s, fund ¥%s, account ¥%s → platform says %q",
			m["insutype"], m["clr_type"], m["fixmedins_setl_cnt"], m["medfee_sumamt"], m["fund_pay_sumamt"], m["acct_pay"], m["stmt_rslt_dscr"])
	}
	diffs, _ := rep["differences"].([]any)
	offlineBills, deposits := 0, 0
	for _, x := range diffs {
		if m, _ := x.(map[string]any); m["deposit"] == true {
			deposits++
		} else {
			offlineBills++
		}
	}
	d.say("    %d offline bill(s) and %d inpatient stay(s) against the deposit listed for the cashier office (refunds/amounts due); CSV at /v1/reconciliation?date=%s&format=csv",
		offlineBills, deposits, day)
	if rep["clean"] != true {
		return fmt.Errorf("reconciliation is not clean: %v", rep)
	}
	d.say("    reconciliation clean ✓")
	return nil
}
