package platform_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	settle "github.com/settle-agent/settle-agent"
	"github.com/settle-agent/settle-agent/platform"
	"github.com/settle-agent/settle-agent/platform/sim"
)

// TestClient_AgainstSimulator drives the real simulator over real HTTP on loopback, with
// signing and sign-in required: a full outpatient settlement, then each fault the
// simulator injects, classified as the agent needs it, and a reversal checked against
// the simulator's own ledger.
func TestClient_AgainstSimulator(t *testing.T) {
	ctx := context.Background()
	fx := sim.DemoFixture()
	p := sim.New(fx, &sim.Options{Token: "s3cr3t", Paasid: "paas1", RequireSignIn: true, Seed: 1})
	url, stop, err := sim.Start(ctx, "", p)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = stop() })

	const code = "H33010200001"
	c, err := platform.NewClient(platform.Options{BaseURL: url, Paasid: "paas1", Token: "s3cr3t", FixmedinsCode: code,
		FixmedinsName: "Example People's Hospital", MdtrtareaAdmvs: fx.TreatmentAdmdvs, Timeout: 30 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	ids, err := platform.NewMsgidGenerator(platform.MsgidOptions{FixmedinsCode: code, Node: -1})
	if err != nil {
		t.Fatal(err)
	}
	call := func(infno string, insuplc string, in, out any) (string, error) {
		t.Helper()
		id, err := ids.Next()
		if err != nil {
			t.Fatal(err)
		}
		_, err = c.Call(ctx, infno, platform.Meta{Msgid: id, InsuplcAdmdvs: insuplc, Opter: "W01", OpterName: "window 01"}, in, out)
		return id, err
	}
	must := func(id string, err error) string {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return id
	}

	var signIn platform.SignInOutput
	must(call(platform.InfnoSignIn, "", platform.SignInInput{SignIn: platform.SignInData{OpterNo: "W01", Mac: "00-16-3E-00-00-01", IP: "127.0.0.1"}}, &signIn))
	c.SetSignNo(signIn.Signinoutb.SignNo)

	fp := fx.Persons[0]
	var info platform.PersonInfoOutput
	must(call(platform.InfnoPersonInfo, "", platform.PersonInfoInput{Data: platform.PersonQuery{MdtrtCertType: settle.CertSSCard, MdtrtCertNo: fp.CardNo, CardSN: fp.CardSN}}, &info))
	person := info.Person()
	insu, ok := person.Primary()
	if person.PsnNo != fp.PsnNo || !ok || insu.InsuplcAdmdvs != fp.InsuplcAdmdvs {
		t.Fatalf("1101: person %+v; want psn_no %s insured in %s", person.Masked(), fp.PsnNo, fp.InsuplcAdmdvs)
	}

	item := fx.Items[0]
	// settleBill registers a visit, uploads one line and pre-settles; it returns what
	// 2207 needs.
	settleBill := func(bill string) platform.SettleConfirmInput {
		t.Helper()
		var reg platform.RegisterOutput
		must(call(platform.InfnoRegister, insu.InsuplcAdmdvs, platform.RegisterInput{Data: platform.RegisterData{PsnNo: person.PsnNo, Insutype: insu.Insutype,
			Begntime: "2026-11-23 09:12:01", MdtrtCertType: settle.CertSSCard, MdtrtCertNo: fp.CardNo, IptOtpNo: bill, DeptCode: "K01", DeptName: "内科", Caty: "A03"}}, &reg))
		cnt, _ := settle.ParseQty("2")
		amount := settle.LineAmount(cnt, item.Price)
		var fee platform.FeeUploadOutput
		must(call(platform.InfnoFeeUpload, insu.InsuplcAdmdvs, platform.FeeUploadInput{Feedetail: []platform.FeeDetail{{FeedetlSn: bill + "-1", MdtrtID: reg.Data.MdtrtID,
			PsnNo: person.PsnNo, ChrgBchno: bill, FeeOcurTime: "2026-11-23 09:12:01", MedListCodg: item.MedListCodg, MedinsListCodg: item.MedinsListCodg,
			DetItemFeeSumamt: platform.AmountOf(amount), Cnt: platform.CntOf(cnt), Pric: platform.PricOf(item.Price), BilgDeptCodg: "K01", BilgDrCodg: "D01"}}}, &fee))
		if len(fee.Result) != 1 || fee.Result[0].DetItemFeeSumamt.Money() != amount {
			t.Fatalf("2204: result %+v; want one line of %s", fee.Result, amount)
		}
		in := platform.SettleInput{Data: platform.SettleData{PsnNo: person.PsnNo, MdtrtCertType: settle.CertSSCard, MdtrtCertNo: fp.CardNo,
			MedType: settle.MedTypeOutpatient, MedfeeSumamt: platform.AmountOf(amount), PsnSetlway: platform.SetlwayByItem,
			MdtrtID: reg.Data.MdtrtID, ChrgBchno: bill, Insutype: insu.Insutype, AcctUsedFlag: platform.AcctUsed}}
		var pre platform.SettleOutput
		must(call(platform.InfnoPreSettle, insu.InsuplcAdmdvs, in, &pre))
		if pre.Setlinfo.MedfeeSumamt.Money() != amount {
			t.Fatalf("2206: medfee_sumamt %s; want %s", pre.Setlinfo.MedfeeSumamt, amount)
		}
		return platform.SettleConfirmInput{Data: platform.ConfirmData(in.Data, pre.Setlinfo, "")}
	}

	t.Run("Settle", func(t *testing.T) {
		in := settleBill("BILL-OK")
		var out platform.SettleOutput
		id := must(call(platform.InfnoSettle, insu.InsuplcAdmdvs, in, &out))
		if out.Setlinfo.MedinsSetlID != id {
			t.Errorf("2207 medins_setl_id %q; want the request's msgid %s", out.Setlinfo.MedinsSetlID, id)
		}
		if n := p.Settled()["BILL-OK"]; n != 1 {
			t.Fatalf("platform ledger: BILL-OK settled %d times; want 1", n)
		}
	})

	t.Run("LostResponseThenReversal", func(t *testing.T) {
		in := settleBill("BILL-LOST")
		p.SetFaults(sim.Faults{LoseResponseRate: 1})
		id, err := call(platform.InfnoSettle, insu.InsuplcAdmdvs, in, &platform.SettleOutput{})
		p.SetFaults(sim.Faults{})
		if platform.Classify(err) != platform.OutcomeUnknown || !platform.IsWrite(platform.InfnoSettle) {
			t.Fatalf("lost response: got %v; want outcome unknown", err)
		}
		if n := p.Settled()["BILL-LOST"]; n != 1 {
			t.Fatalf("the simulator booked BILL-LOST %d times; want 1 (booked, answer lost)", n)
		}
		must(call(platform.InfnoReversal, insu.InsuplcAdmdvs, platform.ReversalInput{Data: platform.ReversalData{PsnNo: person.PsnNo, Omsgid: id, Oinfno: platform.InfnoSettle}}, nil))
		if n := p.Settled()["BILL-LOST"]; n != 0 {
			t.Fatalf("after the reversal BILL-LOST stands %d times; want 0", n)
		}
	})

	for name, f := range map[string]sim.Faults{
		"HTTP500":       {HTTP500Rate: 1},
		"InfcodeMinus1": {InfcodeMinus1Rate: 1},
		"Down":          {Down: true},
		"Reset":         {ResetRate: 1},
	} {
		t.Run(name, func(t *testing.T) {
			p.SetFaults(f)
			defer p.SetFaults(sim.Faults{})
			_, err := call(platform.InfnoChronicQuery, insu.InsuplcAdmdvs, platform.ChronicQueryInput{Data: platform.ChronicQueryData{PsnNo: person.PsnNo}}, &platform.ChronicQueryOutput{})
			if !errors.Is(err, platform.ErrOutcomeUnknown) {
				t.Fatalf("got %v; want ErrOutcomeUnknown", err)
			}
		})
	}

	t.Run("Business", func(t *testing.T) {
		_, err := call(platform.InfnoPersonInfo, "", platform.PersonInfoInput{Data: platform.PersonQuery{MdtrtCertType: settle.CertIDNumber, MdtrtCertNo: "110101190001011237"}}, &platform.PersonInfoOutput{})
		var be *platform.BusinessError
		if !errors.As(err, &be) || be.ErrMsg == "" || platform.Classify(err) != platform.OutcomeBusiness {
			t.Fatalf("unknown person: got %v; want a *BusinessError with the platform's message", err)
		}
	})

	t.Run("Unsigned", func(t *testing.T) {
		u, err := platform.NewClient(platform.Options{BaseURL: url, FixmedinsCode: code, Timeout: 30 * time.Second})
		if err != nil {
			t.Fatal(err)
		}
		defer u.Close()
		id, _ := ids.Next()
		_, err = u.Call(ctx, platform.InfnoSignIn, platform.Meta{Msgid: id}, platform.SignInInput{}, &platform.SignInOutput{})
		if !errors.Is(err, platform.ErrUnauthorized) {
			t.Fatalf("got %v; want ErrUnauthorized", err)
		}
	})
}

// TestGoldenRequests_SimulatorUnderstands posts every request of testdata/golden to the
// strict simulator: each must be understood (a known infno, an input it can read),
// whatever the business answer for the sample data is.
func TestGoldenRequests_SimulatorUnderstands(t *testing.T) {
	p := sim.New(sim.DemoFixture(), &sim.Options{Seed: 1})
	url, stop, err := sim.Start(context.Background(), "", p)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = stop() })
	files, _ := filepath.Glob(filepath.Join("testdata", "golden", "*.json"))
	inpatient, _ := filepath.Glob(filepath.Join("testdata", "golden", "inpatient", "*.json"))
	files = append(files, inpatient...)
	if len(files) < 20 {
		t.Fatalf("%d golden files", len(files))
	}
	for i, f := range files {
		raw, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		var doc struct{ Request platform.Request }
		if err := json.Unmarshal(raw, &doc); err != nil || doc.Request.Infno == "" {
			continue // catalogue goldens and others of another shape
		}
		doc.Request.Msgid = fmt.Sprintf("H33010200001202611230912%06d", i)
		body, _ := json.Marshal(doc.Request)
		resp, err := http.Post(url+sim.DefaultPath, "application/json", bytes.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		out, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if doc.Request.Infno == platform.InfnoFileDownload {
			continue // answered a file or "文件不存在": both understood
		}
		r, err := platform.DecodeResponse(out)
		if err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		t.Logf("%s %s: %d %s", f, doc.Request.Infno, r.Infcode, r.ErrMsg)
		if strings.Contains(r.ErrMsg, "不支持的交易编号") || strings.Contains(r.ErrMsg, "入参格式错误") {
			t.Errorf("%s: the simulator does not understand the request: %s", f, r.ErrMsg)
		}
	}
}
