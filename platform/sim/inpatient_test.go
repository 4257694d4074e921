package sim

import (
	"fmt"
	"testing"

	settle "github.com/settle-agent/settle-agent"
	"github.com/settle-agent/settle-agent/platform"
)

// Inpatient catalogue codes of the demo fixture.
const (
	codgBed     = "110900001000000"         // 甲 普通病房床位费 50.00, ceiling 50.00
	codgNursing = "120100002000000"         // 甲 一级护理 30.00
	codgSaline  = "XB05BBA010B001010100009" // 甲 氯化钠注射液 3.50
	codgThymo   = "XL03AXT010B002010100011" // 丙 注射用胸腺法新 650.00
)

const admitTime = "2026-11-20 09:00:00"

func admitInput(psn, insutype, ipt string) platform.AdmissionInput {
	return platform.AdmissionInput{
		Mdtrtinfo: platform.AdmissionInfo{
			PsnNo: psn, Insutype: insutype, MedType: "21", IptNo: ipt, Medrcdno: ipt,
			AtddrNo: "D0042", ChfpdrName: "王医生", AdmDiagDscr: "肺炎", AdmDeptCodg: "0301", AdmDeptName: "内科",
			AdmBed: "12-03", DiseCodg: "J18.900", DiseName: "肺炎", Begntime: admitTime,
		},
		Diseinfo: []platform.DiseInfo{{DiagType: "1", DiagSrtNo: 1, DiagCode: "J18.900", DiagName: "肺炎", ValiFlag: "1"}},
	}
}

// admit runs 2401 and returns the mdtrt_id and the msgid.
func (c *simClient) admit(psn, insutype, ipt string) (string, string) {
	c.tb.Helper()
	var out platform.AdmissionOutput
	msgid := c.ok("2401", admitInput(psn, insutype, ipt), &out)
	if err := out.Validate(); err != nil || out.Result.IptOtpNo != ipt || out.Result.PsnNo != psn {
		c.tb.Fatalf("2401 answer %+v (%v); want a mdtrt_id for %s", out, err, ipt)
	}
	return out.Result.MdtrtID, msgid
}

func ipFeeInput(tb testing.TB, psn, mdtrt, batch, at string, lines ...line) (platform.InpatientFeeInput, settle.Money) {
	var in platform.InpatientFeeInput
	var total settle.Money
	for i, l := range lines {
		q, pr := mustQty(tb, l.cnt), mustPrice(tb, l.pric)
		amt := settle.LineAmount(q, pr)
		total += amt
		in.Feedetail = append(in.Feedetail, platform.FeeDetail{
			FeedetlSn: fmt.Sprintf("%s-%d", batch, i+1), MdtrtID: mdtrt, PsnNo: psn, ChrgBchno: batch,
			FeeOcurTime: at, MedListCodg: l.codg,
			DetItemFeeSumamt: platform.AmountOf(amt), Cnt: platform.CntOf(q), Pric: platform.PricOf(pr),
		})
	}
	return in, total
}

func (c *simClient) ipFees(psn, mdtrt, batch, at string, lines ...line) settle.Money {
	c.tb.Helper()
	in, total := ipFeeInput(c.tb, psn, mdtrt, batch, at, lines...)
	var out platform.InpatientFeeOutput
	c.ok("2301", in, &out)
	if err := out.Validate(); err != nil || len(out.Result) != len(lines) {
		c.tb.Fatalf("2301 answer %+v (%v); want %d lines", out, err, len(lines))
	}
	return total
}

func dischargeInput(psn, mdtrt, endtime string) platform.DischargeInput {
	return platform.DischargeInput{Dscginfo: platform.DischargeInfo{
		MdtrtID: mdtrt, PsnNo: psn, Endtime: endtime, DiseCodg: "J18.900", DiseName: "肺炎", DscgWay: "1",
		DscgDeptCodg: "0301", DscgDeptName: "内科",
	}}
}

func preInput(psn, mdtrt, insutype, mid, acct string, total settle.Money) platform.InpatientPreSettleInput {
	return platform.InpatientPreSettleInput{Data: platform.InpatientPreSettleData{
		PsnNo: psn, MedfeeSumamt: platform.AmountOf(total), PsnSetlway: "01", MdtrtID: mdtrt,
		Insutype: insutype, MidSetlFlag: mid, AcctUsedFlag: acct,
	}}
}

// ipSettle runs 2303 then 2304 with the pre-settlement's amounts; it returns the split
// and the 2304 msgid.
func (c *simClient) ipSettle(psn, mdtrt, insutype, mid, acct string, total settle.Money) (settle.Split, string) {
	c.tb.Helper()
	var pre platform.InpatientSettleOutput
	c.ok("2303", preInput(psn, mdtrt, insutype, mid, acct, total), &pre)
	if err := pre.ValidateFor("2303"); err != nil {
		c.tb.Fatalf("2303 answer: %v", err)
	}
	var out platform.InpatientSettleOutput
	msgid := c.ok("2304", settleFrom(preInput(psn, mdtrt, insutype, mid, acct, total), pre.Setlinfo), &out)
	if err := out.ValidateFor("2304"); err != nil {
		c.tb.Fatalf("2304 answer: %v", err)
	}
	if out.Setlinfo.MedinsSetlID != msgid || out.Setlinfo.ClrType != "21" || out.Setlinfo.MedType != "21" {
		c.tb.Fatalf("2304 answer medins_setl_id %s clr_type %s med_type %s; want %s, 21, 21",
			out.Setlinfo.MedinsSetlID, out.Setlinfo.ClrType, out.Setlinfo.MedType, msgid)
	}
	return out.Setlinfo.Split(), msgid
}

func settleFrom(pre platform.InpatientPreSettleInput, s platform.Setlinfo) platform.InpatientSettleInput {
	return platform.InpatientSettleInput{Data: platform.InpatientSettleData{
		InpatientPreSettleData: pre.Data,
		FulamtOwnpayAmt:        s.FulamtOwnpayAmt, OverlmtSelfpay: s.OverlmtSelfpay,
		PreselfpayAmt: s.PreselfpayAmt, InscpScpAmt: s.InscpScpAmt, Invono: "FP0001",
	}}
}

func TestInpatient_AdmissionToSettlement(t *testing.T) {
	p, c := mustSim(t, nil)
	mdtrt, _ := c.admit(psnLocalEmployee, "310", "ZY0001")
	day1 := c.ipFees(psnLocalEmployee, mdtrt, "D1", "2026-11-20 18:00:00",
		line{codgBed, "1", "50"}, line{codgNursing, "1", "30"}, line{codgSaline, "300", "3.5"})
	day2 := c.ipFees(psnLocalEmployee, mdtrt, "D2", "2026-11-21 18:00:00",
		line{codgBed, "1", "50"}, line{codgNursing, "1", "30"}, line{codgCT, "1", "240"}, line{codgThymo, "1", "650"})
	if day1 != money("1130.00") || day2 != money("970.00") {
		t.Fatalf("fees %s + %s; want 1130.00 + 970.00", day1, day2)
	}
	total := day1 + day2
	c.refused("2303", preInput(psnLocalEmployee, mdtrt, "310", "0", "1", total), "未办理出院")
	c.ok("2402", dischargeInput(psnLocalEmployee, mdtrt, "2026-11-22 10:00:00"), nil)
	c.refused("2303", preInput(psnLocalEmployee, mdtrt, "310", "1", "1", total), "已办理出院")

	s, _ := c.ipSettle(psnLocalEmployee, mdtrt, "310", "0", "1", total)
	// 2100.00: 丙 650.00 self-paid, CT 乙 24.00 first, 1426.00 in scope; the admission's
	// deductible 800.00, then 85% of 626.00 = 532.10; the account pays the rest.
	want := settle.Split{MedfeeSumamt: money("2100.00"), FulamtOwnpayAmt: money("650.00"), PreselfpayAmt: money("24.00"),
		InscpScpAmt: money("1426.00"), ActPayDedc: money("800.00"), HifpPay: money("532.10"), FundPaySumamt: money("532.10"),
		PsnPartAmt: money("1567.90"), AcctPay: money("1567.90"), PsnCashPay: 0, Balc: money("432.10")}
	for _, chk := range []struct {
		name      string
		got, want settle.Money
	}{
		{"medfee_sumamt", s.MedfeeSumamt, want.MedfeeSumamt}, {"fulamt_ownpay_amt", s.FulamtOwnpayAmt, want.FulamtOwnpayAmt},
		{"preselfpay_amt", s.PreselfpayAmt, want.PreselfpayAmt}, {"inscp_scp_amt", s.InscpScpAmt, want.InscpScpAmt},
		{"act_pay_dedc", s.ActPayDedc, want.ActPayDedc}, {"hifp_pay", s.HifpPay, want.HifpPay},
		{"fund_pay_sumamt", s.FundPaySumamt, want.FundPaySumamt}, {"psn_part_amt", s.PsnPartAmt, want.PsnPartAmt},
		{"acct_pay", s.AcctPay, want.AcctPay}, {"psn_cash_pay", s.PsnCashPay, want.PsnCashPay}, {"balc", s.Balc, want.Balc},
	} {
		if chk.got != chk.want {
			t.Errorf("%s: got %s; want %s", chk.name, chk.got, chk.want)
		}
	}
	if s.PoolPropSelfpay != "0.85" {
		t.Errorf("pool_prop_selfpay: got %s; want the employee inpatient ratio 0.85", s.PoolPropSelfpay)
	}
	if bal, _ := p.Balance(psnLocalEmployee); bal != money("432.10") {
		t.Errorf("account balance: got %s; want 432.10", bal)
	}

	t.Run("SecondSettlementRefused", func(t *testing.T) {
		c.refused("2303", preInput(psnLocalEmployee, mdtrt, "310", "0", "1", total), "已结算")
		c.refused("2304", settleFrom(preInput(psnLocalEmployee, mdtrt, "310", "0", "1", total), platform.SetlinfoOf(s)), "已结算")
		c.refused("2301", func() platform.InpatientFeeInput {
			in, _ := ipFeeInput(t, psnLocalEmployee, mdtrt, "D3", "2026-11-22 08:00:00", line{codgBed, "1", "50"})
			return in
		}(), "已结算")
		if n := p.SettledStays()["ZY0001"]; n != 1 {
			t.Errorf("settled stays: got %d; want 1", n)
		}
	})
	t.Run("Ledger", func(t *testing.T) {
		var infnos []string
		for _, e := range p.Ledger() {
			if e.IptNo != "ZY0001" {
				t.Errorf("entry %s %s: ipt_no %q; want ZY0001", e.Infno, e.Msgid, e.IptNo)
			}
			if e.Infno == "2304" && (e.ClrType != "21" || e.SetlID != s.SetlID || e.MedfeeSumamt != want.MedfeeSumamt || e.MedType != "21") {
				t.Errorf("2304 entry %+v; want clr_type 21, setl_id %s, medfee 2100.00", e, s.SetlID)
			}
			infnos = append(infnos, e.Infno)
		}
		if got := fmt.Sprint(infnos); got != "[2401 2301 2301 2402 2304]" {
			t.Errorf("ledger: got %s; want [2401 2301 2301 2402 2304]", got)
		}
	})
	t.Run("OutpatientTransactionsDoNotSeeTheStay", func(t *testing.T) {
		c.refused("2207", settleInput(psnLocalEmployee, mdtrt, "D1", "21", "310", total, "1"), "就诊信息不存在")
		c.refused("2204", c.feeInput(psnLocalEmployee, mdtrt, "X1", line{codgVisit, "1", "25"}), "就诊信息不存在")
	})
	t.Run("CancelAndSettleAgain", func(t *testing.T) {
		var out platform.InpatientCancelSettleOutput
		c.ok("2305", platform.InpatientCancelSettleInput{Data: platform.InpatientCancelSettleData{SetlID: s.SetlID, MdtrtID: mdtrt, PsnNo: psnLocalEmployee}}, &out)
		if sp := out.Surprises("2305"); len(sp) != 0 || out.Setlinfo.MedfeeSumamt != -platform.AmountOf(want.MedfeeSumamt) {
			t.Fatalf("2305 answer %+v (surprises %v); want the negated settlement, adding up", out.Setlinfo, sp)
		}
		if n := p.SettledStays()["ZY0001"]; n != 0 {
			t.Errorf("settled stays after 2305: got %d; want 0", n)
		}
		if bal, _ := p.Balance(psnLocalEmployee); bal != money("2000.00") {
			t.Errorf("balance after 2305: got %s; want 2000.00 restored", bal)
		}
		c.refused("2305", platform.InpatientCancelSettleInput{Data: platform.InpatientCancelSettleData{SetlID: s.SetlID}}, "不存在或已撤销")
		again, _ := c.ipSettle(psnLocalEmployee, mdtrt, "310", "0", "0", total)
		if again.FundPaySumamt != want.FundPaySumamt || again.PsnCashPay != want.PsnPartAmt {
			t.Errorf("settled again without the account: got fund %s cash %s; want %s and %s",
				again.FundPaySumamt, again.PsnCashPay, want.FundPaySumamt, want.PsnPartAmt)
		}
		if n := p.SettledStays()["ZY0001"]; n != 1 {
			t.Errorf("settled stays: got %d; want 1", n)
		}
	})
}

func TestInpatient_MidStaySettlement(t *testing.T) {
	p, c := mustSim(t, nil)
	mdtrt, _ := c.admit(psnLocalResident, "390", "ZY0002")
	first := c.ipFees(psnLocalResident, mdtrt, "D1", "2026-11-20 12:00:00", line{codgSaline, "400", "3.5"})
	mid, _ := c.ipSettle(psnLocalResident, mdtrt, "390", "1", "0", first)
	// Resident: deductible per admission 1000.00, then 70%.
	if mid.MedfeeSumamt != money("1400.00") || mid.ActPayDedc != money("1000.00") || mid.FundPaySumamt != money("280.00") || mid.PsnCashPay != money("1120.00") {
		t.Fatalf("mid-stay settlement: got medfee %s dedc %s fund %s cash %s; want 1400.00 1000.00 280.00 1120.00",
			mid.MedfeeSumamt, mid.ActPayDedc, mid.FundPaySumamt, mid.PsnCashPay)
	}
	c.refused("2303", preInput(psnLocalResident, mdtrt, "390", "1", "0", 0), "没有待结算")
	c.refused("2302", platform.InpatientCancelFeeInput{Data: platform.InpatientCancelFeeData{FeedetlSn: "D1-1", MdtrtID: mdtrt}}, "已结算")
	second := c.ipFees(psnLocalResident, mdtrt, "D2", "2026-11-21 12:00:00", line{codgSaline, "200", "3.5"})
	c.ok("2402", dischargeInput(psnLocalResident, mdtrt, "2026-11-22 10:00:00"), nil)
	c.refused("2303", preInput(psnLocalResident, mdtrt, "390", "0", "0", first+second), "不符")
	final, _ := c.ipSettle(psnLocalResident, mdtrt, "390", "0", "0", second)
	if final.MedfeeSumamt != money("700.00") || final.ActPayDedc != 0 || final.FundPaySumamt != money("490.00") {
		t.Errorf("final after mid-stay: got medfee %s dedc %s fund %s; want 700.00, no deductible again, 490.00",
			final.MedfeeSumamt, final.ActPayDedc, final.FundPaySumamt)
	}
	c.refused("2305", platform.InpatientCancelSettleInput{Data: platform.InpatientCancelSettleData{SetlID: mid.SetlID}}, "后续结算")
	v, ok := p.StayAt("H33010200001", "ZY0002")
	if !ok || v.FinalSetlID != final.SetlID || len(v.Settlements) != 2 || !v.Discharged {
		t.Errorf("stay view %+v; want discharged with two live settlements, final %s", v, final.SetlID)
	}
}

func TestInpatient_Refusals(t *testing.T) {
	_, c := mustSim(t, nil)
	t.Run("UnfiledCrossRegion", func(t *testing.T) {
		// Hefei's outpatient rule is a lower ratio; inpatients must be filed all the same.
		c.refused("2401", admitInput(psnUnfiledRatio, "390", "ZY0100"), "未备案")
		c.refused("2401", admitInput(psnUnfiledRefuse, "310", "ZY0101"), "未备案")
	})
	t.Run("FiledCrossRegionUsesInsuredPlacePolicy", func(t *testing.T) {
		mdtrt, _ := c.admit(psnShanghaiFiled, "310", "ZY0102")
		total := c.ipFees(psnShanghaiFiled, mdtrt, "D1", "2026-11-20 10:00:00", line{codgSaline, "1000", "3.5"})
		c.ok("2402", dischargeInput(psnShanghaiFiled, mdtrt, "2026-11-21 10:00:00"), nil)
		s, _ := c.ipSettle(psnShanghaiFiled, mdtrt, "310", "0", "0", total)
		// Shanghai: 1500.00 per admission, then 85% of 2000.00.
		if s.ActPayDedc != money("1500.00") || s.FundPaySumamt != money("1700.00") || s.ClrOptins != "310000" {
			t.Errorf("got dedc %s fund %s clr_optins %s; want 1500.00, 1700.00, 310000", s.ActPayDedc, s.FundPaySumamt, s.ClrOptins)
		}
	})
	mdtrt, _ := c.admit(psnChronic, "310", "ZY0103")
	t.Run("DuplicateAdmission", func(t *testing.T) {
		c.refused("2401", admitInput(psnZeroBalance, "310", "ZY0103"), "已办理入院")
		c.refused("2401", admitInput(psnChronic, "310", "ZY0104"), "已在院")
	})
	t.Run("BadAdmission", func(t *testing.T) {
		in := admitInput(psnZeroBalance, "310", "ZY0105")
		in.Mdtrtinfo.MedType = "11"
		c.refused("2401", in, "med_type")
		in = admitInput(psnZeroBalance, "390", "ZY0105")
		c.refused("2401", in, "险种")
		in = admitInput(psnZeroBalance, "310", "")
		c.refused("2401", in, "ipt_no")
		in = admitInput(psnZeroBalance, "310", "ZY0105")
		in.Mdtrtinfo.MdtrtCertType, in.Mdtrtinfo.MdtrtCertNo = "03", "A33010001"
		c.refused("2401", in, "不属于")
	})
	t.Run("Fees", func(t *testing.T) {
		c.ipFees(psnChronic, mdtrt, "D1", "2026-11-20 10:00:00", line{codgBed, "1", "50"})
		in, _ := ipFeeInput(t, psnChronic, mdtrt, "D1", "2026-11-20 11:00:00", line{codgBed, "1", "50"})
		c.refused("2301", in, "重复")
		in, _ = ipFeeInput(t, psnChronic, mdtrt, "D0", "2026-11-19 11:00:00", line{codgBed, "1", "50"})
		c.refused("2301", in, "早于入院时间")
		in, _ = ipFeeInput(t, psnChronic, mdtrt, "D9", "2026/11/20", line{codgBed, "1", "50"})
		c.refused("2301", in, "fee_ocur_time")
		in, _ = ipFeeInput(t, psnChronic, mdtrt, "D9", "2026-11-20 11:00:00", line{codgBed, "1", "50"})
		in.Feedetail[0].DetItemFeeSumamt = 4900
		c.refused("2301", in, "不符")
		c.refused("2302", platform.InpatientCancelFeeInput{Data: platform.InpatientCancelFeeData{FeedetlSn: "NOPE", MdtrtID: mdtrt}}, "不存在")
	})
	t.Run("SettleAmountsMustBeThePresettlement", func(t *testing.T) {
		c.ok("2402", dischargeInput(psnChronic, mdtrt, "2026-11-21 10:00:00"), nil)
		in := settleFrom(preInput(psnChronic, mdtrt, "310", "0", "0", money("50.00")), platform.Setlinfo{InscpScpAmt: 1})
		c.refused("2304", in, "预结算")
		c.refused("2303", preInput(psnChronic, mdtrt, "310", "", "0", money("50.00")), "mid_setl_flag")
		c.refused("2402", dischargeInput(psnChronic, mdtrt, "2026-11-21 10:00:00"), "已办理出院")
	})
	t.Run("CancelAdmissionNeedsAnEmptyStay", func(t *testing.T) {
		ref := platform.StayRefInput{Data: platform.StayRef{MdtrtID: mdtrt, PsnNo: psnChronic}}
		c.refused("2404", ref, "出院")
		c.ok("2405", ref, nil)
		c.refused("2404", ref, "费用明细")
		c.ok("2302", platform.InpatientCancelFeeInput{Data: platform.InpatientCancelFeeData{FeedetlSn: "0000", MdtrtID: mdtrt, PsnNo: psnChronic}}, nil)
		c.ok("2302", platform.InpatientCancelFeeInput{Data: platform.InpatientCancelFeeData{FeedetlSn: "0000", MdtrtID: mdtrt, PsnNo: psnChronic}}, nil)
		c.ok("2404", ref, nil)
		c.refused("2402", dischargeInput(psnChronic, mdtrt, "2026-11-21 10:00:00"), "已撤销")
		again, _ := c.admit(psnChronic, "310", "ZY0103")
		if again == mdtrt {
			t.Errorf("re-admission after 2404: got the old mdtrt_id %s; want a new one", again)
		}
	})
}

func TestInpatient_Reversal(t *testing.T) {
	p, c := mustSim(t, nil)
	t.Run("Admission", func(t *testing.T) {
		mdtrt, msgid := c.admit(psnLocalEmployee, "310", "ZY0200")
		c.ok("2601", platform.ReversalInput{Data: platform.ReversalData{PsnNo: psnLocalEmployee, Omsgid: msgid, Oinfno: "2401"}}, nil)
		if _, ok := p.StayAt("", "ZY0200"); ok {
			t.Error("reversed admission still stands")
		}
		c.refused("2301", func() platform.InpatientFeeInput {
			in, _ := ipFeeInput(t, psnLocalEmployee, mdtrt, "D1", "2026-11-20 10:00:00", line{codgBed, "1", "50"})
			return in
		}(), "不存在或已撤销")
		c.admit(psnLocalEmployee, "310", "ZY0200")
	})
	t.Run("Settlement", func(t *testing.T) {
		mdtrt, _ := c.admit(psnLocalResident, "390", "ZY0201")
		total := c.ipFees(psnLocalResident, mdtrt, "D1", "2026-11-20 10:00:00", line{codgSaline, "400", "3.5"})
		c.ok("2402", dischargeInput(psnLocalResident, mdtrt, "2026-11-21 10:00:00"), nil)
		s, msgid := c.ipSettle(psnLocalResident, mdtrt, "390", "0", "0", total)
		c.ok("2601", platform.ReversalInput{Data: platform.ReversalData{PsnNo: psnLocalResident, Omsgid: msgid, Oinfno: "2304"}}, nil)
		if n := p.SettledStays()["ZY0201"]; n != 0 {
			t.Fatalf("settled after 2601: got %d; want 0", n)
		}
		again, _ := c.ipSettle(psnLocalResident, mdtrt, "390", "0", "0", total)
		if again.SetlID == s.SetlID || again.FundPaySumamt != s.FundPaySumamt {
			t.Errorf("settled again: got %s fund %s; want a new setl_id with fund %s", again.SetlID, again.FundPaySumamt, s.FundPaySumamt)
		}
		var cancel platform.InpatientCancelSettleOutput
		cmsg := c.ok("2305", platform.InpatientCancelSettleInput{Data: platform.InpatientCancelSettleData{SetlID: again.SetlID}}, &cancel)
		c.ok("2601", platform.ReversalInput{Data: platform.ReversalData{PsnNo: psnLocalResident, Omsgid: cmsg, Oinfno: "2305"}}, nil)
		if n := p.SettledStays()["ZY0201"]; n != 1 {
			t.Errorf("after reversing the 2305: got %d settled; want 1 (the cancellation undone)", n)
		}
	})
}

func TestInpatient_Reconciliation(t *testing.T) {
	_, c := mustSim(t, nil)
	mdtrt, _ := c.admit(psnLocalEmployee, "310", "ZY0300")
	total := c.ipFees(psnLocalEmployee, mdtrt, "D1", "2026-11-20 10:00:00", line{codgSaline, "1000", "3.5"})
	c.ok("2402", dischargeInput(psnLocalEmployee, mdtrt, "2026-11-21 10:00:00"), nil)
	s, _ := c.ipSettle(psnLocalEmployee, mdtrt, "310", "0", "1", total)
	omdtrt, ototal := c.visitFlow(psnLocalResident, "390", "B1", line{codgVisit, "1", "25"})
	o, _ := c.settle(psnLocalResident, omdtrt, "B1", "11", "390", ototal, "0")
	recon := func(clr string, rows ...settle.Split) string {
		d := platform.TotalReconData{ClrType: clr, SetlOptins: "330100", StmtBegndate: "2026-11-23", StmtEnddate: "2026-11-23", FixmedinsSetlCnt: len(rows)}
		for _, r := range rows {
			d.MedfeeSumamt += platform.AmountOf(r.MedfeeSumamt)
			d.FundPaySumamt += platform.AmountOf(r.FundPaySumamt)
			d.AcctPay += platform.AmountOf(r.AcctPay)
		}
		var out platform.TotalReconOutput
		c.ok("3201", platform.TotalReconInput{Data: d}, &out)
		return out.Stmtinfo.StmtRslt
	}
	for _, tt := range []struct {
		name, clr string
		rows      []settle.Split
		want      string
	}{
		{"InpatientAlone", "21", []settle.Split{s}, platform.StmtMatch},
		{"OutpatientAlone", "11", []settle.Split{o}, platform.StmtMatch},
		{"InpatientMissing", "21", nil, platform.StmtPlatformMore},
		{"Both", "", []settle.Split{s, o}, platform.StmtMatch},
		{"OutpatientCountingTheStay", "11", []settle.Split{s, o}, platform.StmtHospitalMore},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if got := recon(tt.clr, tt.rows...); got != tt.want {
				t.Errorf("3201 clr_type %q: got stmt_rslt %s; want %s", tt.clr, got, tt.want)
			}
		})
	}
}

func TestInpatient_Queries(t *testing.T) {
	p, c := mustSim(t, nil)
	// The 2401 answer is lost: 5201 finds the admission by the hospital's ipt_no.
	p.SetFaults(Faults{LoseResponseRate: 1})
	if _, _, err := c.post("2401", c.nextMsgid(), admitInput(psnLocalEmployee, "310", "ZY0400")); err == nil {
		t.Fatal("2401 with the answer lost: got an answer; want none")
	}
	p.SetFaults(Faults{})
	var visits platform.VisitQueryOutput
	c.ok("5201", platform.VisitQueryInput{Data: platform.VisitQueryData{PsnNo: psnLocalEmployee, MedType: "21"}}, &visits)
	v, ok := visits.ByIptOtpNo("ZY0400")
	if !ok || v.MedType != "21" || v.Endtime != "" || v.Begntime != admitTime {
		t.Fatalf("5201: got %+v; want the lost admission of ZY0400, in hospital", visits.Mdtrtinfo)
	}
	mdtrt := v.MdtrtID
	total := c.ipFees(psnLocalEmployee, mdtrt, "D1", "2026-11-20 18:00:00", line{codgBed, "1", "50"}, line{codgNursing, "1", "30"})
	c.ok("2402", dischargeInput(psnLocalEmployee, mdtrt, "2026-11-21 10:00:00"), nil)
	s, msgid := c.ipSettle(psnLocalEmployee, mdtrt, "310", "0", "0", total)

	c.ok("5201", platform.VisitQueryInput{Data: platform.VisitQueryData{PsnNo: psnLocalEmployee}}, &visits)
	if v, _ := visits.ByIptOtpNo("ZY0400"); v.Endtime != "2026-11-21 10:00:00" {
		t.Errorf("5201 after discharge: endtime %q; want 2026-11-21 10:00:00", v.Endtime)
	}
	c.ok("5201", platform.VisitQueryInput{Data: platform.VisitQueryData{PsnNo: psnLocalEmployee, MedType: "11"}}, &visits)
	if _, ok := visits.ByIptOtpNo("ZY0400"); ok {
		t.Error("5201 for med_type 11 lists the inpatient stay")
	}
	var setl struct{ Setlinfo platform.Setlinfo } // one settlement: an object
	c.ok("5203", platform.SettleQueryInput{Data: platform.SettleQueryData{MdtrtID: mdtrt}}, &setl)
	if got := setl.Setlinfo; got.MedinsSetlID != msgid || got.SetlID != s.SetlID || got.ClrType != "21" {
		t.Errorf("5203 by mdtrt_id: got %+v; want the 2304 booked by %s", got, msgid)
	}
	var fees platform.FeeQueryOutput
	c.ok("5204", platform.FeeQueryInput{Data: platform.FeeQueryData{MdtrtID: mdtrt, PsnNo: psnLocalEmployee}}, &fees)
	if len(fees.Feedetail) != 2 || fees.Feedetail[0].SetlID != s.SetlID || fees.Feedetail[0].FeeOcurTime != "2026-11-20 18:00:00" {
		t.Errorf("5204: got %+v; want both lines, settled by %s", fees.Feedetail, s.SetlID)
	}
}
