package workflow_test

import (
	"encoding/json"
	"testing"
	"time"

	settle "github.com/settle-agent/settle-agent"
	"github.com/settle-agent/settle-agent/internal/golden"
	"github.com/settle-agent/settle-agent/workflow"
)

// goldenRecord is a bill as the engine holds it just before its 2207: mapped, with
// its person, visit, fee batch and the platform's pre-settlement.
func goldenRecord() *workflow.Record {
	q1, _ := settle.ParseQty("1")
	p1, _ := settle.ParsePrice("25.00")
	q2, _ := settle.ParseQty("14")
	p2, _ := settle.ParsePrice("1.50")
	return &workflow.Record{
		Bill: settle.Bill{
			BillNo: "MZ20261123000123", Window: "W01",
			Patient: settle.Patient{MdtrtCertType: settle.CertSSCard, MdtrtCertNo: "A12345678", CardSN: "330100D15600000500A1B2C3"},
			MedType: settle.MedTypeChronic, Dept: settle.Code{Code: "0301", Name: "内科"}, Doctor: settle.Code{Code: "D0042", Name: "王医生"},
			Diagnoses: []settle.Code{{Code: "I10.x00", Name: "高血压"}},
			Items: []settle.Item{
				{Line: 1, HISCode: "ZL0001", Name: "普通门诊诊查费", Qty: q1, UnitPrice: p1, Amount: settle.MustMoney("25.00"), MedListCodg: "001101000010000", MedinsListCodg: "ZL0001"},
				{Line: 2, HISCode: "YP0003", Name: "厄贝沙坦片", Qty: q2, UnitPrice: p2, Amount: settle.MustMoney("21.00"), MedListCodg: "XC09CAE010A001010100003", MedinsListCodg: "YP0003"},
			},
			Total: settle.MustMoney("46.00"), CreatedAt: time.Date(2026, 11, 23, 9, 12, 0, 0, settle.Beijing),
		},
		PsnNo: "33010000000000000001", Insutype: "310", Insuplc: "330100", MdtrtID: "MD2026112300000002",
		PayChoice: workflow.PayChoice{AcctUsedFlag: "1", PsnSetlway: "01"},
		Presettle: &settle.Split{MedfeeSumamt: settle.MustMoney("46.00"), FulamtOwnpayAmt: settle.MustMoney("0.00"),
			OverlmtSelfpay: settle.MustMoney("0.00"), PreselfpayAmt: settle.MustMoney("2.10"), InscpScpAmt: settle.MustMoney("43.90")},
		Settlement: &settle.Split{SetlID: "ST2026112300000003"},
	}
}

// TestMessages_Golden: every step's message, built by the pure builders, is what the
// platform is sent (go test -update rewrites testdata/golden/messages after review).
func TestMessages_Golden(t *testing.T) {
	rec := goldenRecord()
	again := goldenRecord()
	again.FeeBatch = 2 // after a lost upload was cancelled
	pending := workflow.Pending{Infno: "2207", Msgid: "H33010200001202611230912010001"}
	for name, msg := range map[string]any{
		"1101":       workflow.PersonInput(rec.Bill.Patient, rec.Bill.CreatedAt),
		"2201":       workflow.RegisterInput(rec),
		"2203":       workflow.VisitInput(rec),
		"2204":       workflow.FeeInput(rec),
		"2204-batch": workflow.FeeInput(again),
		"2205":       workflow.CancelFeeInput(rec, workflow.ChargeBatch(again)),
		"2206":       workflow.SettleInput(rec),
		"2207":       workflow.ConfirmInput(rec),
		"2208":       workflow.CancelSettleInput(rec),
		"2202":       workflow.CancelRegisterInput(rec),
		"2601":       workflow.ReversalInput(rec, pending),
	} {
		got, err := json.MarshalIndent(msg, "", "  ")
		if err != nil {
			t.Fatal(err)
		}
		golden.Check(t, "testdata/golden/messages/"+name+".json", append(got, '\n'))
	}
}
