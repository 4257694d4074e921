package sim

import (
	"strings"
	"testing"

	settle "github.com/settle-agent/settle-agent"
	"github.com/settle-agent/settle-agent/platform"
)

// Catalogue codes of the demo fixture used below.
const (
	codgVisit     = "001101000010000"         // 甲 诊查费 25.00, ceiling 25.00
	codgAmox      = "XJ01CAA040A001010100001" // 甲 drug
	codgIrbesar   = "XC09CAE010A001010100003" // 乙 0.10
	codgCT        = "210102015000000"         // 乙 0.10, ceiling 260.00
	codgCheckup   = "TJ0000000000001"         // 丙 300.00
	codgNifedipin = "XC08CAA010A001010100002" // 甲 hypertension drug
)

func TestPersonInfo(t *testing.T) {
	_, c := mustSim(t, nil)
	for _, tt := range []struct {
		name string
		q    platform.PersonQuery
	}{
		{"e-voucher", platform.PersonQuery{MdtrtCertType: "01", MdtrtCertNo: "EC330100000000000000000000000001"}},
		{"ID number", platform.PersonQuery{MdtrtCertType: "02", MdtrtCertNo: "330102198005120011"}},
		{"card", platform.PersonQuery{MdtrtCertType: "03", MdtrtCertNo: "A33010001", CardSN: "330100D156000005000001"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var out platform.PersonInfoOutput
			c.ok("1101", platform.PersonInfoInput{Data: tt.q}, &out)
			if err := out.Validate(); err != nil {
				t.Fatal(err)
			}
			pr := out.Person()
			in, _ := pr.Primary()
			if pr.PsnNo != psnLocalEmployee || in.Balc != money("2000.00") || in.InsuplcAdmdvs != "330100" || in.Insutype != "310" || pr.Age != "46" {
				t.Errorf("got %+v; want the local employee, balance 2000.00, age 46", pr)
			}
		})
	}
	t.Run("unknown", func(t *testing.T) {
		c.refused("1101", platform.PersonInfoInput{Data: platform.PersonQuery{MdtrtCertType: "03", MdtrtCertNo: "Z999"}}, "人员信息不存在")
	})
	t.Run("wrong card_sn", func(t *testing.T) {
		c.refused("1101", platform.PersonInfoInput{Data: platform.PersonQuery{MdtrtCertType: "03", MdtrtCertNo: "A33010001", CardSN: "X"}}, "card_sn")
	})
	t.Run("chronic filings", func(t *testing.T) {
		var out platform.ChronicQueryOutput
		c.ok("5301", platform.ChronicQueryInput{Data: platform.ChronicQueryData{PsnNo: psnChronic}}, &out)
		if len(out.Feedetail) != 2 || out.Feedetail[0].OpspDiseCode != "I10.x00" || out.Feedetail[1].OpspDiseCode != "E11.900" {
			t.Errorf("got %+v; want I10.x00 and E11.900", out.Feedetail)
		}
	})
}

func TestSettle_Arithmetic(t *testing.T) {
	p, c := mustSim(t, nil)
	mix := []line{{codgVisit, "1", "25"}, {codgIrbesar, "28", "1.5"}, {codgCT, "1", "240"}, {codgCheckup, "1", "300"}}

	t.Run("fee upload classifies", func(t *testing.T) {
		var reg platform.RegisterOutput
		c.ok("2201", platform.RegisterInput{Data: platform.RegisterData{PsnNo: psnLocalEmployee, Insutype: "310"}}, &reg)
		out := c.upload(psnLocalEmployee, reg.Data.MdtrtID, "B0", mix...)
		want := []struct{ lv, prop, ful, pre, inscp string }{
			{"01", "0", "0.00", "0.00", "25.00"},
			{"02", "0.1", "0.00", "4.20", "37.80"},
			{"02", "0.1", "0.00", "24.00", "216.00"},
			{"03", "0", "300.00", "0.00", "0.00"},
		}
		for i, w := range want {
			r := out.Result[i]
			if r.ChrgitmLv != w.lv || r.SelfpayProp.String() != w.prop || r.FulamtOwnpayAmt.String() != w.ful || r.PreselfpayAmt.String() != w.pre || r.InscpScpAmt.String() != w.inscp {
				t.Errorf("result[%d] = %+v; want %+v", i, r, w)
			}
		}
	})

	t.Run("employee: deductible, 乙 share, 丙, account", func(t *testing.T) {
		mdtrt, total := c.visitFlow(psnLocalEmployee, "310", "B1", mix...)
		if total != money("607.00") {
			t.Fatalf("total %s", total)
		}
		var pre platform.SettleOutput
		c.ok("2206", settleInput(psnLocalEmployee, mdtrt, "B1", "11", "310", total, "1"), &pre)
		if len(p.Ledger()) != 4 { // 2201+2204 of the subtest above and this one; 2206 books nothing
			t.Fatalf("ledger has %d entries after 2206; want 4", len(p.Ledger()))
		}
		s, msgid := c.settle(psnLocalEmployee, mdtrt, "B1", "11", "310", total, "1")
		if pre.Setlinfo.Split().FundPaySumamt != s.FundPaySumamt {
			t.Errorf("2206 fund %s differs from 2207 fund %s", pre.Setlinfo.FundPaySumamt, s.FundPaySumamt)
		}
		checkSplit(t, s, "607.00", "300.00", "28.20", "278.80", "200.00", "63.04", "543.96", "543.96", "0.00", "1456.04")
		if s.MedinsSetlID != msgid || s.SetlID == "" || s.MdtrtID != mdtrt {
			t.Errorf("medins_setl_id %q setl_id %q mdtrt_id %q; want the msgid %q", s.MedinsSetlID, s.SetlID, s.MdtrtID, msgid)
		}
		// The deductible is used for the year: the next bill pays 80 % at once.
		mdtrt2, total2 := c.visitFlow(psnLocalEmployee, "310", "B2", line{codgVisit, "1", "25"})
		s2, _ := c.settle(psnLocalEmployee, mdtrt2, "B2", "11", "310", total2, "1")
		checkSplit(t, s2, "25.00", "0.00", "0.00", "25.00", "0.00", "20.00", "5.00", "5.00", "0.00", "1451.04")
		if b, _ := p.Balance(psnLocalEmployee); b != money("1451.04") {
			t.Errorf("balance %s; want 1451.04", b)
		}
	})

	t.Run("resident has no account", func(t *testing.T) {
		mdtrt, total := c.visitFlow(psnLocalResident, "390", "B3", line{codgAmox, "24", "0.35"}, line{codgVisit, "1", "25"}, line{codgCT, "1", "240"})
		s, _ := c.settle(psnLocalResident, mdtrt, "B3", "11", "390", total, "1")
		// 273.40: inscp 8.40+25+216 = 249.40; dedc 100; (149.40)×0.60 = 89.64
		checkSplit(t, s, "273.40", "0.00", "24.00", "249.40", "100.00", "89.64", "183.76", "0.00", "183.76", "0.00")
	})

	t.Run("zero balance pays cash", func(t *testing.T) {
		mdtrt, total := c.visitFlow(psnZeroBalance, "310", "B4", line{codgVisit, "1", "25"})
		s, _ := c.settle(psnZeroBalance, mdtrt, "B4", "11", "310", total, "1")
		checkSplit(t, s, "25.00", "0.00", "0.00", "25.00", "25.00", "0.00", "25.00", "0.00", "25.00", "0.00")
	})

	t.Run("price above the ceiling is over-limit", func(t *testing.T) {
		mdtrt, total := c.visitFlow(psnZeroBalance, "310", "B5", line{codgVisit, "2", "30"})
		s, _ := c.settle(psnZeroBalance, mdtrt, "B5", "11", "310", total, "0")
		// 60.00, ceiling 25 × 2 = 50 in scope, 10 over-limit; deductible 175 left swallows 50
		if s.OverlmtSelfpay != money("10.00") || s.InscpScpAmt != money("50.00") || s.ActPayDedc != money("50.00") || s.FundPaySumamt != 0 {
			t.Errorf("got %+v", s)
		}
	})

	t.Run("medfee must equal the uploaded fees", func(t *testing.T) {
		mdtrt, total := c.visitFlow(psnLocalEmployee, "310", "B6", line{codgVisit, "1", "25"})
		c.refused("2207", settleInput(psnLocalEmployee, mdtrt, "B6", "11", "310", total+1, "1"), "不符")
	})

	t.Run("unknown catalogue code is named", func(t *testing.T) {
		var reg platform.RegisterOutput
		c.ok("2201", platform.RegisterInput{Data: platform.RegisterData{PsnNo: psnLocalEmployee}}, &reg)
		c.refused("2204", c.feeInput(psnLocalEmployee, reg.Data.MdtrtID, "B7", line{"NOPE123", "1", "1"}), "NOPE123")
	})

	t.Run("feedetl_sn unique per visit", func(t *testing.T) {
		mdtrt, _ := c.visitFlow(psnLocalEmployee, "310", "B8", line{codgVisit, "1", "25"})
		c.refused("2204", c.feeInput(psnLocalEmployee, mdtrt, "B8", line{codgAmox, "1", "0.35"}), "重复")
	})

	t.Run("settling twice is refused", func(t *testing.T) {
		mdtrt, total := c.visitFlow(psnLocalEmployee, "310", "B9", line{codgVisit, "1", "25"})
		c.settle(psnLocalEmployee, mdtrt, "B9", "11", "310", total, "1")
		c.refused("2207", settleInput(psnLocalEmployee, mdtrt, "B9", "11", "310", total, "1"), "该就诊已结算")
	})

	t.Run("2205 0000 cancels all fees", func(t *testing.T) {
		mdtrt, total := c.visitFlow(psnLocalEmployee, "310", "B10", line{codgVisit, "1", "25"}, line{codgAmox, "10", "0.35"})
		c.ok("2205", platform.CancelFeeInput{Data: platform.CancelFeeData{ChrgBchno: platform.ChrgBchnoAll, MdtrtID: mdtrt, PsnNo: psnLocalEmployee}}, nil)
		c.refused("2207", settleInput(psnLocalEmployee, mdtrt, "B10", "11", "310", total, "1"), "没有待结算的费用明细")
		// Upload again under a new batch (new feedetl_sn: a cancelled line's number is not reused).
		c.refused("2204", c.feeInput(psnLocalEmployee, mdtrt, "B10", line{codgVisit, "1", "25"}), "重复")
		c.upload(psnLocalEmployee, mdtrt, "B10b", line{codgVisit, "1", "25"})
		c.settle(psnLocalEmployee, mdtrt, "B10b", "11", "310", money("25.00"), "1")
		if n := p.Settled()["B10b"]; n != 1 {
			t.Errorf("B10b settled %d times; want 1", n)
		}
	})
}

// checkSplit compares the amounts of a settlement, in the order of the arithmetic.
func checkSplit(t *testing.T, s settle.Split, medfee, fulamt, preself, inscp, dedc, hifp, part, acct, cash, balc string) {
	t.Helper()
	got := []settle.Money{s.MedfeeSumamt, s.FulamtOwnpayAmt, s.PreselfpayAmt, s.InscpScpAmt, s.ActPayDedc, s.HifpPay, s.PsnPartAmt, s.AcctPay, s.PsnCashPay, s.Balc}
	want := []string{medfee, fulamt, preself, inscp, dedc, hifp, part, acct, cash, balc}
	names := []string{"medfee_sumamt", "fulamt_ownpay_amt", "preselfpay_amt", "inscp_scp_amt", "act_pay_dedc", "hifp_pay", "psn_part_amt", "acct_pay", "psn_cash_pay", "balc"}
	for i := range got {
		if got[i] != money(want[i]) {
			t.Errorf("%s = %s; want %s", names[i], got[i], want[i])
		}
	}
	if s.FundPaySumamt != s.HifpPay {
		t.Errorf("fund_pay_sumamt %s != hifp_pay %s", s.FundPaySumamt, s.HifpPay)
	}
}

func TestSettle_CrossRegion(t *testing.T) {
	_, c := mustSim(t, nil)
	t.Run("filed Shanghai patient gets Shanghai's policy", func(t *testing.T) {
		mdtrt, total := c.visitFlow(psnShanghaiFiled, "310", "X1", line{codgVisit, "1", "25"}, line{codgCT, "2", "240"})
		s, _ := c.settle(psnShanghaiFiled, mdtrt, "X1", "11", "310", total, "0")
		// 505.00: inscp 25 + 432 = 457; Shanghai deductible 300; 157 × 0.70 = 109.90
		checkSplit(t, s, "505.00", "0.00", "48.00", "457.00", "300.00", "109.90", "395.10", "0.00", "395.10", "1500.00")
		if s.InsuplcAdmdvs != "310000" && s.ClrOptins != "310000" {
			t.Errorf("clr_optins %q; want the insured place 310000", s.ClrOptins)
		}
	})
	t.Run("unfiled patient refused where the policy says so", func(t *testing.T) {
		c.refused("2201", platform.RegisterInput{Data: platform.RegisterData{PsnNo: psnUnfiledRefuse, Insutype: "310"}}, "参保人未备案")
	})
	t.Run("unfiled patient at a lower ratio where the policy says so", func(t *testing.T) {
		mdtrt, total := c.visitFlow(psnUnfiledRatio, "390", "X2", line{codgVisit, "1", "25"}, line{codgCT, "1", "240"})
		s, _ := c.settle(psnUnfiledRatio, mdtrt, "X2", "11", "390", total, "0")
		// inscp 25 + 216 = 241; Hefei resident deductible 100; 141 × 0.40 (not 0.60) = 56.40
		checkSplit(t, s, "265.00", "0.00", "24.00", "241.00", "100.00", "56.40", "208.60", "0.00", "208.60", "0.00")
	})
}

func TestSettle_Chronic(t *testing.T) {
	_, c := mustSim(t, nil)
	register := func(psn string) string {
		var reg platform.RegisterOutput
		c.ok("2201", platform.RegisterInput{Data: platform.RegisterData{PsnNo: psn}}, &reg)
		return reg.Data.MdtrtID
	}
	visitInfo := func(psn, mdtrt, code string) platform.VisitInfoInput {
		return platform.VisitInfoInput{Mdtrtinfo: platform.VisitInfo{MdtrtID: mdtrt, PsnNo: psn, MedType: "14", DiseCodg: code}}
	}
	t.Run("qualified diagnosis settles at the chronic ratio", func(t *testing.T) {
		mdtrt := register(psnChronic)
		c.ok("2203", visitInfo(psnChronic, mdtrt, "I10.x00"), nil)
		c.upload(psnChronic, mdtrt, "C1", line{codgNifedipin, "60", "0.8"}, line{codgVisit, "1", "25"})
		s, _ := c.settle(psnChronic, mdtrt, "C1", "14", "310", money("73.00"), "0")
		// 73.00 all 甲, deductible 200 swallows it
		checkSplit(t, s, "73.00", "0.00", "0.00", "73.00", "73.00", "0.00", "73.00", "0.00", "73.00", "3000.00")
		mdtrt2 := register(psnChronic)
		c.ok("2203", visitInfo(psnChronic, mdtrt2, "E11.900"), nil)
		c.upload(psnChronic, mdtrt2, "C2", line{codgCT, "1", "240"})
		s2, _ := c.settle(psnChronic, mdtrt2, "C2", "14", "310", money("240.00"), "0")
		// inscp 216; deductible left 127; 89 × 0.85 = 75.65
		checkSplit(t, s2, "240.00", "0.00", "24.00", "216.00", "127.00", "75.65", "164.35", "0.00", "164.35", "3000.00")
	})
	t.Run("diagnosis not qualified", func(t *testing.T) {
		mdtrt := register(psnChronic)
		c.refused("2203", visitInfo(psnChronic, mdtrt, "J06.900"), "无该门诊慢特病待遇资格")
		other := register(psnLocalEmployee)
		c.refused("2203", visitInfo(psnLocalEmployee, other, "I10.x00"), "无该门诊慢特病待遇资格")
	})
	t.Run("14 without 2203 is refused", func(t *testing.T) {
		mdtrt := register(psnChronic)
		c.upload(psnChronic, mdtrt, "C3", line{codgVisit, "1", "25"})
		c.refused("2207", settleInput(psnChronic, mdtrt, "C3", "14", "310", money("25.00"), "0"), "2203")
	})
}

func TestCancelSettle(t *testing.T) {
	p, c := mustSim(t, nil)
	mdtrt, total := c.visitFlow(psnLocalEmployee, "310", "K1", line{codgCT, "1", "240"}, line{codgVisit, "1", "25"})
	s, msgid := c.settle(psnLocalEmployee, mdtrt, "K1", "11", "310", total, "1")
	var out platform.CancelSettleOutput
	cancelMsg := c.ok("2208", platform.CancelSettleInput{Data: platform.CancelSettleData{SetlID: s.SetlID, MdtrtID: mdtrt, PsnNo: psnLocalEmployee}}, &out)
	if sp := out.Surprises("2208"); len(sp) != 0 || out.Setlinfo.MedfeeSumamt.Money() != -total || out.Setlinfo.Balc.Money() != money("2000.00") {
		t.Errorf("2208 answer %+v (surprises %v); want negated amounts that add up and balc 2000.00", out.Setlinfo, sp)
	}
	if b, _ := p.Balance(psnLocalEmployee); b != money("2000.00") {
		t.Errorf("balance %s; want 2000.00 restored", b)
	}
	if n := p.Settled()["K1"]; n != 0 {
		t.Errorf("K1 settled %d; want 0 after 2208", n)
	}
	for _, e := range p.Ledger() {
		if e.Msgid == msgid && (!e.Cancelled || e.CancelledBy != cancelMsg) {
			t.Errorf("2207 entry %+v; want cancelled by %s", e, cancelMsg)
		}
	}
	c.refused("2208", platform.CancelSettleInput{Data: platform.CancelSettleData{SetlID: s.SetlID}}, "已撤销")
	// The deductible came back too: settling again gives the same split.
	s2, _ := c.settle(psnLocalEmployee, mdtrt, "K1", "11", "310", total, "1")
	if s2.ActPayDedc != s.ActPayDedc || s2.AcctPay != s.AcctPay || s2.SetlID == s.SetlID {
		t.Errorf("resettled %+v; want the same split as %+v with a new setl_id", s2, s)
	}
	if n := p.Settled()["K1"]; n != 1 {
		t.Errorf("K1 settled %d; want 1", n)
	}
}

func TestReversal(t *testing.T) {
	p, c := mustSim(t, nil)
	reverse := func(omsgid, oinfno string) string {
		return c.ok("2601", platform.ReversalInput{Data: platform.ReversalData{PsnNo: psnLocalEmployee, Omsgid: omsgid, Oinfno: oinfno}}, nil)
	}
	t.Run("booked settlement is undone", func(t *testing.T) {
		mdtrt, total := c.visitFlow(psnLocalEmployee, "310", "R1", line{codgCT, "1", "240"})
		_, msgid := c.settle(psnLocalEmployee, mdtrt, "R1", "11", "310", total, "1")
		if b, _ := p.Balance(psnLocalEmployee); b == money("2000.00") {
			t.Fatal("settlement did not use the account")
		}
		rev := reverse(msgid, "2207")
		if b, _ := p.Balance(psnLocalEmployee); b != money("2000.00") {
			t.Errorf("balance %s after 2601; want 2000.00", b)
		}
		if n := p.Settled()["R1"]; n != 0 {
			t.Errorf("R1 settled %d after 2601; want 0", n)
		}
		var found bool
		for _, e := range p.Ledger() {
			if e.Msgid == msgid {
				found = e.Reversed && e.ReversedBy == rev
			}
		}
		if !found {
			t.Error("2207 entry not marked reversed by the 2601")
		}
		// Again: the platform no longer holds it, "the original does not exist".
		c.refused("2601", platform.ReversalInput{Data: platform.ReversalData{PsnNo: psnLocalEmployee, Omsgid: msgid, Oinfno: "2207"}}, "原交易不存在")
		// The visit can be settled again with a new msgid; the deductible came back.
		s, _ := c.settle(psnLocalEmployee, mdtrt, "R1", "11", "310", total, "1")
		if s.ActPayDedc != money("200.00") {
			t.Errorf("act_pay_dedc %s after reversal; want 200.00 again", s.ActPayDedc)
		}
		if n := p.Settled()["R1"]; n != 1 {
			t.Errorf("R1 settled %d; want exactly 1", n)
		}
	})
	t.Run("never booked message: the original does not exist", func(t *testing.T) {
		before := len(p.Ledger())
		c.refused("2601", platform.ReversalInput{Data: platform.ReversalData{PsnNo: psnLocalEmployee, Omsgid: "H33010200001202611230000009999", Oinfno: "2207"}}, "原交易不存在")
		if len(p.Ledger()) != before {
			t.Error("a reversal of nothing booked something")
		}
	})
	t.Run("outside its scope 2601 is refused and undoes nothing", func(t *testing.T) {
		var reg platform.RegisterOutput
		regMsg := c.ok("2201", platform.RegisterInput{Data: platform.RegisterData{PsnNo: psnLocalEmployee}}, &reg)
		in := c.feeInput(psnLocalEmployee, reg.Data.MdtrtID, "R2", line{codgVisit, "1", "25"})
		feeMsg := c.ok("2204", in, nil)
		for _, o := range []struct{ msgid, infno string }{{feeMsg, "2204"}, {regMsg, "2201"}, {regMsg, "2202"}, {feeMsg, "2205"}, {feeMsg, "2601"}} {
			c.refused("2601", platform.ReversalInput{Data: platform.ReversalData{PsnNo: psnLocalEmployee, Omsgid: o.msgid, Oinfno: o.infno}}, "不支持冲正")
		}
		c.refused("2601", platform.ReversalInput{Data: platform.ReversalData{PsnNo: psnLocalEmployee, Omsgid: feeMsg}}, "oinfno")
		// Both still stand: the visit settles.
		c.settle(psnLocalEmployee, reg.Data.MdtrtID, "R2", "11", "310", money("25.00"), "1")
	})
	t.Run("wrong oinfno refused", func(t *testing.T) {
		mdtrt, total := c.visitFlow(psnLocalEmployee, "310", "R4", line{codgVisit, "1", "25"})
		s, msgid := c.settle(psnLocalEmployee, mdtrt, "R4", "11", "310", total, "1")
		c.refused("2601", platform.ReversalInput{Data: platform.ReversalData{PsnNo: psnLocalEmployee, Omsgid: msgid, Oinfno: "2208"}}, "2207")
		c.refused("2601", platform.ReversalInput{Data: platform.ReversalData{Omsgid: msgid, Oinfno: "2207"}}, "psn_no")
		c.ok("2208", platform.CancelSettleInput{Data: platform.CancelSettleData{SetlID: s.SetlID}}, nil)
	})
	t.Run("reversal of a cancellation rebooks the settlement", func(t *testing.T) {
		mdtrt, total := c.visitFlow(psnLocalEmployee, "310", "R3", line{codgVisit, "1", "25"})
		s, msgid := c.settle(psnLocalEmployee, mdtrt, "R3", "11", "310", total, "1")
		cancel := c.ok("2208", platform.CancelSettleInput{Data: platform.CancelSettleData{SetlID: s.SetlID}}, nil)
		if p.Settled()["R3"] != 0 {
			t.Fatal("2208 did not cancel")
		}
		// The cancelled settlement no longer stands: reversing it finds nothing.
		c.refused("2601", platform.ReversalInput{Data: platform.ReversalData{PsnNo: psnLocalEmployee, Omsgid: msgid, Oinfno: "2207"}}, "原交易不存在")
		reverse(cancel, "2208")
		if n := p.Settled()["R3"]; n != 1 {
			t.Errorf("R3 settled %d after reversing its cancellation; want 1", n)
		}
	})
}

func TestRegistration_Cancel(t *testing.T) {
	p, c := mustSim(t, nil)
	var reg platform.RegisterOutput
	regMsg := c.ok("2201", platform.RegisterInput{Data: platform.RegisterData{PsnNo: psnLocalResident}}, &reg)
	c.ok("2202", platform.CancelRegisterInput{Data: platform.CancelRegisterData{PsnNo: psnLocalResident, MdtrtID: reg.Data.MdtrtID}}, nil)
	c.refused("2204", c.feeInput(psnLocalResident, reg.Data.MdtrtID, "G1", line{codgVisit, "1", "25"}), "已撤销")
	for _, e := range p.Ledger() {
		if e.Msgid == regMsg && !e.Cancelled {
			t.Errorf("2201 entry %+v; want cancelled", e)
		}
	}
}

func TestSignIn_Required(t *testing.T) {
	p, c := mustSim(t, &Options{RequireSignIn: true})
	q := platform.PersonInfoInput{Data: platform.PersonQuery{MdtrtCertType: "02", MdtrtCertNo: "330102198005120011"}}
	c.refused("1101", q, "签到")
	var out platform.SignInOutput
	c.ok("9001", platform.SignInInput{SignIn: platform.SignInData{OpterNo: "W01"}}, &out)
	if err := out.Validate(); err != nil {
		t.Fatal(err)
	}
	c.signNo = out.Signinoutb.SignNo
	c.ok("1101", q, nil)
	p.Reset() // a platform restart forgets sign-ins
	c.refused("1101", q, "签到")
	c.signNo = ""
	c.ok("9001", platform.SignInInput{}, &out)
	c.signNo = out.Signinoutb.SignNo
	c.ok("9002", platform.SignOutInput{SignOut: platform.SignOutData{SignNo: c.signNo}}, nil)
	c.refused("1101", q, "签到")
}

func TestUnknownInfno(t *testing.T) {
	_, c := mustSim(t, nil)
	c.refused("9999", struct{}{}, "不支持")
	resp := c.call("2201", "not an object")
	if resp.Infcode == 0 || !strings.Contains(resp.ErrMsg, "入参格式错误") {
		t.Errorf("got infcode %d %q; want an input format error", resp.Infcode, resp.ErrMsg)
	}
}
