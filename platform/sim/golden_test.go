package sim

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/settle-agent/settle-agent/internal/golden"

	"github.com/settle-agent/settle-agent/platform"
)

// TestGolden_Answers pins the wire form of every answer of one outpatient story (a
// fresh platform, the test clock, fixed msgids): field names, number shapes, ids.
func TestGolden_Answers(t *testing.T) {
	_, c := mustSim(t, nil)
	var out bytes.Buffer
	refused := false // the next step is expected to be refused
	step := func(infno string, input any) json.RawMessage {
		t.Helper()
		msgid := fmt.Sprintf("H33010200001202611231000%06d", c.seq.Add(1))
		resp := c.callID(infno, msgid, input)
		if (resp.Infcode == 0) == refused {
			t.Errorf("%s: infcode %d %s", infno, resp.Infcode, resp.ErrMsg)
		}
		refused = false
		raw, _ := json.Marshal(resp)
		var pretty bytes.Buffer
		if err := json.Indent(&pretty, raw, "", "  "); err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(&out, "== %s %s\n%s\n", infno, msgid, pretty.Bytes())
		return resp.Output
	}
	step("9001", platform.SignInInput{SignIn: platform.SignInData{OpterNo: "W01", Mac: "00-11-22-33-44-55", IP: "127.0.0.1"}})
	step("1101", platform.PersonInfoInput{Data: platform.PersonQuery{MdtrtCertType: "03", MdtrtCertNo: "A33010006", CardSN: "330100D156000005000006"}})
	step("5301", platform.ChronicQueryInput{Data: platform.ChronicQueryData{PsnNo: psnChronic}})
	var reg platform.RegisterOutput
	_ = json.Unmarshal(step("2201", regInput(psnChronic)), &reg)
	mdtrt := reg.Data.MdtrtID
	step("2203", platform.VisitInfoInput{Mdtrtinfo: platform.VisitInfo{MdtrtID: mdtrt, PsnNo: psnChronic, MedType: "14", DiseCodg: "E11.900"}})
	step("2204", c.feeInput(psnChronic, mdtrt, "G1", line{codgVisit, "1", "30"}, line{codgIrbesar, "28", "1.5"}, line{"XA10AEG030B002010100005", "2", "78.5"}, line{codgCheckup, "1", "300"}))
	in := settleInput(psnChronic, mdtrt, "G1", "14", "310", money("529.00"), "1")
	var pre platform.SettleOutput
	_ = json.Unmarshal(step("2206", in), &pre)
	var s platform.SettleOutput
	_ = json.Unmarshal(step("2207", platform.SettleConfirmInput{Data: platform.ConfirmData(in.Data, pre.Setlinfo, "INV0001")}), &s)
	step("5203", platform.SettleQueryInput{Data: platform.SettleQueryData{PsnNo: psnChronic, MdtrtID: mdtrt}})
	step("5204", platform.FeeQueryInput{Data: platform.FeeQueryData{PsnNo: psnChronic, MdtrtID: mdtrt}})
	step("2208", platform.CancelSettleInput{Data: platform.CancelSettleData{SetlID: s.Setlinfo.SetlID, MdtrtID: mdtrt, PsnNo: psnChronic}})
	refused = true
	step("2601", platform.ReversalInput{Data: platform.ReversalData{PsnNo: psnChronic, Omsgid: "H33010200001202611230000000000", Oinfno: "2207"}})
	refused = true
	step("2601", platform.ReversalInput{Data: platform.ReversalData{PsnNo: psnChronic, Omsgid: "H33010200001202611231000000004", Oinfno: "2201"}})
	step("2205", platform.CancelFeeInput{Data: platform.CancelFeeData{ChrgBchno: platform.ChrgBchnoAll, MdtrtID: mdtrt, PsnNo: psnChronic}})
	step("5201", platform.VisitQueryInput{Data: platform.VisitQueryData{PsnNo: psnChronic, Begntime: "2026-11-23 00:00:00", Endtime: "2026-11-23 23:59:59"}})
	step("3201", platform.TotalReconInput{Data: platform.TotalReconData{StmtBegndate: "2026-11-23", StmtEnddate: "2026-11-23"}})
	z, err := platform.BuildReconFile("H33010200001_20261123.txt", nil)
	if err != nil {
		t.Fatal(err)
	}
	var fi platform.FileUploadOutput
	_ = json.Unmarshal(step("9101", platform.FileUploadInput{FsUploadIn: platform.FileUploadData{In: platform.FileContent{Bytes: z}, Filename: "H33010200001_20261123.zip", FixmedinsCode: "H33010200001"}}), &fi)
	step("3202", platform.DetailReconFileInput{Data: platform.DetailReconFileData{SetlOptins: "330100", FileQuryNo: fi.FileQuryNo, StmtBegndate: "2026-11-23", StmtEnddate: "2026-11-23"}})
	refused = true
	step("1101", platform.PersonInfoInput{Data: platform.PersonQuery{MdtrtCertType: "02", MdtrtCertNo: "110101199001011234"}})

	path := filepath.Join("testdata", "story.golden")
	if golden.Update() {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, out.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -run Golden -update to create it)", err)
	}
	if !bytes.Equal(out.Bytes(), want) {
		t.Errorf("answers differ from %s (go test -run Golden -update rewrites it after review):\n%s", path, out.String())
	}
}
