package main

import (
	"context"
	"fmt"
	"time"

	settle "github.com/settle-agent/settle-agent"
)

// The demo's inpatients (住院): one admitted, charged on two days, discharged and
// settled online; one admitted and charged online, then discharged and settled while
// the network is down (the settlement waits in the queue, the deposit covers the
// patient) and synced when it returns.

// stayWindow is the inpatient cashier (住院处) of the demo.
const stayWindow = "W02"

// stayDemo is one inpatient of the story.
type stayDemo struct {
	ipt    string
	psn    string
	cardNo string
}

func (d *demo) stayPatient(psnNo string) (stayDemo, error) {
	p, ok := d.sim.Fixture().Person(psnNo)
	if !ok {
		return stayDemo{}, fmt.Errorf("no demo person %s", psnNo)
	}
	d.stayNo++
	return stayDemo{ipt: fmt.Sprintf("ZY%s%03d", time.Now().Format("20060102"), d.stayNo), psn: psnNo, cardNo: p.CardNo}, nil
}

// admit posts the admission (2401), admitted days ago.
func (d *demo) admit(s stayDemo, admitted time.Time) error {
	body, err := d.mustCall("POST", "/v1/stays", tokenOf(stayWindow), map[string]any{
		"ipt_no": s.ipt, "window": stayWindow,
		"patient": map[string]any{"mdtrt_cert_type": "03", "mdtrt_cert_no": s.cardNo},
		"dept":    map[string]any{"code": "0301", "name": "内科"}, "doctor": map[string]any{"code": "D0042", "name": "王医生"},
		"bed": "12-03", "diagnoses": []any{map[string]any{"code": "J18.900", "name": "肺炎"}},
		"admitted_at": admitted.Format(time.RFC3339),
	}, 201)
	if err != nil {
		return err
	}
	d.say("    stay %s admitted (2401): mdtrt_id %s, bed 12-03", s.ipt, str(body, "mdtrt_id"))
	return nil
}

// dayFees posts one day's charges (2301): a bed day, nursing, saline.
func (d *demo) dayFees(s stayDemo, batch string, at time.Time, saline string) error {
	ts := at.Format(time.RFC3339)
	q, err := settle.ParseQty(saline)
	if err != nil {
		return err
	}
	amount := settle.LineAmount(q, settle.Price(3_500_000)).String() // 3.50 a bag
	body, err := d.mustCall("POST", "/v1/stays/"+s.ipt+"/fees", tokenOf(stayWindow), map[string]any{"batch_no": batch, "items": []any{
		map[string]any{"line": 1, "his_code": "CW0001", "name": "普通病房床位费", "qty": "1", "unit_price": "50.00", "amount": "50.00", "occurred_at": ts},
		map[string]any{"line": 2, "his_code": "HL0001", "name": "一级护理", "qty": "1", "unit_price": "30.00", "amount": "30.00", "occurred_at": ts},
		map[string]any{"line": 3, "his_code": "YP0009", "name": "氯化钠注射液", "qty": saline, "unit_price": "3.50", "amount": amount, "occurred_at": ts},
	}}, 201)
	if err != nil {
		return err
	}
	d.say("    fees of %s (batch %s, 2301): ¥%s, the stay's total so far ¥%s", at.Format("01-02"), batch, str(body, "batch", "total"), str(body, "total"))
	return nil
}

func (d *demo) dischargeStay(s stayDemo, want int) (map[string]any, error) {
	return d.mustCall("POST", "/v1/stays/"+s.ipt+"/discharge", tokenOf(stayWindow), map[string]any{
		"discharged_at": time.Now().Format(time.RFC3339), "diagnoses": []any{map[string]any{"code": "J18.900", "name": "肺炎"}}, "dscg_way": "1",
	}, want)
}

// inpatient is the online stay, and the admission of the one the outage will discharge.
func (d *demo) inpatient(ctx context.Context) error {
	d.headline("An inpatient (住院): admitted, charged on two days, discharged and settled at the inpatient desk " + stayWindow)
	s, err := d.stayPatient(psnLocalEmployee)
	if err != nil {
		return err
	}
	admitted := time.Now().Add(-50 * time.Hour)
	if err := d.admit(s, admitted); err != nil {
		return err
	}
	if err := d.dayFees(s, "D1", admitted.Add(9*time.Hour), "200"); err != nil {
		return err
	}
	if err := d.dayFees(s, "D2", admitted.Add(33*time.Hour), "100"); err != nil {
		return err
	}
	if _, err := d.dischargeStay(s, 200); err != nil {
		return err
	}
	d.say("    discharged (2402)")
	pre, err := d.mustCall("POST", "/v1/stays/"+s.ipt+"/presettle", tokenOf(stayWindow), map[string]any{"acct_used_flag": "1"}, 200)
	if err != nil {
		return err
	}
	d.say("    pre-settlement (2303): total ¥%s, deductible per admission ¥%s, fund ¥%s, account ¥%s, cash ¥%s",
		str(pre, "split", "medfee_sumamt"), str(pre, "split", "act_pay_dedc"), str(pre, "fund_pay_sumamt"), str(pre, "acct_pay"), str(pre, "psn_cash_pay"))
	body, err := d.mustCall("POST", "/v1/stays/"+s.ipt+"/settle", tokenOf(stayWindow), map[string]any{"acct_used_flag": "1", "psn_setlway": "01"}, 200)
	if err != nil {
		return err
	}
	d.say("    settled (2304, clr_type %s): setl_id %s, fund ¥%s, account ¥%s, cash ¥%s",
		str(body, "settlement", "clr_type"), str(body, "settlement", "setl_id"), str(body, "settlement", "fund_pay_sumamt"),
		str(body, "settlement", "acct_pay"), str(body, "settlement", "psn_cash_pay"))
	d.stays[s.ipt] = "settled"

	d.headline("A second inpatient (Shanghai, filed 已备案) is admitted and charged; the outage will come before the discharge")
	s2, err := d.stayPatient(psnShanghaiFiled)
	if err != nil {
		return err
	}
	if err := d.admit(s2, admitted); err != nil {
		return err
	}
	if err := d.dayFees(s2, "D1", admitted.Add(9*time.Hour), "600"); err != nil {
		return err
	}
	d.outageStay = &s2
	return nil
}

// inpatientOffline discharges and settles the second inpatient while the platform is
// down: both wait in the queue, in order; the deposit (押金) covers the patient.
func (d *demo) inpatientOffline(ctx context.Context) error {
	s := d.outageStay
	if s == nil {
		return nil
	}
	if _, err := d.dischargeStay(*s, 202); err != nil {
		return err
	}
	body, err := d.mustCall("POST", "/v1/stays/"+s.ipt+"/settle", tokenOf(stayWindow), map[string]any{"acct_used_flag": "0"}, 202)
	if err != nil {
		return err
	}
	d.say("    inpatient %s discharged and settled at %s while offline: HTTP 202 %s ([offline] inpatient = defer: the deposit stays with the hospital)",
		s.ipt, stayWindow, str(body, "state"))
	d.stays[s.ipt] = "settled"
	return nil
}

// inpatientSynced waits for the deferred discharge settlement to reach the platform.
func (d *demo) inpatientSynced(ctx context.Context) error {
	s := d.outageStay
	if s == nil {
		return nil
	}
	if err := d.waitFor(ctx, "the deferred inpatient settlement to sync", func() bool {
		_, b, err := d.call("GET", "/v1/stays/"+s.ipt, demoAdminToken, nil)
		return err == nil && str(b, "state") == "settled"
	}); err != nil {
		return err
	}
	_, b, _ := d.call("GET", "/v1/stays/"+s.ipt, demoAdminToken, nil)
	d.say("    inpatient %s settled from the queue (setl_id %s): the patient's own share ¥%s comes out of the deposit",
		s.ipt, str(b, "settlement", "setl_id"), str(b, "settlement", "psn_cash_pay"))
	return nil
}

// verifyStays checks every stay of the story against the simulator's ledger: settled
// ones hold exactly one final settlement.
func (d *demo) verifyStays() []error {
	settled := d.sim.SettledStays()
	var problems []error
	for ipt, want := range d.stays {
		_, body, err := d.call("GET", "/v1/stays/"+ipt, demoAdminToken, nil)
		if err != nil {
			problems = append(problems, err)
			continue
		}
		if got := str(body, "state"); got != want || settled[ipt] != 1 {
			problems = append(problems, fmt.Errorf("stay %s: state %s with %d final settlements at the platform; want %s with exactly 1", ipt, got, settled[ipt], want))
		}
	}
	return problems
}
