package platform

import (
	"encoding/json"
	"errors"
	"path/filepath"
	"reflect"
	"testing"
)

// inpatientSamples is one request input and one answer output per inpatient
// transaction; the golden files under testdata/golden/inpatient show the wire form.
var inpatientSamples = []struct {
	infno  string
	input  any
	output any
}{
	{InfnoAdmission, AdmissionInput{
		Mdtrtinfo: AdmissionInfo{PsnNo: "P1", Insutype: "310", MdtrtCertType: "03", MdtrtCertNo: "A33010001", MedType: "21",
			IptNo: "ZY0001", Medrcdno: "ZY0001", AtddrNo: "D0042", ChfpdrName: "王医生", AdmDiagDscr: "肺炎", AdmDeptCodg: "0301",
			AdmDeptName: "内科", AdmBed: "12-03", MainCondDscr: "发热咳嗽三天", DiseCodg: "J18.900", DiseName: "肺炎", Begntime: "2026-11-20 09:00:00"},
		Diseinfo: []DiseInfo{{DiagType: "1", DiagSrtNo: 1, DiagCode: "J18.900", DiagName: "肺炎", DiagDept: "内科", DiseDorNo: "D0042",
			DiseDorName: "王医生", DiagTime: "2026-11-20 09:00:00", ValiFlag: "1"}},
	}, AdmissionOutput{Result: AdmissionResult{MdtrtID: "ZY2026112000000001", PsnNo: "P1", IptOtpNo: "ZY0001"}}},
	{InfnoAdmissionChange, AdmissionChangeInput{Adminfo: AdmissionChange{MdtrtID: "ZY2026112000000001", PsnNo: "P1", AdmBed: "12-05"}}, nil},
	{InfnoCancelAdmission, StayRefInput{Data: StayRef{MdtrtID: "ZY2026112000000001", PsnNo: "P1"}}, nil},
	{InfnoInpatientFeeUpload, InpatientFeeInput{Feedetail: []FeeDetail{{FeedetlSn: "D1-1", MdtrtID: "ZY2026112000000001", PsnNo: "P1",
		ChrgBchno: "D1", FeeOcurTime: "2026-11-20 18:00:00", MedListCodg: "110900001000000", MedinsListCodg: "CW0001",
		DetItemFeeSumamt: 5000, Cnt: 10000, Pric: 50000000, BilgDeptCodg: "0301", BilgDeptName: "内科", BilgDrCodg: "D0042", BilgDrName: "王医生"}}},
		InpatientFeeOutput{Result: []FeeResult{{FeedetlSn: "D1-1", DetItemFeeSumamt: 5000, Cnt: 10000, Pric: 50000000, PricUplmtAmt: 50_000000,
			InscpScpAmt: 5000, ChrgitmLv: "01", MedChrgitmType: "01"}}}},
	{InfnoInpatientCancelFee, InpatientCancelFeeInput{Data: InpatientCancelFeeData{FeedetlSn: FeedetlSnAll, MdtrtID: "ZY2026112000000001", PsnNo: "P1"}}, nil},
	{InfnoDischarge, DischargeInput{Dscginfo: DischargeInfo{MdtrtID: "ZY2026112000000001", PsnNo: "P1", Insutype: "310",
		Endtime: "2026-11-22 10:00:00", DiseCodg: "J18.900", DiseName: "肺炎", DscgWay: "1", DscgDeptCodg: "0301", DscgDeptName: "内科"},
		Diseinfo: []DiseInfo{{DiagType: "1", DiagSrtNo: 1, DiagCode: "J18.900", DiagName: "肺炎", ValiFlag: "1"}}}, nil},
	{InfnoCancelDischarge, StayRefInput{Data: StayRef{MdtrtID: "ZY2026112000000001", PsnNo: "P1"}}, nil},
	{InfnoInpatientPreSettle, InpatientPreSettleInput{Data: InpatientPreSettleData{PsnNo: "P1", MdtrtCertType: "03", MdtrtCertNo: "A33010001",
		MedfeeSumamt: 10000, PsnSetlway: SetlwayByItem, MdtrtID: "ZY2026112000000001", Insutype: "310", MidSetlFlag: MidSetlFinal, AcctUsedFlag: AcctUsed}},
		InpatientSettleOutput{Setlinfo: inpatientSetlinfo(), Setldetail: []SetlDetail{{FundPayType: "310100", InscpScpAmt: 9500, FundPayamt: 6500, FundPayTypeName: "职工基本医疗保险统筹基金"}}}},
	{InfnoInpatientSettle, InpatientSettleInput{Data: InpatientSettleData{
		InpatientPreSettleData: InpatientPreSettleData{PsnNo: "P1", MdtrtCertType: "03", MdtrtCertNo: "A33010001", MedfeeSumamt: 10000,
			PsnSetlway: SetlwayByItem, MdtrtID: "ZY2026112000000001", Insutype: "310", MidSetlFlag: MidSetlMid, AcctUsedFlag: AcctUsed},
		FulamtOwnpayAmt: 500, InscpScpAmt: 9500, Invono: "FP0001"}},
		InpatientSettleOutput{Setlinfo: inpatientSetlinfo(), Setldetail: []SetlDetail{}}},
	{InfnoInpatientCancelSettle, InpatientCancelSettleInput{Data: InpatientCancelSettleData{SetlID: "ZS2026112200000009", MdtrtID: "ZY2026112000000001", PsnNo: "P1"}},
		InpatientCancelSettleOutput{Setlinfo: Setlinfo{SetlID: "ZS2026112200000010", MedfeeSumamt: -10000, FundPaySumamt: -7000, PsnPartAmt: -3000, AcctPay: -1000, PsnCashPay: -2000, ClrType: "21"}}},
}

// inpatientSetlinfo is a consistent 2304 answer: 100.00 = 70.00 fund + 30.00 own share.
func inpatientSetlinfo() Setlinfo {
	s := sampleSetlinfo()
	s.SetlID, s.MdtrtID, s.ClrType, s.MedType = "ZS2026112200000009", "ZY2026112000000001", ClrTypeInpatient, "21"
	return s
}

func TestInpatientMessages_Golden(t *testing.T) {
	c := mustClient(t, Options{BaseURL: "http://127.0.0.1:1", FixmedinsName: "Example People's Hospital", MdtrtareaAdmvs: "330100"})
	c.SetSignNo("S0001")
	for _, s := range inpatientSamples {
		t.Run(s.infno, func(t *testing.T) {
			if !IsInpatient(s.infno) || IsWrite(s.infno) == (s.infno == InfnoInpatientPreSettle) {
				t.Errorf("IsInpatient/IsWrite(%s) wrong: a write must be reversed or resolved before a repeat", s.infno)
			}
			in, err := json.Marshal(s.input)
			if err != nil {
				t.Fatal(err)
			}
			req := c.Envelope(s.infno, Meta{Msgid: testCode + "202611230912010001", InsuplcAdmdvs: "330100", Opter: "ZYC01", OpterName: "住院处"}, in)
			doc := map[string]any{"request": req}
			if s.output != nil {
				out, err := json.Marshal(s.output)
				if err != nil {
					t.Fatal(err)
				}
				doc["response"] = Response{Infcode: 0, InfRefmsgid: "330100202611230912010000001", RefmsgTime: "2026-11-23 09:12:01", RespondTime: "2026-11-23 09:12:01", Output: out}
				back := reflect.New(reflect.TypeOf(s.output)).Interface()
				if err := decodeOutput(s.infno, out, back); err != nil {
					t.Fatalf("the sample does not decode and validate: %v", err)
				}
				if !equalJSON(t, back, s.output) {
					t.Fatalf("round trip changed the output: %s", out)
				}
			}
			got, err := json.MarshalIndent(doc, "", "  ")
			if err != nil {
				t.Fatal(err)
			}
			checkGolden(t, filepath.Join("testdata", "golden", "inpatient", s.infno+".json"), append(got, '\n'))
		})
	}
}

func TestInpatientOutputs_Validate(t *testing.T) {
	for _, tc := range []struct {
		name  string
		infno string
		raw   string
		out   any
	}{
		{"AdmissionWithoutMdtrtID", InfnoAdmission, `{"result":{"psn_no":"P1"}}`, &AdmissionOutput{}},
		{"SettleWithoutSetlID", InfnoInpatientSettle, `{"setlinfo":{"mdtrt_id":"M","medfee_sumamt":"1.00","fund_pay_sumamt":"1.00"}}`, &InpatientSettleOutput{}},
		{"FeeLineTwice", InfnoInpatientFeeUpload, `{"result":[{"feedetl_sn":"1"},{"feedetl_sn":"1"}]}`, &InpatientFeeOutput{}},
		{"FeeRatioOutOfRange", InfnoInpatientFeeUpload, `{"result":[{"feedetl_sn":"1","selfpay_prop":"1.5"}]}`, &InpatientFeeOutput{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := decodeOutput(tc.infno, json.RawMessage(tc.raw), tc.out)
			if !errors.Is(err, ErrBadResponse) || !errors.Is(err, ErrOutcomeUnknown) {
				t.Errorf("got %v; want ErrBadResponse (an unknown outcome)", err)
			}
		})
	}
	// Amounts that do not add up are a surprise, never an error: the settlement may be booked.
	for _, tc := range []struct {
		infno, raw string
		out        any
	}{
		{InfnoInpatientSettle, `{"setlinfo":{"setl_id":"S","mdtrt_id":"M","medfee_sumamt":"2.00","fund_pay_sumamt":"1.00","setl_time":"2026-11-22 10:00:00"}}`, &InpatientSettleOutput{}},
		{InfnoInpatientCancelSettle, `{"setlinfo":{"medfee_sumamt":"-2.00","fund_pay_sumamt":"-1.00"}}`, &InpatientCancelSettleOutput{}},
	} {
		sp, err := decodeOutputSurprises(tc.infno, json.RawMessage(tc.raw), tc.out)
		if err != nil || len(sp) == 0 || sp[0].Kind != SurpriseIdentity {
			t.Errorf("%s answer not adding up: got %v, %v; want no error and an identity surprise", tc.infno, sp, err)
		}
	}
	// A pre-settlement has no setl_id, and that is fine; nulls are accepted.
	var pre InpatientSettleOutput
	if err := decodeOutput(InfnoInpatientPreSettle, json.RawMessage(`{"setlinfo":{"medfee_sumamt":10,"fund_pay_sumamt":"7.00","psn_part_amt":3,"psn_cash_pay":"3.00","acct_pay":null},"setldetail":null}`), &pre); err != nil {
		t.Errorf("2303 answer with numbers, strings and nulls: got %v; want nil", err)
	}
}

// TestInpatientOutputs_Surprises: a 2304/2305 answer whose amounts do not add up is a
// success with a surprise, never an unknown outcome (which would reverse a good
// settlement); a hospital share keeps the identity.
func TestInpatientOutputs_Surprises(t *testing.T) {
	for _, tc := range []struct {
		name, infno, raw string
		out              any
		want             string // the surprising field; "" for none
	}{
		{"SettleNotAddingUp", InfnoInpatientSettle, `{"setlinfo":{"setl_id":"S","mdtrt_id":"M","medfee_sumamt":"2.00","fund_pay_sumamt":"1.00","setl_time":"2026-11-23 10:00:00"}}`, &InpatientSettleOutput{}, "setlinfo.medfee_sumamt"},
		{"SettleHospitalShare", InfnoInpatientSettle, `{"setlinfo":{"setl_id":"S","mdtrt_id":"M","medfee_sumamt":"3.00","fund_pay_sumamt":"1.00","psn_part_amt":"1.00","psn_cash_pay":"1.00","hosp_part_amt":"1.00","hifp_pay":"1.00","setl_time":"2026-11-23 10:00:00"}}`, &InpatientSettleOutput{}, ""},
		{"SettleNegative", InfnoInpatientSettle, `{"setlinfo":{"setl_id":"S","mdtrt_id":"M","medfee_sumamt":"-1.00","fund_pay_sumamt":"-1.00","hifp_pay":"-1.00","setl_time":"2026-11-23 10:00:00"}}`, &InpatientSettleOutput{}, "setlinfo.medfee_sumamt"},
		{"CancelNotAddingUp", InfnoInpatientCancelSettle, `{"setlinfo":{"medfee_sumamt":"-2.00","fund_pay_sumamt":"-1.00"}}`, &InpatientCancelSettleOutput{}, "setlinfo.medfee_sumamt"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sp, err := decodeOutputSurprises(tc.infno, json.RawMessage(tc.raw), tc.out)
			if err != nil {
				t.Fatalf("got %v; want a success", err)
			}
			found := false
			for _, s := range sp {
				found = found || s.Field == tc.want
			}
			if tc.want == "" && len(sp) != 0 || tc.want != "" && !found {
				t.Errorf("surprises %v; want one on %q", sp, tc.want)
			}
		})
	}
}
