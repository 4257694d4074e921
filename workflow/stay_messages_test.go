package workflow

import (
	"encoding/json"
	"path/filepath"
	"testing"
	"time"

	"github.com/settle-agent/settle-agent/internal/golden"

	settle "github.com/settle-agent/settle-agent"
)

// sampleStay is a stay as the engine holds it after admission, two fee batches (the
// first uploaded once and lost, so its lines are on their second attempt) and the
// discharge.
func sampleStay() *StayRecord {
	at := time.Date(2026, 11, 20, 9, 0, 0, 0, settle.Beijing)
	q := func(s string) settle.Qty { v, _ := settle.ParseQty(s); return v }
	p := func(s string) settle.Price { v, _ := settle.ParsePrice(s); return v }
	item := func(line int, code, codg, name, qty, price string, when time.Time) settle.FeeItem {
		return settle.FeeItem{Item: settle.Item{Line: line, HISCode: code, Name: name, Qty: q(qty), UnitPrice: p(price),
			Amount: settle.LineAmount(q(qty), p(price)), MedListCodg: codg, MedinsListCodg: code}, OccurredAt: when}
	}
	return &StayRecord{
		Admission: settle.Admission{IptNo: "ZY20261120001", Window: "ZYC01",
			Patient: settle.Patient{MdtrtCertType: settle.CertSSCard, MdtrtCertNo: "A33010001"},
			Dept:    settle.Code{Code: "0301", Name: "内科"}, Doctor: settle.Code{Code: "D0042", Name: "王医生"}, Bed: "12-03",
			Diagnoses:  []settle.Code{{Code: "J18.900", Name: "肺炎"}, {Code: "I10.x00", Name: "高血压"}},
			AdmittedAt: at},
		PsnNo: "33010000000000000001", Insutype: "310", Insuplc: "330100", MdtrtID: "ZY2026112000000001", Admitted: true,
		Batches: []StayBatch{
			{Seq: 1, Attempt: 1, Uploaded: true, Batch: settle.FeeBatch{IptNo: "ZY20261120001", BatchNo: "D1", Items: []settle.FeeItem{
				item(1, "CW0001", "110900001000000", "普通病房床位费", "1", "50.00", at.Add(9*time.Hour)),
				item(2, "YP0009", "XB05BBA010B001010100009", "氯化钠注射液", "4", "3.50", at.Add(11*time.Hour)),
			}}},
			{Seq: 2, Batch: settle.FeeBatch{IptNo: "ZY20261120001", BatchNo: "D2", Items: []settle.FeeItem{
				item(1, "HL0001", "120100002000000", "一级护理", "1", "30.00", at.Add(33*time.Hour)),
			}}},
		},
		Discharge: &settle.Discharge{DischargedAt: at.Add(49 * time.Hour), Diagnoses: []settle.Code{{Code: "J18.900", Name: "肺炎"}}},
		Presettle: &settle.Split{MedfeeSumamt: settle.MustMoney("94.00"), InscpScpAmt: settle.MustMoney("94.00")},
	}
}

func TestStayMessages_Golden(t *testing.T) {
	rec := sampleStay()
	final := StayOp{Kind: OpSettle, PayChoice: PayChoice{AcctUsedFlag: "0"}}
	mid := StayOp{Kind: OpSettle, Mid: true}
	pre := InpatientPreSettleInput(rec, final, settle.MustMoney("94.00"))
	for _, s := range []struct {
		name string
		msg  any
	}{
		{"2401", AdmissionInput(rec)},
		{"2301", InpatientFeeInput(rec, &rec.Batches[0])},
		{"2302", InpatientCancelFeeInput(rec, StayFeedetlSn(&rec.Batches[0], 2))},
		{"2402", DischargeInput(rec)},
		{"2303", pre},
		{"2303_mid", InpatientPreSettleInput(rec, mid, settle.MustMoney("94.00"))},
		{"2304", InpatientSettleInput(pre, platformSetlinfo(rec.Presettle))},
		{"2305", InpatientCancelSettleInput(rec, "ZS2026112200000009")},
		{"2404", StayRef(rec)},
		{"2601", StayReversalInput(rec, Pending{Infno: "2304", Msgid: "H33010200001202611221000000009"})},
	} {
		t.Run(s.name, func(t *testing.T) {
			got, err := json.MarshalIndent(s.msg, "", "  ")
			if err != nil {
				t.Fatal(err)
			}
			golden.Check(t, filepath.Join("testdata", "stay", s.name+".json"), append(got, '\n'))
		})
	}
	if got := StayFeedetlSn(&rec.Batches[0], 2); got != "1-1-2" {
		t.Errorf("feedetl_sn of batch 1, attempt 1, line 2: %s; want 1-1-2 (unique within the stay across attempts)", got)
	}
}
