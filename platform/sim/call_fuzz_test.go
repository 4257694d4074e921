package sim

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/settle-agent/settle-agent/platform"
)

// FuzzServeCall feeds arbitrary bodies to callService: every one must be answered
// with an envelope (never a panic, never a non-JSON answer), and the books must keep
// their identities whatever arrives.
func FuzzServeCall(f *testing.F) {
	seeds := []string{
		`{"infno":"1101","msgid":"m1","input":{"data":{"mdtrt_cert_type":"03","mdtrt_cert_no":"A33010001","card_sn":"330100D156000005000001"}}}`,
		`{"infno":"2201","msgid":"m2","input":{"data":{"psn_no":"33010000000000000001","insutype":"310"}}}`,
		`{"infno":"2204","msgid":"m3","input":{"feedetail":[{"feedetl_sn":"1","mdtrt_id":"MD2026112300000001","psn_no":"33010000000000000001","chrg_bchno":"B1","med_list_codg":"001101000010000","det_item_fee_sumamt":25,"cnt":1,"pric":25}]}}`,
		`{"infno":"2207","msgid":"m4","input":{"data":{"psn_no":"33010000000000000001","mdtrt_id":"MD2026112300000001","chrg_bchno":"B1","med_type":"11","medfee_sumamt":"25.00","insutype":"310","acct_used_flag":"1"}}}`,
		`{"infno":"2208","msgid":"m5","input":{"data":{"setl_id":"ST2026112300000002"}}}`,
		`{"infno":"2601","msgid":"m6","input":{"data":{"psn_no":"33010000000000000001","omsgid":"m4","oinfno":"2207"}}}`,
		`{"infno":"2205","msgid":"m7","input":{"data":{"feedetl_sn":"0000","mdtrt_id":"MD2026112300000001"}}}`,
		`{"infno":"3202","msgid":"m8","input":{"data":{"detail":[{"setl_id":"x","medfee_sumamt":1}]}}}`,
		`{"infno":"2203","msgid":"m9","input":{"mdtrtinfo":{"mdtrt_id":"MD2026112300000001","med_type":"14","dise_codg":"I10.x00"}}}`,
		`{"infno":"2207","msgid":"m10","input":{"data":{"psn_no":"33010000000000000001","mdtrt_id":"MD2026112300000001","chrg_bchno":"B1","med_type":"11","medfee_sumamt":"25.00","insutype":"310","acct_used_flag":"1","fulamt_ownpay_amt":0,"overlmt_selfpay":0,"preselfpay_amt":0,"inscp_scp_amt":25}}}`,
		`{"infno":"2205","msgid":"m11","input":{"data":{"chrg_bchno":"0000","mdtrt_id":"MD2026112300000001","psn_no":"33010000000000000001"}}}`,
		`{"infno":"9101","msgid":"m12","input":{"fsUploadIn":{"in":"UzEJTTEJUDEJMS4wMAkxLjAwCTAuMDAJMAo=","filename":"r.txt","fixmedins_code":"H33010200001"}}}`,
		`{"infno":"3202","msgid":"m13","input":{"data":{"file_qury_no":"fsi/sim/2026112300000001","stmt_begndate":"2026-11-23","stmt_enddate":"2026-11-23","fixmedins_setl_cnt":1}}}`,
		`{"infno":"9102","msgid":"m14","input":{"fsDownloadIn":{"file_qury_no":"fsi/sim/2026112300000001"}}}`,
		`{"infno":"5201","msgid":"m15","input":{"data":{"psn_no":"33010000000000000001"}}}`,
		`{"infno":"5203","msgid":"m16","input":{"data":{"mdtrt_id":"MD2026112300000001"}}}`,
		`{"infno":"5204","msgid":"m17","input":{"data":{"mdtrt_id":"MD2026112300000001"}}}`,
		`{"infno":"2601","msgid":"m18","input":{"data":{"omsgid":"m2","oinfno":"2201"}}}`,
		`{"infno":"2207","input":null}`,
		`[]`, `{"infno":1}`, ``,
	}
	for _, s := range seeds {
		f.Add(s)
	}
	p := New(nil, &Options{Now: func() time.Time { return testNow }})
	h := p.Handler()
	f.Fuzz(func(t *testing.T, body string) {
		req := httptest.NewRequest(http.MethodPost, DefaultPath, strings.NewReader(body))
		req.RemoteAddr = "127.0.0.1:1"
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code == http.StatusOK && rec.Header().Get("Content-Type") == octetType {
			return // a 9102 answered with the file itself
		}
		var resp platform.Response
		if rec.Code != http.StatusOK || json.Unmarshal(rec.Body.Bytes(), &resp) != nil {
			t.Fatalf("body %q answered %d %q; want an envelope", body, rec.Code, rec.Body.String())
		}
		if resp.Infcode == platform.InfcodeSystemError {
			t.Fatalf("body %q answered infcode -1 without a fault: %s", body, resp.ErrMsg)
		}
		for _, e := range p.Ledger() {
			if e.Infno == platform.InfnoSettle && e.FundPaySumamt+e.AcctPay+e.PsnCashPay+e.HospPartAmt != e.MedfeeSumamt {
				t.Fatalf("settlement %+v does not add up", e)
			}
		}
		if len(p.Ledger()) > 10000 {
			p.Reset()
		}
	})
}
