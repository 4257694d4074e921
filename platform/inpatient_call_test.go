package platform_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	settle "github.com/settle-agent/settle-agent"
	"github.com/settle-agent/settle-agent/platform"
	"github.com/settle-agent/settle-agent/platform/sim"
)

// TestClient_Inpatient drives a whole stay through Client.Call with the inpatient messages, as the engine does, against
// the real simulator over loopback HTTP: admission, fees on two days, discharge,
// pre-settlement and settlement, a lost 2304 answer resolved by 2601, and the
// platform's refusal of an unfiled cross-region patient reaching the caller verbatim.
func TestClient_Inpatient(t *testing.T) {
	ctx := context.Background()
	fx := sim.DemoFixture()
	p := sim.New(fx, &sim.Options{RequireSignIn: true, Seed: 1})
	url, stop, err := sim.Start(ctx, "", p)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = stop() })
	const code = "H33010200001"
	c, err := platform.NewClient(platform.Options{BaseURL: url, FixmedinsCode: code, FixmedinsName: "Example People's Hospital",
		MdtrtareaAdmvs: fx.TreatmentAdmdvs, Timeout: 10 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	ids, err := platform.NewMsgidGenerator(platform.MsgidOptions{FixmedinsCode: code, Node: -1})
	if err != nil {
		t.Fatal(err)
	}
	meta := func() platform.Meta {
		id, err := ids.Next()
		if err != nil {
			t.Fatal(err)
		}
		return platform.Meta{Msgid: id, InsuplcAdmdvs: "330100", Opter: "ZYC01", OpterName: "住院处"}
	}
	var signIn platform.SignInOutput
	if _, err := c.Call(ctx, platform.InfnoSignIn, meta(), platform.SignInInput{SignIn: platform.SignInData{OpterNo: "ZYC01"}}, &signIn); err != nil {
		t.Fatal(err)
	}
	c.SetSignNo(signIn.Signinoutb.SignNo)

	psn := fx.Persons[0] // local employee, account 2000.00
	var adm platform.AdmissionOutput
	_, err = c.Call(ctx, platform.InfnoAdmission, meta(), platform.AdmissionInput{Mdtrtinfo: platform.AdmissionInfo{
		PsnNo: psn.PsnNo, Insutype: psn.Insutype, MdtrtCertType: "03", MdtrtCertNo: psn.CardNo, MedType: "21", IptNo: "ZY9001",
		AdmDeptCodg: "0301", AdmDeptName: "内科", DiseCodg: "J18.900", DiseName: "肺炎", Begntime: "2026-11-20 09:00:00"}}, &adm)
	if err != nil {
		t.Fatalf("2401: %v", err)
	}
	mdtrt := adm.Result.MdtrtID
	fee := func(sn, at string, cnt settle.Qty, pric settle.Price) platform.FeeDetail {
		return platform.FeeDetail{FeedetlSn: sn, MdtrtID: mdtrt, PsnNo: psn.PsnNo, ChrgBchno: sn[:2], FeeOcurTime: at,
			MedListCodg: "XB05BBA010B001010100009", DetItemFeeSumamt: platform.AmountOf(settle.LineAmount(cnt, pric)),
			Cnt: platform.CntOf(cnt), Pric: platform.PricOf(pric)}
	}
	for _, day := range []platform.FeeDetail{fee("D1-1", "2026-11-20 18:00:00", 2000000, 3500000), fee("D2-1", "2026-11-21 18:00:00", 1000000, 3500000)} {
		if _, err := c.Call(ctx, platform.InfnoInpatientFeeUpload, meta(), platform.InpatientFeeInput{Feedetail: []platform.FeeDetail{day}}, &platform.InpatientFeeOutput{}); err != nil {
			t.Fatalf("2301 %s: %v", day.FeedetlSn, err)
		}
	}
	if _, err := c.Call(ctx, platform.InfnoDischarge, meta(), platform.DischargeInput{Dscginfo: platform.DischargeInfo{MdtrtID: mdtrt, PsnNo: psn.PsnNo,
		Endtime: "2026-11-22 10:00:00", DiseCodg: "J18.900", DiseName: "肺炎", DscgWay: "1"}}, nil); err != nil {
		t.Fatalf("2402: %v", err)
	}
	pre := platform.InpatientPreSettleData{PsnNo: psn.PsnNo, MdtrtCertType: "03", MdtrtCertNo: psn.CardNo, MedfeeSumamt: platform.AmountOf(settle.MustMoney("1050.00")),
		PsnSetlway: "01", MdtrtID: mdtrt, Insutype: psn.Insutype, MidSetlFlag: platform.MidSetlFinal, AcctUsedFlag: platform.AcctUsed}
	var ps platform.InpatientSettleOutput
	_, err = c.Call(ctx, platform.InfnoInpatientPreSettle, meta(), platform.InpatientPreSettleInput{Data: pre}, &ps)
	if err != nil {
		t.Fatalf("2303: %v", err)
	}
	in := platform.InpatientSettleInput{Data: platform.InpatientSettleData{InpatientPreSettleData: pre,
		FulamtOwnpayAmt: ps.Setlinfo.FulamtOwnpayAmt, OverlmtSelfpay: ps.Setlinfo.OverlmtSelfpay,
		PreselfpayAmt: ps.Setlinfo.PreselfpayAmt, InscpScpAmt: ps.Setlinfo.InscpScpAmt}}

	// The answer of the first 2304 is lost: outcome unknown; 2601 undoes it; a new 2304 books once.
	p.SetFaults(sim.Faults{LoseResponseRate: 1})
	lost := meta()
	if _, err := c.Call(ctx, platform.InfnoInpatientSettle, lost, in, &platform.InpatientSettleOutput{}); platform.Classify(err) != platform.OutcomeUnknown {
		t.Fatalf("2304 with the answer lost: got %v; want an unknown outcome", err)
	}
	p.SetFaults(sim.Faults{})
	if _, err := c.Call(ctx, platform.InfnoReversal, meta(), platform.ReversalInput{Data: platform.ReversalData{PsnNo: psn.PsnNo, Omsgid: lost.Msgid, Oinfno: "2304"}}, nil); err != nil {
		t.Fatalf("2601 of the lost 2304: %v", err)
	}
	m := meta()
	var out platform.InpatientSettleOutput
	resp, err := c.Call(ctx, platform.InfnoInpatientSettle, m, in, &out)
	if err != nil {
		t.Fatalf("2304: %v", err)
	}
	if len(resp.Surprises) != 0 {
		t.Errorf("2304 answer surprises: got %v; want none", resp.Surprises)
	}
	if out.Setlinfo.MedinsSetlID != m.Msgid || out.Setlinfo.ClrType != platform.ClrTypeInpatient {
		t.Errorf("2304 answer: medins_setl_id %s clr_type %s; want %s, 21", out.Setlinfo.MedinsSetlID, out.Setlinfo.ClrType, m.Msgid)
	}
	if n := p.SettledStays()["ZY9001"]; n != 1 {
		t.Errorf("settled at the platform: %d times; want exactly once", n)
	}
	if _, err := c.Call(ctx, platform.InfnoInpatientSettle, meta(), in, &platform.InpatientSettleOutput{}); !errors.Is(err, platform.ErrBusiness) || !strings.Contains(err.Error(), "已结算") {
		t.Errorf("a second 2304: got %v; want the platform's 已结算 refusal", err)
	}
	var cs platform.InpatientCancelSettleOutput
	_, err = c.Call(ctx, platform.InfnoInpatientCancelSettle, meta(), platform.InpatientCancelSettleInput{Data: platform.InpatientCancelSettleData{SetlID: out.Setlinfo.SetlID, MdtrtID: mdtrt, PsnNo: psn.PsnNo}}, &cs)
	if err != nil || cs.Setlinfo.MedfeeSumamt != -out.Setlinfo.MedfeeSumamt {
		t.Fatalf("2305: %+v, %v; want the negated settlement", cs, err)
	}
	if _, err := c.Call(ctx, platform.InfnoCancelDischarge, meta(), platform.InpatientRefFor(mdtrt, psn.PsnNo), nil); err != nil {
		t.Fatalf("2405: %v", err)
	}
	if _, err := c.Call(ctx, platform.InfnoInpatientCancelFee, meta(), platform.InpatientCancelFeeInput{Data: platform.InpatientCancelFeeData{FeedetlSn: platform.FeedetlSnAll, MdtrtID: mdtrt, PsnNo: psn.PsnNo}}, nil); err != nil {
		t.Fatalf("2302: %v", err)
	}
	if _, err := c.Call(ctx, platform.InfnoAdmissionChange, meta(), platform.AdmissionChangeInput{Adminfo: platform.AdmissionChange{MdtrtID: mdtrt, PsnNo: psn.PsnNo, AdmBed: "12-05"}}, nil); err != nil {
		t.Fatalf("2403: %v", err)
	}
	if _, err := c.Call(ctx, platform.InfnoCancelAdmission, meta(), platform.InpatientRefFor(mdtrt, psn.PsnNo), nil); err != nil {
		t.Fatalf("2404: %v", err)
	}

	unfiled := fx.Persons[3] // Nanjing, not filed
	um := meta()
	um.InsuplcAdmdvs = unfiled.InsuplcAdmdvs // the envelope names the patient's insured place
	_, err = c.Call(ctx, platform.InfnoAdmission, um, platform.AdmissionInput{Mdtrtinfo: platform.AdmissionInfo{PsnNo: unfiled.PsnNo, Insutype: unfiled.Insutype,
		MedType: "21", IptNo: "ZY9002", DiseCodg: "J18.900", Begntime: "2026-11-20 09:00:00"}}, &platform.AdmissionOutput{})
	var be *platform.BusinessError
	if !errors.As(err, &be) || !strings.Contains(be.ErrMsg, "未备案") {
		t.Errorf("admission of an unfiled cross-region patient: got %v; want the platform's 未备案 verbatim", err)
	}
	if got := p.RepeatedMsgids(); len(got) != 0 {
		t.Errorf("repeated msgids: %v; want none", got)
	}
}
