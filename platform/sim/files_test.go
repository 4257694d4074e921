package sim

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/settle-agent/settle-agent/platform"
)

// realClient is the agent's own client against the simulator c serves.
func realClient(t *testing.T, c *simClient, o platform.Options) *platform.Client {
	t.Helper()
	o.BaseURL, o.FixmedinsCode, o.MdtrtareaAdmvs = c.url, "H33010200001", "330100"
	o.Now = func() time.Time { return testNow }
	o.Timeout = 30 * time.Second
	cl, err := platform.NewClient(o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cl.Close)
	return cl
}

func (c *simClient) meta() platform.Meta { return platform.Meta{Msgid: c.nextMsgid(), Opter: "W01"} }

func TestFiles_UploadDownload(t *testing.T) {
	p, c := mustSim(t, nil)
	for _, asArray := range []bool{false, true} {
		cl := realClient(t, c, platform.Options{FileInArray: asArray})
		data := []byte("PK\x03\x04 not really a zip \xff\x00")
		fi, _, err := cl.UploadFile(context.Background(), c.meta(), "up.zip", data)
		if err != nil || fi.FileQuryNo == "" || fi.Filename != "up.zip" || fi.DldEndtime == "" {
			t.Fatalf("9101 (array %v): %+v, %v", asArray, fi, err)
		}
		got, _, err := cl.DownloadFile(context.Background(), c.meta(), fi.FileQuryNo, fi.Filename)
		if err != nil || string(got) != string(data) {
			t.Fatalf("9102 (array %v): %q, %v; want the uploaded bytes", asArray, got, err)
		}
	}
	cl := realClient(t, c, platform.Options{})
	if _, _, err := cl.DownloadFile(context.Background(), c.meta(), "fsi/sim/none", "x.zip"); !errors.Is(err, platform.ErrBusiness) {
		t.Errorf("9102 of an unknown file: got %v; want ErrBusiness", err)
	}
	// A file the platform itself stores (as the catalogue download does) is served too.
	no := p.storeFile("catalogue.zip", []byte("PK catalogue"))
	if got, _, err := cl.DownloadFile(context.Background(), c.meta(), no, "catalogue.zip"); err != nil || string(got) != "PK catalogue" {
		t.Errorf("9102 of a stored file: %q, %v", got, err)
	}
	if name, data, ok := p.loadFile(no); !ok || name != "catalogue.zip" || string(data) != "PK catalogue" {
		t.Errorf("loadFile = %q, %q, %v", name, data, ok)
	}
	c.refused("9101", platform.FileUploadInput{FsUploadIn: platform.FileUploadData{Filename: "empty.zip"}}, "为空")
}

func TestQueries_VisitSettlementFees(t *testing.T) {
	_, c := mustSim(t, nil)
	cl := realClient(t, c, platform.Options{})
	ctx := context.Background()
	var reg platform.RegisterOutput
	c.ok("2201", platform.RegisterInput{Data: platform.RegisterData{PsnNo: psnLocalEmployee, Insutype: "310", Begntime: "2026-11-23 09:00:00", IptOtpNo: "HIS-V-1"}}, &reg)
	mdtrt := reg.Data.MdtrtID
	c.upload(psnLocalEmployee, mdtrt, "Q1", line{codgCT, "1", "240"}, line{codgVisit, "1", "25"})

	visits, _, err := cl.QueryVisits(ctx, c.meta(), platform.VisitQueryData{PsnNo: psnLocalEmployee, Begntime: "2026-11-23 00:00:00", Endtime: "2026-11-23 23:59:59"})
	if err != nil {
		t.Fatal(err)
	}
	if v, ok := visits.ByIptOtpNo("HIS-V-1"); !ok || v.MdtrtID != mdtrt {
		t.Errorf("5201 by ipt_otp_no: %+v, %v; want mdtrt_id %s", v, ok, mdtrt)
	}
	if _, ok := visits.ByIptOtpNo("HIS-V-2"); ok {
		t.Errorf("5201 found a visit the hospital never registered")
	}

	fees, _, err := cl.QueryFees(ctx, c.meta(), platform.FeeQueryData{PsnNo: psnLocalEmployee, MdtrtID: mdtrt})
	if err != nil {
		t.Fatal(err)
	}
	if b := fees.Batch("Q1"); len(b) != 2 || b[0].DetItemFeeSumamt.Money() != money("240.00") {
		t.Errorf("5204 batch Q1: %+v; want the 2 lines uploaded", b)
	}

	none, _, err := cl.QuerySettlement(ctx, c.meta(), platform.SettleQueryData{PsnNo: psnLocalEmployee, MdtrtID: mdtrt})
	if err != nil || len(none.Setlinfo) != 0 {
		t.Fatalf("5203 before settling: %+v, %v; want none", none, err)
	}
	s, msgid := c.settle(psnLocalEmployee, mdtrt, "Q1", "11", "310", money("265.00"), "1")
	got, resp, err := cl.QuerySettlement(ctx, c.meta(), platform.SettleQueryData{PsnNo: psnLocalEmployee, MdtrtID: mdtrt})
	if err != nil {
		t.Fatal(err)
	}
	if st, ok := got.ByMsgid(msgid); !ok || st.SetlID != s.SetlID || st.MedfeeSumamt.Money() != money("265.00") || st.SetlTime == "" {
		t.Errorf("5203 by mdtrt_id: %+v, %v; want setl_id %s booked by %s with setl_time", st, ok, s.SetlID, msgid)
	}
	if len(resp.Surprises) != 0 {
		t.Errorf("5203 surprises %v; want none", resp.Surprises)
	}
}

func TestDetailReconByFile(t *testing.T) {
	_, c := mustSim(t, nil)
	cl := realClient(t, c, platform.Options{})
	type settled struct {
		mdtrt, setl, msgid string
		medfee, fund, acct platform.Amount
	}
	run := func(psn, insutype, chrg string, l line) settled {
		mdtrt, total := c.visitFlow(psn, insutype, chrg, l)
		s, msgid := c.settle(psn, mdtrt, chrg, "11", insutype, total, "1")
		return settled{mdtrt, s.SetlID, msgid, platform.AmountOf(s.MedfeeSumamt), platform.AmountOf(s.FundPaySumamt), platform.AmountOf(s.AcctPay)}
	}
	a := run(psnLocalEmployee, "310", "F1", line{codgCT, "1", "240"})
	b := run(psnZeroBalance, "310", "F2", line{codgVisit, "1", "25"})
	onlyPlatform := run(psnLocalResident, "390", "F3", line{codgCT, "1", "240"})
	row := func(s settled, psn string) platform.ReconFileRow {
		return platform.ReconFileRow{SetlID: s.setl, MdtrtID: s.mdtrt, PsnNo: psn, MedfeeSumamt: s.medfee, FundPaySumamt: s.fund, AcctPay: s.acct, RefdSetlFlag: "0"}
	}
	wrong := row(b, psnZeroBalance)
	wrong.FundPaySumamt++
	rows := []platform.ReconFileRow{row(a, psnLocalEmployee), wrong, {SetlID: "ST-ONLY-HOSPITAL", MdtrtID: "M0", PsnNo: psnLocalEmployee, MedfeeSumamt: 100}}
	res, err := cl.DetailReconByFile(context.Background(), platform.DetailRecon{
		Upload: c.meta(), Recon: c.meta(), Download: c.meta(),
		Data: platform.DetailReconFileData{SetlOptins: "330100", StmtBegndate: "2026-11-23", StmtEnddate: "2026-11-23"},
		Rows: rows,
	})
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]platform.ReconResultRow{}
	for _, r := range res {
		got[r.SetlID] = r
	}
	if len(res) != 3 {
		t.Errorf("result rows %+v; want 3", res)
	}
	if r := got[onlyPlatform.setl]; r.StmtRslt != platform.StmtPlatformMore || r.Msgid != onlyPlatform.msgid {
		t.Errorf("the settlement only the platform holds: %+v; want stmt_rslt 1 with msgid %s", r, onlyPlatform.msgid)
	}
	if r := got["ST-ONLY-HOSPITAL"]; r.StmtRslt != platform.StmtHospitalMore {
		t.Errorf("the settlement only the hospital lists: %+v; want stmt_rslt 2", r)
	}
	if r := got[b.setl]; r.StmtRslt != platform.StmtDataDiffer || r.FundPaySumamt != b.fund || r.Msgid != b.msgid {
		t.Errorf("the settlement whose amount differs: %+v; want stmt_rslt 3 with the platform's amounts", r)
	}
	// A count that does not match the file is refused.
	z, _ := platform.BuildReconFile("x.txt", rows)
	fi, _, err := cl.UploadFile(context.Background(), c.meta(), "x.zip", z)
	if err != nil {
		t.Fatal(err)
	}
	c.refused("3202", platform.DetailReconFileInput{Data: platform.DetailReconFileData{FileQuryNo: fi.FileQuryNo, StmtBegndate: "2026-11-23", StmtEnddate: "2026-11-23", FixmedinsSetlCnt: 9}}, "不符")
	c.refused("3202", platform.DetailReconFileInput{Data: platform.DetailReconFileData{FileQuryNo: "fsi/sim/none", FixmedinsSetlCnt: 0}}, "不存在")
}

// TestQueries_VisitFindsAdmission: a 2401 whose answer was lost is found by 5201 with
// the hospital's ipt_no.
func TestQueries_VisitFindsAdmission(t *testing.T) {
	_, c := mustSim(t, nil)
	cl := realClient(t, c, platform.Options{})
	mdtrt, _ := c.admit(psnLocalEmployee, "310", "ZY-0001")
	visits, _, err := cl.QueryVisits(context.Background(), c.meta(), platform.VisitQueryData{PsnNo: psnLocalEmployee, MedType: "21"})
	if err != nil {
		t.Fatal(err)
	}
	if v, ok := visits.ByIptOtpNo("ZY-0001"); !ok || v.MdtrtID != mdtrt || v.MedType != "21" {
		t.Errorf("5201 by ipt_no: %+v, %v; want mdtrt_id %s", v, ok, mdtrt)
	}
}

// TestQueries_StayListedOnce: 5201 lists a stay once.
func TestQueries_StayListedOnce(t *testing.T) {
	_, c := mustSim(t, nil)
	cl := realClient(t, c, platform.Options{})
	mdtrt, _ := c.admit(psnLocalEmployee, "310", "ZY-0002")
	visits, _, err := cl.QueryVisits(context.Background(), c.meta(), platform.VisitQueryData{PsnNo: psnLocalEmployee})
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, v := range visits.Mdtrtinfo {
		if v.MdtrtID == mdtrt {
			n++
		}
	}
	if n != 1 {
		t.Errorf("stay %s listed %d times; want once", mdtrt, n)
	}
}
