package platform

import (
	"encoding/json"
	"errors"
	"path/filepath"
	"testing"

	"github.com/settle-agent/settle-agent/internal/golden"

	settle "github.com/settle-agent/settle-agent"
)

// sampleSetlinfo is a consistent 2207 answer: 100.00 = 70.00 fund + 30.00 own share.
func sampleSetlinfo() Setlinfo {
	return Setlinfo{
		SetlID: "S20261123000001", MdtrtID: "M1", PsnNo: "P1",
		MedfeeSumamt: 10000, FulamtOwnpayAmt: 500, InscpScpAmt: 9500, ActPayDedc: 0,
		HifpPay: 6500, PoolPropSelfpay: MustRatioForTest("0.3"), CvlservPay: 500,
		FundPaySumamt: 7000, PsnPartAmt: 3000, AcctPay: 1000, PsnCashPay: 2000, Balc: 50000,
		MedinsSetlID: testCode + "202611230912010001", ClrOptins: "330100", ClrWay: "1", ClrType: "11",
		Insutype: "310",
	}
}

// samples is one request input and one answer output per transaction; the golden files
// show the exact wire form the simulator must accept and produce.
var samples = []struct {
	infno  string
	input  any
	output any
}{
	{InfnoSignIn, SignInInput{SignIn: SignInData{OpterNo: "W01", Mac: "00-16-3E-01-02-03", IP: "10.1.2.3"}},
		SignInOutput{Signinoutb: Signinoutb{SignNo: "S0001", SignTime: "2026-11-23 09:12:01"}}},
	{InfnoSignOut, SignOutInput{SignOut: SignOutData{SignNo: "S0001", OpterNo: "W01"}},
		SignOutOutput{Signoutoutb: Signinoutb{SignNo: "S0001", SignTime: "2026-11-23 18:00:00"}}},
	{InfnoPersonInfo, PersonInfoInput{Data: PersonQuery{MdtrtCertType: "03", MdtrtCertNo: "330102198001011234", CardSN: "A1B2C3", PsnName: "张三"}},
		PersonInfoOutput{
			Baseinfo: BaseInfo{PsnNo: "P1", PsnCertType: "01", Certno: "330102198001011234", PsnName: "张三", Gend: "1", Naty: "01", Brdy: "1980-01-01", Age: "46"},
			Insuinfo: []InsuInfo{{Balc: 123456, Insutype: "310", PsnType: "11", PsnInsuStas: "1", InsuplcAdmdvs: "310000"}},
			Idetinfo: []IdetInfo{},
		}},
	{InfnoChronicQuery, ChronicQueryInput{Data: ChronicQueryData{PsnNo: "P1"}},
		ChronicQueryOutput{Feedetail: []ChronicFiling{{OpspDiseCode: "M03900", OpspDiseName: "高血压", Begndate: "2026-01-01", Enddate: "2026-12-31"}}}},
	{InfnoRegister, RegisterInput{Data: RegisterData{PsnNo: "P1", Insutype: "310", Begntime: "2026-11-23 09:12:01", MdtrtCertType: "03",
		MdtrtCertNo: "330102198001011234", IptOtpNo: "B0001", AtddrNo: "D01", DrName: "李医生", DeptCode: "K01", DeptName: "内科", Caty: "A03"}},
		RegisterOutput{Data: RegisterResult{MdtrtID: "M1", PsnNo: "P1", IptOtpNo: "B0001"}}},
	{InfnoCancelRegister, CancelRegisterInput{Data: CancelRegisterData{PsnNo: "P1", MdtrtID: "M1", IptOtpNo: "B0001"}}, nil},
	{InfnoVisitInfo, VisitInfoInput{
		Mdtrtinfo: VisitInfo{MdtrtID: "M1", PsnNo: "P1", MedType: "14", Begntime: "2026-11-23 09:12:01", MainCondDscr: "头晕", DiseCodg: "I10", DiseName: "高血压"},
		Diseinfo:  []DiseInfo{{DiagType: "1", DiagSrtNo: 1, DiagCode: "I10", DiagName: "高血压", DiagDept: "内科", DiseDorNo: "D01", DiseDorName: "李医生", DiagTime: "2026-11-23 09:12:01", ValiFlag: "1"}},
	}, nil},
	{InfnoFeeUpload, FeeUploadInput{Feedetail: []FeeDetail{{FeedetlSn: "B0001-1", MdtrtID: "M1", PsnNo: "P1", ChrgBchno: "B0001", Rxno: "RX1", RxCircFlag: "0",
		FeeOcurTime: "2026-11-23 09:12:01", MedListCodg: "XA01", MedinsListCodg: "H-001", DetItemFeeSumamt: 3750, Cnt: 25000, Pric: 15000000,
		BilgDeptCodg: "K01", BilgDeptName: "内科", BilgDrCodg: "D01", BilgDrName: "李医生", HospApprFlag: "1"}}},
		FeeUploadOutput{Result: []FeeResult{{FeedetlSn: "B0001-1", DetItemFeeSumamt: 3750, Cnt: 25000, Pric: 15000000, PricUplmtAmt: 2000,
			SelfpayProp: MustRatioForTest("0.1"), FulamtOwnpayAmt: 0, OverlmtAmt: 0, PreselfpayAmt: 375, InscpScpAmt: 3375, ChrgitmLv: "02", MedChrgitmType: "09"}}}},
	{InfnoCancelFee, CancelFeeInput{Data: CancelFeeData{ChrgBchno: "B0001", MdtrtID: "M1", PsnNo: "P1"}}, nil},
	{InfnoPreSettle, SettleInput{Data: SettleData{PsnNo: "P1", MdtrtCertType: "03", MdtrtCertNo: "330102198001011234", MedType: "11", MedfeeSumamt: 10000,
		PsnSetlway: SetlwayByItem, MdtrtID: "M1", ChrgBchno: "B0001", Insutype: "310", AcctUsedFlag: AcctUsed}},
		SettleOutput{Setlinfo: sampleSetlinfo(), Setldetail: []SetlDetail{{FundPayType: "310100", InscpScpAmt: 9500, CrtPaybLmtAmt: 0, FundPayamt: 6500, FundPayTypeName: "职工基本医疗保险统筹基金", SetlProcInfo: ""}}}},
	{InfnoSettle, SettleConfirmInput{Data: ConfirmData(SettleData{PsnNo: "P1", MdtrtCertType: "03", MdtrtCertNo: "330102198001011234", MedType: "11", MedfeeSumamt: 10000,
		PsnSetlway: SetlwayByItem, MdtrtID: "M1", ChrgBchno: "B0001", Insutype: "310", AcctUsedFlag: AcctUsed}, sampleSetlinfo(), "INV0001")},
		SettleOutput{Setlinfo: func() Setlinfo { s := sampleSetlinfo(); s.SetlTime = "2026-11-23 09:12:01"; return s }(),
			Setldetail: []SetlDetail{{FundPayType: "310100", InscpScpAmt: 9500, FundPayamt: 6500, FundPayTypeName: "职工基本医疗保险统筹基金"}}}},
	{InfnoCancelSettle, CancelSettleInput{Data: CancelSettleData{SetlID: "S20261123000001", MdtrtID: "M1", PsnNo: "P1"}},
		CancelSettleOutput{Setlinfo: Setlinfo{SetlID: "S20261123000002", MedfeeSumamt: -10000, FundPaySumamt: -7000, PsnPartAmt: -3000, AcctPay: -1000, PsnCashPay: -2000}}},
	{InfnoReversal, ReversalInput{Data: ReversalData{PsnNo: "P1", Omsgid: testCode + "202611230912010001", Oinfno: InfnoSettle}}, nil},
	{InfnoTotalRecon, TotalReconInput{Data: TotalReconData{Insutype: "310", ClrType: "11", SetlOptins: "330100", StmtBegndate: "2026-11-23", StmtEnddate: "2026-11-23",
		MedfeeSumamt: 10000, FundPaySumamt: 7000, AcctPay: 1000, FixmedinsSetlCnt: 1}},
		TotalReconOutput{Stmtinfo: Stmtinfo{SetlOptins: "330100", StmtRslt: StmtMatch, StmtRsltDscr: "平"}}},
	{InfnoDetailRecon, DetailReconFileInput{Data: DetailReconFileData{SetlOptins: "330100", FileQuryNo: "fsi/plc/0001", StmtBegndate: "2026-11-23", StmtEnddate: "2026-11-23",
		MedfeeSumamt: 10000, FundPaySumamt: 7000, CashPayamt: 2000, FixmedinsSetlCnt: 1}},
		DetailReconFileOutput{Fileinfo: FileInfo{FileQuryNo: "fsi/plc/0002", Filename: testCode + "_20261123_result.zip", DldEndtime: "2026-11-24 23:00:00"}}},
	{InfnoVisitQuery, VisitQueryInput{Data: VisitQueryData{PsnNo: "P1", Begntime: "2026-11-23 00:00:00", Endtime: "2026-11-23 23:59:59", MedType: "11"}},
		VisitQueryOutput{Mdtrtinfo: []VisitRecord{{MdtrtID: "M1", PsnNo: "P1", IptOtpNo: "B0001", MedType: "11", Begntime: "2026-11-23 09:12:01", ValiFlag: "1"}}}},
	{InfnoSettleQuery, SettleQueryInput{Data: SettleQueryData{PsnNo: "P1", MdtrtID: "M1"}},
		SettleQueryOutput{Setlinfo: SetlinfoList{sampleSetlinfo()}}},
	{InfnoFeeQuery, FeeQueryInput{Data: FeeQueryData{PsnNo: "P1", SetlID: "S20261123000001", MdtrtID: "M1"}},
		FeeQueryOutput{Feedetail: []FeeRecord{{FeedetlSn: "B0001-1", MdtrtID: "M1", PsnNo: "P1", ChrgBchno: "B0001", SetlID: "S20261123000001",
			FeeOcurTime: "2026-11-23 09:12:01", MedListCodg: "XA01", MedinsListCodg: "H-001", DetItemFeeSumamt: 3750, Cnt: 25000, Pric: 15000000, PricUplmtAmt: 16000000}}}},
	{InfnoFileUpload, FileUploadInput{FsUploadIn: FileUploadData{In: FileContent{Bytes: []byte("PK\x03\x04")}, Filename: testCode + "_20261123.zip", FixmedinsCode: testCode}},
		FileUploadOutput{FileInfo: FileInfo{FileQuryNo: "fsi/plc/0001", Filename: testCode + "_20261123.zip", DldEndtime: "2026-11-24 23:00:00"}}},
	{InfnoFileDownload, FileDownloadInput{FsDownloadIn: FileDownloadData{FileQuryNo: "fsi/plc/0002", Filename: testCode + "_20261123_result.zip", FixmedinsCode: testCode}}, nil},
}

func TestMessages_Golden(t *testing.T) {
	c := mustClient(t, Options{BaseURL: "http://127.0.0.1:1", FixmedinsName: "Example People's Hospital", MdtrtareaAdmvs: "330100"})
	c.SetSignNo("S0001")
	for _, s := range samples {
		t.Run(s.infno, func(t *testing.T) {
			in, err := json.Marshal(s.input)
			if err != nil {
				t.Fatal(err)
			}
			req := c.Envelope(s.infno, Meta{Msgid: testCode + "202611230912010001", InsuplcAdmdvs: "310000", Opter: "W01", OpterName: "window 01"}, in)
			doc := map[string]any{"request": req}
			if s.output != nil {
				out, err := json.Marshal(s.output)
				if err != nil {
					t.Fatal(err)
				}
				doc["response"] = Response{Infcode: 0, InfRefmsgid: "330100202611230912010000000001", RefmsgTime: "20261123091201123", RespondTime: "20261123091201187", Output: out}
				// what is written reads back to the same value and passes validation
				back := newLike(s.output)
				if err := json.Unmarshal(out, back); err != nil {
					t.Fatalf("read back: %v", err)
				}
				if err := validate(s.infno, back); err != nil {
					t.Fatalf("validate the sample: %v", err)
				}
				if !equalJSON(t, back, s.output) {
					t.Fatalf("round trip changed the output: %s", out)
				}
			}
			got, err := json.MarshalIndent(doc, "", "  ")
			if err != nil {
				t.Fatal(err)
			}
			checkGolden(t, filepath.Join("testdata", "golden", s.infno+".json"), append(got, '\n'))
		})
	}
}

// newLike returns a pointer to a new zero value of v's type.
func newLike(v any) any {
	switch v.(type) {
	case SignInOutput:
		return &SignInOutput{}
	case SignOutOutput:
		return &SignOutOutput{}
	case PersonInfoOutput:
		return &PersonInfoOutput{}
	case ChronicQueryOutput:
		return &ChronicQueryOutput{}
	case RegisterOutput:
		return &RegisterOutput{}
	case FeeUploadOutput:
		return &FeeUploadOutput{}
	case SettleOutput:
		return &SettleOutput{}
	case CancelSettleOutput:
		return &CancelSettleOutput{}
	case TotalReconOutput:
		return &TotalReconOutput{}
	case DetailReconOutput:
		return &DetailReconOutput{}
	case DetailReconFileOutput:
		return &DetailReconFileOutput{}
	case VisitQueryOutput:
		return &VisitQueryOutput{}
	case SettleQueryOutput:
		return &SettleQueryOutput{}
	case FeeQueryOutput:
		return &FeeQueryOutput{}
	case FileUploadOutput:
		return &FileUploadOutput{}
	}
	panic("no sample type")
}

func validate(infno string, v any) error {
	switch o := v.(type) {
	case interface{ ValidateFor(string) error }:
		return o.ValidateFor(infno)
	case interface{ Validate() error }:
		return o.Validate()
	}
	return nil
}

func checkGolden(t *testing.T, path string, got []byte) {
	t.Helper()
	golden.Check(t, path, got)
}

// TestPersonInfoOutput_Decode reads an answer the way a province may write it: amounts
// as strings, age as a number, unknown fields.
func TestPersonInfoOutput_Decode(t *testing.T) {
	raw := `{"baseinfo":{"psn_no":"P1","psn_name":"张三","certno":"330102198001011234","age":46.0,"exp_content":""},
	  "insuinfo":[{"balc":"1234.56","insutype":"310","psn_insu_stas":"1","insuplc_admdvs":"310000"},
	              {"balc":0,"insutype":"390","psn_insu_stas":"0","insuplc_admdvs":"310000"}],
	  "idetinfo":null}`
	var o PersonInfoOutput
	if err := json.Unmarshal([]byte(raw), &o); err != nil {
		t.Fatal(err)
	}
	if err := o.Validate(); err != nil {
		t.Fatal(err)
	}
	p := o.Person()
	if p.PsnNo != "P1" || p.Age != "46.0" || len(p.Insuinfo) != 2 || p.Insuinfo[0].Balc != settle.MustMoney("1234.56") {
		t.Fatalf("Person() = %+v", p)
	}
	if in, ok := p.Primary(); !ok || in.InsuplcAdmdvs != "310000" || in.Insutype != "310" {
		t.Fatalf("Primary() = %+v, %v", in, ok)
	}
}

func TestSetlinfo_Split(t *testing.T) {
	s := sampleSetlinfo()
	sp := s.Split()
	if sp.SetlID != s.SetlID || sp.MedfeeSumamt != settle.MustMoney("100.00") || sp.OwnShare() != settle.MustMoney("30.00") ||
		sp.PoolPropSelfpay != "0.3" || sp.MedinsSetlID != s.MedinsSetlID {
		t.Fatalf("Split() = %+v", sp)
	}
	if back := SetlinfoOf(sp); !equalJSON(t, back, s) {
		t.Fatalf("SetlinfoOf(Split()) = %+v; want %+v", back, s)
	}
}

func TestValidate_Refusals(t *testing.T) {
	setl := func(f func(*Setlinfo)) *SettleOutput {
		s := sampleSetlinfo()
		f(&s)
		return &SettleOutput{Setlinfo: s}
	}
	for name, v := range map[string]interface{ Validate() error }{
		"SignInNoSignNo":     &SignInOutput{},
		"PersonNoPsnNo":      &PersonInfoOutput{Insuinfo: []InsuInfo{{Insutype: "310", InsuplcAdmdvs: "310000"}}},
		"PersonNoInsuplc":    &PersonInfoOutput{Baseinfo: BaseInfo{PsnNo: "P1"}, Insuinfo: []InsuInfo{{Insutype: "310"}}},
		"ChronicNoCode":      &ChronicQueryOutput{Feedetail: []ChronicFiling{{OpspDiseName: "x"}}},
		"RegisterNoMdtrtID":  &RegisterOutput{Data: RegisterResult{PsnNo: "P1"}},
		"FeeNoSn":            &FeeUploadOutput{Result: []FeeResult{{}}},
		"FeeTwice":           &FeeUploadOutput{Result: []FeeResult{{FeedetlSn: "1"}, {FeedetlSn: "1"}}},
		"FeePropAboveOne":    &FeeUploadOutput{Result: []FeeResult{{FeedetlSn: "1", SelfpayProp: MustRatioForTest("1.5")}}},
		"SettleNoSetlID":     setl(func(s *Setlinfo) { s.SetlID = "" }),
		"SettleNoMdtrtID":    setl(func(s *Setlinfo) { s.MdtrtID = "" }),
		"SettleEmpty":        &SettleOutput{},
		"ReconBadRslt":       &TotalReconOutput{Stmtinfo: Stmtinfo{StmtRslt: "4"}},
		"ReconNoRslt":        &TotalReconOutput{},
		"UploadNoFileQuryNo": &FileUploadOutput{FileInfo: FileInfo{Filename: "x.zip"}},
		"DetailFileNoQuryNo": &DetailReconFileOutput{},
		"DetailBadDiff":      &DetailReconOutput{Detail: []ReconDiff{{SetlID: "S", Diff: "other"}}},
		"DetailNoKey":        &DetailReconOutput{Detail: []ReconDiff{{Diff: DiffAmountDiffers}}},
	} {
		t.Run(name, func(t *testing.T) {
			err := v.Validate()
			if !errors.Is(err, ErrBadResponse) || !errors.Is(err, ErrOutcomeUnknown) {
				t.Fatalf("got %v; want ErrBadResponse (and ErrOutcomeUnknown)", err)
			}
		})
	}
}

// TestSettleOutput_Surprises: amounts that do not add up, negative amounts and a missing
// setl_time are surprises of a valid answer, never a refusal.
func TestSettleOutput_Surprises(t *testing.T) {
	setl := func(f func(*Setlinfo)) *SettleOutput {
		s := sampleSetlinfo()
		s.SetlTime = "2026-11-23 09:12:01"
		f(&s)
		return &SettleOutput{Setlinfo: s}
	}
	for name, tc := range map[string]struct {
		o     *SettleOutput
		field string
		kind  SurpriseKind
	}{
		"FundPlusOwn":     {setl(func(s *Setlinfo) { s.FundPaySumamt++ }), "setlinfo.medfee_sumamt", SurpriseIdentity},
		"OwnShare":        {setl(func(s *Setlinfo) { s.PsnCashPay-- }), "setlinfo.psn_part_amt", SurpriseIdentity},
		"FundsItemised":   {setl(func(s *Setlinfo) { s.HifpPay-- }), "setlinfo.fund_pay_sumamt", SurpriseIdentity},
		"HospPartMissing": {setl(func(s *Setlinfo) { s.FundPaySumamt -= 500; s.HifpPay -= 500 }), "setlinfo.medfee_sumamt", SurpriseIdentity},
		"Negative": {setl(func(s *Setlinfo) {
			s.MedfeeSumamt, s.FundPaySumamt, s.PsnPartAmt, s.AcctPay, s.PsnCashPay, s.HifpPay, s.CvlservPay = -1, -1, 0, 0, 0, -1, 0
		}), "setlinfo.medfee_sumamt", SurpriseNegative},
		"NoSetlTime":  {setl(func(s *Setlinfo) { s.SetlTime = "" }), "setlinfo.setl_time", SurpriseMissing},
		"BadSetlTime": {setl(func(s *Setlinfo) { s.SetlTime = "yesterday" }), "setlinfo.setl_time", SurpriseCoerced},
	} {
		t.Run(name, func(t *testing.T) {
			if err := tc.o.Validate(); err != nil {
				t.Fatalf("Validate: got %v; want nil (a surprise is not a failure)", err)
			}
			found := false
			for _, s := range tc.o.Surprises(InfnoSettle) {
				found = found || s.Field == tc.field && s.Kind == tc.kind
			}
			if !found {
				t.Fatalf("Surprises = %v; want a %s surprise on %s", tc.o.Surprises(InfnoSettle), tc.kind, tc.field)
			}
		})
	}
	// The hospital's share keeps the identity: medfee = fund + psn_part + hosp_part.
	o := setl(func(s *Setlinfo) { s.FundPaySumamt -= 500; s.HifpPay -= 500; s.HospPartAmt = 500 })
	if sp := o.Surprises(InfnoSettle); len(sp) != 0 {
		t.Errorf("with hosp_part_amt 5.00: surprises %v; want none", sp)
	}
	c := &CancelSettleOutput{Setlinfo: Setlinfo{MedfeeSumamt: -100, FundPaySumamt: -50}}
	if sp := c.Surprises(InfnoCancelSettle); len(sp) == 0 {
		t.Errorf("2208 whose amounts do not add up: no surprise; want one")
	}
}

func TestSettleOutput_ValidateFor(t *testing.T) {
	o := &SettleOutput{Setlinfo: sampleSetlinfo()}
	o.Setlinfo.SetlID = ""
	if err := o.ValidateFor(InfnoPreSettle); err != nil {
		t.Errorf("2206 without setl_id: got %v; want nil", err)
	}
	if err := o.ValidateFor(InfnoSettle); !errors.Is(err, ErrBadResponse) {
		t.Errorf("2207 without setl_id: got %v; want ErrBadResponse", err)
	}
	// SettleEmpty above: a 2207 answer with every amount missing is refused; a zero bill
	// that names its settlement passes (the identities hold).
	z := &SettleOutput{Setlinfo: Setlinfo{SetlID: "S", MdtrtID: "M"}}
	if err := z.Validate(); err != nil {
		t.Errorf("zero bill: got %v; want nil", err)
	}
}

func TestIsWrite(t *testing.T) {
	for _, infno := range []string{"2201", "2202", "2204", "2205", "2207", "2208"} {
		if !IsWrite(infno) {
			t.Errorf("IsWrite(%s) = false; want true", infno)
		}
	}
	for _, infno := range []string{"9001", "9002", "1101", "5301", "2203", "2206", "2601", "3201", "3202", ""} {
		if IsWrite(infno) {
			t.Errorf("IsWrite(%s) = true; want false", infno)
		}
	}
}

func TestInfcodeError(t *testing.T) {
	for _, tc := range []struct {
		code int
		want Outcome
	}{{0, OutcomeOK}, {-1, OutcomeUnknown}, {-2, OutcomeBusiness}, {-99, OutcomeBusiness}, {1, OutcomeBusiness}} {
		if got := Classify(InfcodeError("2207", &Response{Infcode: tc.code, ErrMsg: "x"})); got != tc.want {
			t.Errorf("infcode %d: %s; want %s", tc.code, got, tc.want)
		}
	}
}
