package agent_test

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	settle "github.com/settle-agent/settle-agent"
	"github.com/settle-agent/settle-agent/config"
	"github.com/settle-agent/settle-agent/hisadapter"
	"github.com/settle-agent/settle-agent/platform/sim"
)

var iptSeq atomic.Int64

func newIptNo() string { return fmt.Sprintf("ZY%d%04d", time.Now().UnixNano()%1e6, iptSeq.Add(1)) }

func admissionBody(ipt, card string, at time.Time) map[string]any {
	return map[string]any{
		"ipt_no": ipt, "window": "W01",
		"patient": map[string]any{"mdtrt_cert_type": "03", "mdtrt_cert_no": card},
		"dept":    map[string]any{"code": "0301", "name": "内科"}, "doctor": map[string]any{"code": "D0042", "name": "王医生"},
		"bed": "12-03", "diagnoses": []any{map[string]any{"code": "J18.900", "name": "肺炎"}},
		"admitted_at": at.Format(time.RFC3339),
	}
}

func feesBody(batch string, at time.Time, saline int) map[string]any {
	return map[string]any{"batch_no": batch, "items": []any{
		map[string]any{"line": 1, "his_code": "CW0001", "name": "普通病房床位费", "qty": "1", "unit_price": "50.00", "amount": "50.00", "occurred_at": at.Format(time.RFC3339)},
		map[string]any{"line": 2, "his_code": "YP0009", "name": "氯化钠注射液", "qty": fmt.Sprint(saline), "unit_price": "3.50",
			"amount": settle.LineAmount(mustQty(fmt.Sprint(saline)), mustPrice("3.50")).String(), "occurred_at": at.Format(time.RFC3339)},
	}}
}

// staySettledOnce fails unless the platform holds exactly one final settlement of each stay.
func (s *testSystem) staySettledOnce(t *testing.T, ipts ...string) {
	t.Helper()
	settled := s.Sim.SettledStays()
	for _, ipt := range ipts {
		if n := settled[ipt]; n != 1 {
			t.Errorf("stay %s settled %d times at the platform; want exactly 1", ipt, n)
		}
	}
	if rep := s.Sim.RepeatedMsgids(); len(rep) != 0 {
		t.Errorf("msgids sent twice: %v", rep)
	}
}

func TestAgent_Stay_API(t *testing.T) {
	s := MustSystem(t, nil)
	ipt := newIptNo()
	admitted := time.Now().Add(-48 * time.Hour)
	st, body := s.Do("POST", "/v1/stays", tokW01, admissionBody(ipt, cardLocalEmployee, admitted))
	if st != 201 || str(body, "state") != "admitted" || str(body, "mdtrt_id") == "" {
		t.Fatalf("POST /v1/stays: %d %v; want 201 admitted with a mdtrt_id", st, body)
	}
	if st, again := s.Do("POST", "/v1/stays", tokW01, admissionBody(ipt, cardLocalEmployee, admitted)); st != 201 || str(again, "mdtrt_id") != str(body, "mdtrt_id") {
		t.Errorf("the same admission again: %d %v; want what it answered", st, again)
	}
	if st, _ := s.Do("POST", "/v1/stays", tokW01, admissionBody(ipt, cardLocalResident, admitted)); st != 409 {
		t.Errorf("another admission under the same ipt_no: %d; want 409", st)
	}
	if st, _ := s.Do("GET", "/v1/stays/"+ipt, tokW02, nil); st != 403 {
		t.Errorf("another window's token: %d; want 403", st)
	}
	for day := 0; day < 2; day++ {
		at := admitted.Add(time.Duration(day)*24*time.Hour + 9*time.Hour)
		st, body := s.Do("POST", "/v1/stays/"+ipt+"/fees", tokW01, feesBody(fmt.Sprintf("D%d", day+1), at, 100))
		if st != 201 || str(body, "batch", "state") != "uploaded" {
			t.Fatalf("fees day %d: %d %v; want 201 uploaded", day+1, st, body)
		}
	}
	if st, _ := s.Do("POST", "/v1/stays/"+ipt+"/fees", tokW01, feesBody("D1", admitted.Add(9*time.Hour), 100)); st != 201 {
		t.Errorf("the same batch again: %d; want 201 as it answered", st)
	}
	if st, body := s.Do("POST", "/v1/stays/"+ipt+"/fees", tokW01, feesBody("D1", admitted.Add(9*time.Hour), 101)); st != 409 || str(body, "error", "code") != "conflict" {
		t.Errorf("the same batch_no with other lines: %d %v; want 409 conflict", st, body)
	}
	bad := feesBody("D3", admitted.Add(-time.Hour), 1)
	bad["items"].([]any)[0].(map[string]any)["amount"] = "49.00"
	if st, body := s.Do("POST", "/v1/stays/"+ipt+"/fees", tokW01, bad); st != 422 || !strings.Contains(fmt.Sprint(body["error"]), "items[0].amount") {
		t.Errorf("a bad batch: %d %v; want 422 naming items[0].amount", st, body)
	}
	if st, body := s.Do("POST", "/v1/stays/"+ipt+"/settle", tokW01, map[string]any{}); st != 409 || str(body, "error", "code") != "stay_not_discharged" {
		t.Errorf("settle before discharge: %d %v; want 409 stay_not_discharged", st, body)
	}
	dis := map[string]any{"discharged_at": time.Now().Format(time.RFC3339), "diagnoses": []any{map[string]any{"code": "J18.900", "name": "肺炎"}}, "dscg_way": "1"}
	if st, body := s.Do("POST", "/v1/stays/"+ipt+"/discharge", tokW01, dis); st != 200 || str(body, "state") != "discharged" {
		t.Fatalf("discharge: %d %v; want 200 discharged", st, body)
	}
	st, pre := s.Do("POST", "/v1/stays/"+ipt+"/presettle", tokW01, map[string]any{"mid_setl": false, "acct_used_flag": "1"})
	if st != 200 || str(pre, "fund_pay_sumamt") == "" || str(pre, "split", "medfee_sumamt") != "800.00" {
		t.Fatalf("presettle: %d %v; want 200 with the split of 800.00", st, pre)
	}
	st, setl := s.Do("POST", "/v1/stays/"+ipt+"/settle", tokW01, map[string]any{"acct_used_flag": "1", "psn_setlway": "01"})
	if st != 200 || str(setl, "state") != "settled" || str(setl, "settlement", "setl_id") == "" || str(setl, "settlement", "clr_type") != "21" {
		t.Fatalf("settle: %d %v; want 200 settled with a clr_type 21 settlement", st, setl)
	}
	if str(setl, "settlement", "fund_pay_sumamt") != str(pre, "fund_pay_sumamt") {
		t.Errorf("settled fund share %s; want the pre-settlement's %s", str(setl, "settlement", "fund_pay_sumamt"), str(pre, "fund_pay_sumamt"))
	}
	s.staySettledOnce(t, ipt)
	st, got := s.Do("GET", "/v1/stays/"+ipt, tokW01, nil)
	if st != 200 || len(got["fee_batches"].([]any)) != 2 || len(got["history"].([]any)) < 5 {
		t.Errorf("GET: %d %v; want two batches and the history", st, got)
	}
	if st, body := s.Do("POST", "/v1/stays/"+ipt+"/cancel", tokW01, nil); st != 409 || str(body, "error", "code") != "stay_has_settlement" {
		t.Errorf("cancel a settled stay: %d %v; want 409 stay_has_settlement", st, body)
	}
	if st, body := s.Do("POST", "/v1/stays/"+ipt+"/cancel-settlement", tokW01, map[string]any{"setl_id": str(setl, "settlement", "setl_id")}); st != 200 || str(body, "state") != "discharged" {
		t.Errorf("cancel-settlement: %d %v; want 200 discharged", st, body)
	}
	if st, body := s.Do("POST", "/v1/stays/"+ipt+"/cancel", tokW01, nil); st != 200 || str(body, "state") != "cancelled" {
		t.Errorf("cancel: %d %v; want 200 cancelled", st, body)
	}
	if _, ok := s.Sim.StayAt("", ipt); ok {
		t.Error("the platform still holds the cancelled stay")
	}
	if st, _ := s.Do("GET", "/v1/stays/NOSUCH", tokW01, nil); st != 404 {
		t.Errorf("unknown stay: %d; want 404", st)
	}

	unfiled := newIptNo()
	st, body = s.Do("POST", "/v1/stays", tokW01, admissionBody(unfiled, cardUnfiled, admitted))
	if st != 422 || str(body, "error", "code") != "platform_refused" || !strings.Contains(str(body, "error", "message"), "未备案") {
		t.Errorf("an unfiled cross-region patient: %d %v; want 422 with the platform's 未备案", st, body)
	}
}

func TestAgent_Stay_OfflineDeferThenSync(t *testing.T) {
	s := MustSystem(t, nil)
	ipt := newIptNo()
	admitted := time.Now().Add(-24 * time.Hour)
	if st, body := s.Do("POST", "/v1/stays", tokW01, admissionBody(ipt, cardShanghaiFiled, admitted)); st != 201 {
		t.Fatalf("admit: %d %v", st, body)
	}
	s.Sim.SetFaults(sim.Faults{Down: true})
	if st, body := s.Do("POST", "/v1/stays/"+ipt+"/fees", tokW01, feesBody("D1", admitted.Add(time.Hour), 200)); st != 202 || str(body, "batch", "state") != "queued" {
		t.Fatalf("fees offline: %d %v; want 202 queued", st, body)
	}
	dis := map[string]any{"discharged_at": time.Now().Format(time.RFC3339), "diagnoses": []any{map[string]any{"code": "J18.900"}}}
	if st, body := s.Do("POST", "/v1/stays/"+ipt+"/discharge", tokW01, dis); st != 202 || str(body, "state") != "queued" {
		t.Fatalf("discharge offline: %d %v; want 202 queued", st, body)
	}
	if st, body := s.Do("POST", "/v1/stays/"+ipt+"/presettle", tokW01, nil); st != 503 || str(body, "error", "code") != "platform_offline" {
		t.Errorf("presettle offline: %d %v; want 503 platform_offline", st, body)
	}
	if st, body := s.Do("POST", "/v1/stays/"+ipt+"/settle", tokW01, nil); st != 202 || str(body, "state") != "queued" {
		t.Fatalf("settle offline (defer): %d %v; want 202 queued", st, body)
	}
	_, status := s.Do("GET", "/v1/status", tokW01, nil)
	stays, _ := status["stays"].(map[string]any)
	if stays["queued_ops"] != float64(3) || stays["discharged_unsettled"] != float64(1) || stays["open"] != float64(1) {
		t.Errorf("status stays %v; want 1 open, 1 discharged unsettled, 3 queued operations", stays)
	}
	page, err := http.Get(s.URL + "/?lang=en")
	if err != nil {
		t.Fatal(err)
	}
	html, _ := io.ReadAll(page.Body)
	page.Body.Close()
	for _, want := range []string{"open stays<b>1</b>", "discharged, not settled<b>1</b>", "queued stay messages<b>3</b>"} {
		if !strings.Contains(string(html), want) {
			t.Errorf("status page lacks %q", want)
		}
	}
	s.Sim.SetFaults(sim.Faults{})
	s.waitFor("the stay synced and settled", func() bool {
		_, b := s.Do("GET", "/v1/stays/"+ipt, tokW01, nil)
		return str(b, "state") == "settled"
	})
	s.staySettledOnce(t, ipt)
	_, got := s.Do("GET", "/v1/stays/"+ipt, tokW01, nil)
	if got["settlement"].(map[string]any)["offline"] != true {
		t.Errorf("synced settlement %v; want it marked offline (settled from the queue)", got["settlement"])
	}
	st, rep := s.Do("GET", "/v1/reconciliation?date="+dayNow(), tokAdmin, nil)
	found := false
	for _, row := range asSlice(rep["differences"]) {
		r := row.(map[string]any)
		if r["bill_no"] == ipt && r["deposit"] == true && str(r, "amount_due") == str(got, "settlement", "psn_cash_pay") {
			found = true
		}
	}
	inpatientTotal := false
	for _, tot := range asSlice(rep["totals"]) {
		tm := tot.(map[string]any)
		if tm["clr_type"] == "21" && tm["insutype"] == "310" && tm["fixmedins_setl_cnt"] == float64(1) && tm["stmt_rslt"] == "0" {
			inpatientTotal = true
		}
	}
	if st != 200 || !found || !inpatientTotal {
		t.Errorf("reconciliation: %d %v; want the stay's own share due from the deposit, and a balanced clr_type 21 total", st, rep)
	}
	resp, err := http.Get(s.URL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	metrics, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, want := range []string{`settle_agent_stays{state="settled"} 1`, "settle_agent_stay_queued_ops 0", "settle_agent_stays_discharged_unsettled 0"} {
		if !strings.Contains(string(metrics), want) {
			t.Errorf("/metrics lacks %q", want)
		}
	}
}

func TestAgent_Stay_OfflineRefuse(t *testing.T) {
	s := MustSystem(t, func(c *config.Config) { c.Offline.Inpatient = "refuse" })
	ipt := newIptNo()
	admitted := time.Now().Add(-24 * time.Hour)
	s.Do("POST", "/v1/stays", tokW01, admissionBody(ipt, cardLocalResident, admitted))
	s.Do("POST", "/v1/stays/"+ipt+"/fees", tokW01, feesBody("D1", admitted.Add(time.Hour), 10))
	s.Do("POST", "/v1/stays/"+ipt+"/discharge", tokW01, map[string]any{"discharged_at": time.Now().Format(time.RFC3339), "diagnoses": []any{map[string]any{"code": "J18.900"}}})
	s.Sim.SetFaults(sim.Faults{Down: true})
	s.waitFor("the agent sees the platform offline", func() bool {
		_, st := s.Do("GET", "/v1/status", tokW01, nil)
		if st["online"] == false {
			return true
		}
		s.Do("POST", "/v1/persons/lookup", tokW01, map[string]any{"mdtrt_cert_type": "03", "mdtrt_cert_no": cardLocalResident})
		return false
	})
	if st, body := s.Do("POST", "/v1/stays/"+ipt+"/settle", tokW01, nil); st != 503 || str(body, "error", "code") != "offline_refused" {
		t.Errorf("settle offline under refuse: %d %v; want 503 offline_refused", st, body)
	}
}

// TestAgent_Stay_HL7AndDropFolder admits, charges and discharges a stay through HL7
// and a drop folder file, and settles it through the API.
func TestAgent_Stay_HL7AndDropFolder(t *testing.T) {
	drop := t.TempDir()
	s := MustSystem(t, func(c *config.Config) {
		c.HL7.Listen = "127.0.0.1:0"
		c.HL7.InpatientWindow = "W01"
		c.DropFolder.Dir = drop
		c.DropFolder.QuietTime = config.Duration{Duration: 50 * time.Millisecond}
		c.DropFolder.PollInterval = config.Duration{Duration: 20 * time.Millisecond}
	})
	send := func(t *testing.T, msg string) string {
		conn, err := net.Dial("tcp", s.Agent.HL7Addr())
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		_ = conn.SetDeadline(time.Now().Add(20 * time.Second))
		if _, err := conn.Write(hisadapter.Frame([]byte(strings.ReplaceAll(msg, "\n", "\r")))); err != nil {
			t.Fatal(err)
		}
		ack, err := bufio.NewReader(conn).ReadString(0x1c)
		if err != nil {
			t.Fatal(err)
		}
		return ack
	}
	ipt := newIptNo()
	admitted := time.Now().Add(-48 * time.Hour).In(settle.Beijing)
	hl7t := func(t time.Time) string { return t.In(settle.Beijing).Format("20060102150405") }
	admit := "MSH|^~\\&|HIS|H|SETTLE|H|" + hl7t(admitted) + "||ADT^A01^ADT_A01|A" + ipt + "|P|2.5|||||CHN|UNICODE UTF-8\n" +
		"PID|1||BA1||张^伟\n" +
		"PV1|1|I|NK01^1203^12-03||||D0042^王^医生|||0301^内科|||||||||" + ipt + "|||||||||||||||||||||||||" + hl7t(admitted) + "\n" +
		"IN1|1|310||||||||||||||||||||||||||||||||||03^A33010001\n" +
		"DG1|1||J18.900^肺炎^ICD10|||A\n"
	if ack := send(t, admit); !strings.Contains(ack, "MSA|AA|") {
		t.Fatalf("ADT^A01: %q; want AA", ack)
	}
	fees := "MSH|^~\\&|HIS|H|SETTLE|H|" + hl7t(admitted.Add(10*time.Hour)) + "||DFT^P03|F" + ipt + "|P|2.5\n" +
		"PV1|1|I|NK01^1203^12-03||||||||||||||||" + ipt + "\n" +
		"FT1|1||D1|" + hl7t(admitted.Add(9*time.Hour)) + "||CG|CW0001^普通病房床位费|||1|50.00|50.00\n" +
		"FT1|2||D1|" + hl7t(admitted.Add(9*time.Hour)) + "||CG|HL0001^一级护理|||1|30.00|30.00\n"
	if ack := send(t, fees); !strings.Contains(ack, "MSA|AA|") {
		t.Fatalf("DFT^P03 PV1-2 I: %q; want AA", ack)
	}
	day2 := admitted.Add(33 * time.Hour)
	csv := "ipt_no,batch_no,line,his_code,name,qty,unit_price,amount,occurred_at\n" +
		ipt + ",D2,1,CW0001,普通病房床位费,1,50.00,50.00," + day2.Format("2006-01-02 15:04:05") + "\n" +
		ipt + ",D2,2,YP0009,氯化钠注射液,4,3.50,14.00," + day2.Format("2006-01-02 15:04:05") + "\n"
	if err := os.WriteFile(filepath.Join(drop, "fees.csv.tmp"), []byte(csv), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(filepath.Join(drop, "fees.csv.tmp"), filepath.Join(drop, "fees.csv")); err != nil {
		t.Fatal(err)
	}
	s.waitFor("the fee file in done/", func() bool {
		_, err := os.Stat(filepath.Join(drop, "done", "fees.csv"))
		return err == nil
	})
	dscg := "MSH|^~\\&|HIS|H|SETTLE|H|" + hl7t(time.Now()) + "||ADT^A03^ADT_A03|D" + ipt + "|P|2.5\n" +
		"PV1|1|I|NK01^1203^12-03|||||||0301^内科|||||||||" + ipt + "|||||||||||||||||1||||||||" + hl7t(admitted) + "|" + hl7t(time.Now()) + "\n" +
		"DG1|1||J18.900^肺炎^ICD10|||F\n"
	if ack := send(t, dscg); !strings.Contains(ack, "MSA|AA|") {
		t.Fatalf("ADT^A03: %q; want AA", ack)
	}
	st, body := s.Do("POST", "/v1/stays/"+ipt+"/settle", tokW01, nil)
	if st != 200 || str(body, "settlement", "medfee_sumamt") != "144.00" {
		t.Fatalf("settle: %d %v; want 200 with 144.00 settled", st, body)
	}
	s.staySettledOnce(t, ipt)
	late := strings.ReplaceAll(strings.Replace(fees, "|F"+ipt+"|", "|G"+ipt+"|", 1), "||D1|", "||D3|")
	if ack := send(t, late); !strings.Contains(ack, "MSA|AE|") || !strings.Contains(ack, "PV1-19") {
		t.Errorf("fees after the final settlement: %q; want AE naming PV1-19", ack)
	}
}

func asSlice(v any) []any {
	s, _ := v.([]any)
	return s
}
