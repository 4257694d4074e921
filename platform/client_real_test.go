package platform

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/text/encoding/simplifiedchinese"
)

func TestClient_URL_Paths(t *testing.T) {
	srv := newTestServer(t)
	var mu sync.Mutex
	var paths []string
	srv.set(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		paths = append(paths, r.URL.Path)
		mu.Unlock()
		_, _ = io.Copy(io.Discard, r.Body)
		_, _ = io.WriteString(w, envelope(0, "", `{}`))
	})
	c := mustClient(t, Options{BaseURL: srv.URL + "/prefix", Paths: map[string]string{"2207": "/fsi/api/outpatientSettleService/saveSettletmentV2"}})
	for _, infno := range []string{"2207", "2206"} {
		var raw json.RawMessage
		if _, err := c.Call(context.Background(), infno, Meta{Msgid: testCode + "202611230912010001"}, nil, &raw); err != nil {
			t.Fatal(err)
		}
	}
	want := []string{"/prefix/fsi/api/outpatientSettleService/saveSettletmentV2", "/prefix" + DefaultPath}
	if strings.Join(paths, " ") != strings.Join(want, " ") {
		t.Errorf("paths %v; want %v", paths, want)
	}
	if _, err := NewClient(Options{BaseURL: srv.URL, Paths: map[string]string{"2207": "relative"}}); err == nil {
		t.Errorf("NewClient with a relative path: got nil; want an error")
	}
}

func TestClient_Call_RefusalSentinels(t *testing.T) {
	srv := newTestServer(t)
	c := mustClient(t, Options{BaseURL: srv.URL, Phrases: Phrases{AlreadySettled: []string{"visit closed"}}})
	for _, tc := range []struct {
		infno, msg string
		want       error
		not        []error
	}{
		{"2601", "原交易不存在", ErrOriginalNotFound, nil},
		{"2601", "冲正失败：原交易记录不存在，请核实", ErrOriginalNotFound, nil},
		{"2207", "原交易不存在", nil, []error{ErrOriginalNotFound}}, // only a reversal's "not found" means not booked
		{"2207", "visit closed: 重复", ErrAlreadySettled, nil},  // the configured phrase
		{"2207", "该就诊已结算", nil, []error{ErrAlreadySettled}},   // the configured list replaces the default
		{"2204", "签到编号 sign_no 无效或已失效，请先签到(9001)", ErrSessionExpired, nil},
		{"9001", "签到失败: 请先签到", nil, []error{ErrSessionExpired}},
		{"2205", "费用明细不存在或已撤销", ErrNothingToCancel, nil},
		{"2201", "该门诊号已挂号: 门诊号 ipt_otp_no B1 已登记(mdtrt_id M1)", ErrAlreadyRegistered, nil},
		{"2401", "住院号 Z1 已办理入院(mdtrt_id M1)，不能重复入院", ErrAlreadyRegistered, nil},
		{"2204", "已登记", nil, []error{ErrAlreadyRegistered}},
		{"2204", "医保目录编码不存在", nil, []error{ErrOriginalNotFound, ErrAlreadySettled, ErrSessionExpired, ErrNothingToCancel}},
	} {
		srv.set(srv.answer(200, envelope(-2, tc.msg, `{}`)))
		_, err := c.Call(context.Background(), tc.infno, Meta{Msgid: testCode + "202611230912010001"}, nil, nil)
		if !errors.Is(err, ErrBusiness) {
			t.Errorf("%s %q: got %v; want ErrBusiness", tc.infno, tc.msg, err)
		}
		if tc.want != nil && !errors.Is(err, tc.want) {
			t.Errorf("%s %q: got %v; want errors.Is %v", tc.infno, tc.msg, err, tc.want)
		}
		for _, n := range tc.not {
			if errors.Is(err, n) {
				t.Errorf("%s %q: got errors.Is %v; want not", tc.infno, tc.msg, n)
			}
		}
	}
	// The package defaults recognise the default wording.
	if err := InfcodeError("2207", &Response{Infcode: -1001, ErrMsg: "该就诊已结算，不能重复结算"}); !errors.Is(err, ErrAlreadySettled) {
		t.Errorf("InfcodeError with the default phrases: got %v; want ErrAlreadySettled", err)
	}
}

func TestDecodeResponse_Liberal(t *testing.T) {
	body := `{"infcode":"0","inf_refmsgid":330000202611230912010000514555,"refmsg_time":"20261123091201123",
	  "respond_time":null,"err_msg":null,"warn_msg":"余额不足提醒","cainfo":null,"signtype":null,"enctype":null,
	  "output":"{\"data\":{\"mdtrt_id\":\"M1\",\"psn_no\":null,\"extra\":1}}"}`
	r, err := DecodeResponse([]byte(body))
	if err != nil {
		t.Fatal(err)
	}
	if r.InfRefmsgid != "330000202611230912010000514555" || r.WarnMsg != "余额不足提醒" || r.ErrMsg != "" {
		t.Errorf("envelope %+v", r)
	}
	var out RegisterOutput
	sp, err := decodeOutputSurprises("2201", r.Output, &out)
	if err != nil || out.Data.MdtrtID != "M1" {
		t.Fatalf("output %+v, %v; want mdtrt_id M1", out, err)
	}
	if len(sp) != 1 || sp[0].Kind != SurpriseUnknownField || sp[0].Field != "data.extra" {
		t.Errorf("surprises %v; want one unknown field data.extra", sp)
	}
	at, err := ParseTime(r.RefmsgTime)
	if want := time.Date(2026, 11, 23, 9, 12, 1, 123e6, cst); err != nil || !at.Equal(want) {
		t.Errorf("ParseTime(%s) = %v, %v; want %v", r.RefmsgTime, at, err, want)
	}
}

func TestParseTime(t *testing.T) {
	want := time.Date(2026, 11, 23, 9, 12, 1, 0, cst)
	for _, s := range []string{"20261123091201", "20261123091201000", "2026-11-23 09:12:01", "2026-11-23T09:12:01", "2026-11-23T01:12:01Z"} {
		if got, err := ParseTime(s); err != nil || !got.Equal(want) {
			t.Errorf("ParseTime(%q) = %v, %v; want %v", s, got, err, want)
		}
	}
	for _, s := range []string{"", "2026112309120", "yesterday", "20261323091201"} {
		if _, err := ParseTime(s); err == nil {
			t.Errorf("ParseTime(%q): got nil; want an error", s)
		}
	}
	if got := FormatMillis(want.Add(7 * time.Millisecond)); got != "20261123091201007" {
		t.Errorf("FormatMillis = %s; want 20261123091201007", got)
	}
}

func TestSettleQueryOutput_ObjectOrList(t *testing.T) {
	for name, raw := range map[string]string{
		"Object": `{"setlinfo":{"setl_id":"S1","mdtrt_id":"M1","medins_setl_id":"X1","medfee_sumamt":"10.00","fund_pay_sumamt":"7","psn_part_amt":3,"psn_cash_pay":3}}`,
		"List": `{"setlinfo":[{"setl_id":"S1","mdtrt_id":"M1","medins_setl_id":"X1","medfee_sumamt":10,"fund_pay_sumamt":7,"psn_part_amt":3,"psn_cash_pay":3},
		                      {"setl_id":"S2","mdtrt_id":"M1","medins_setl_id":"X2","medfee_sumamt":-10,"fund_pay_sumamt":-7,"psn_part_amt":-3,"psn_cash_pay":-3,"refd_setl_flag":"1"}]}`,
	} {
		t.Run(name, func(t *testing.T) {
			var o SettleQueryOutput
			sp, err := decodeOutputSurprises("5203", json.RawMessage(raw), &o)
			if err != nil || len(sp) != 0 {
				t.Fatalf("decode: %v, surprises %v; want nil, none", err, sp)
			}
			s, ok := o.ByMsgid("X1")
			if !ok || s.SetlID != "S1" || s.MedfeeSumamt != 1000 {
				t.Errorf("ByMsgid(X1) = %+v, %v", s, ok)
			}
			if st := o.Standing(); len(st) != 1 || st[0].SetlID != "S1" {
				t.Errorf("Standing() = %+v; want S1 only", st)
			}
		})
	}
}

func TestClient_QueryFees_ListOutput(t *testing.T) {
	srv := newTestServer(t)
	c := mustClient(t, Options{BaseURL: srv.URL})
	for _, out := range []string{
		`[{"feedetl_sn":"1","chrg_bchno":"B1","det_item_fee_sumamt":"12.50","cnt":"2.5","pric":"5.000000"},{"feedetl_sn":"2","chrg_bchno":"B2","det_item_fee_sumamt":1,"cnt":1,"pric":1}]`,
		`{"feedetail":[{"feedetl_sn":"1","chrg_bchno":"B1","det_item_fee_sumamt":12.5,"cnt":2.5,"pric":5},{"feedetl_sn":"2","chrg_bchno":"B2","det_item_fee_sumamt":1,"cnt":1,"pric":1}]}`,
	} {
		srv.set(srv.answer(200, envelope(0, "", out)))
		o, _, err := c.QueryFees(context.Background(), Meta{Msgid: testCode + "202611230912010001"}, FeeQueryData{PsnNo: "P1", MdtrtID: "M1"})
		if err != nil {
			t.Fatal(err)
		}
		if b := o.Batch("B1"); len(b) != 1 || b[0].DetItemFeeSumamt != 1250 || b[0].Pric != 5_000000 {
			t.Errorf("Batch(B1) = %+v", b)
		}
	}
}

func TestFileContent_JSON(t *testing.T) {
	data := []byte{0x50, 0x4b, 0x03, 0xff, 0x80}
	for _, asArray := range []bool{false, true} {
		b, err := json.Marshal(FileContent{Bytes: data, AsArray: asArray})
		if err != nil {
			t.Fatal(err)
		}
		want := `"UEsD/4A="`
		if asArray {
			want = `[80,75,3,255,128]`
		}
		if string(b) != want {
			t.Errorf("marshal AsArray=%v: %s; want %s", asArray, b, want)
		}
	}
	for in, want := range map[string]string{`"UEsD/4A="`: "504b03ff80", `"UEsD_4A"`: "504b03ff80", `[80,75,3,-1,-128]`: "504b03ff80", `null`: ""} {
		var fc FileContent
		if err := json.Unmarshal([]byte(in), &fc); err != nil {
			t.Fatalf("%s: %v", in, err)
		}
		if got := hexOf(fc.Bytes); got != want {
			t.Errorf("unmarshal %s = %s; want %s", in, got, want)
		}
	}
	for _, in := range []string{`"not base64!"`, `[256]`, `{}`, `12`} {
		var fc FileContent
		if err := json.Unmarshal([]byte(in), &fc); err == nil {
			t.Errorf("unmarshal %s: got nil; want an error", in)
		}
	}
}

func hexOf(b []byte) string {
	const digits = "0123456789abcdef"
	out := make([]byte, 0, 2*len(b))
	for _, c := range b {
		out = append(out, digits[c>>4], digits[c&15])
	}
	return string(out)
}

func TestReconFile_RoundTrip(t *testing.T) {
	rows := []ReconFileRow{
		{SetlID: "S1", MdtrtID: "M1", PsnNo: "P1", MedfeeSumamt: 10000, FundPaySumamt: 7000, AcctPay: 1000},
		{SetlID: "S2", MdtrtID: "M2", PsnNo: "P2", MedfeeSumamt: 5, FundPaySumamt: 0, AcctPay: 0, RefdSetlFlag: "1"},
	}
	z, err := BuildReconFile("H1_20261123.txt", rows)
	if err != nil {
		t.Fatal(err)
	}
	back, err := ParseReconFile(z)
	if err != nil {
		t.Fatal(err)
	}
	rows[0].RefdSetlFlag = "0" // written as 0 when empty
	if len(back) != 2 || back[0] != rows[0] || back[1] != rows[1] {
		t.Errorf("round trip %+v; want %+v", back, rows)
	}
	if _, err := BuildReconFile("x.txt", []ReconFileRow{{SetlID: "S\t1"}}); !errors.Is(err, ErrReconFile) {
		t.Errorf("a tab in a field: got %v; want ErrReconFile", err)
	}
}

func TestParseReconResult(t *testing.T) {
	res := []ReconResultRow{
		{PsnNo: "P1", MdtrtID: "M1", SetlID: "S1", Msgid: "H1202611230912010001", StmtRslt: StmtPlatformMore, RefdSetlFlag: "0", Memo: "医药机构无此结算", MedfeeSumamt: 10000, FundPaySumamt: 7000, AcctPay: 1000},
		{PsnNo: "P2", MdtrtID: "M2", SetlID: "S2", Msgid: "H1202611230912010002", StmtRslt: StmtDataDiffer, RefdSetlFlag: "1", MedfeeSumamt: 500},
	}
	z, err := BuildReconResult("result.txt", res, nil)
	if err != nil {
		t.Fatal(err)
	}
	got, err := ParseReconResult(z, nil)
	if err != nil || len(got) != 2 || got[0] != res[0] || got[1] != res[1] {
		t.Fatalf("ParseReconResult = %+v, %v; want %+v", got, err, res)
	}
	// A header names the columns; CRLF line ends, GBK text and 4-place amounts are read.
	text := "setl_id\tstmt_rslt\tmsgid\tmemo\tmedfee_sumamt\r\nS9\t2\tH1202611230912010009\t中心无此结算\t12.3400\r\n\r\n"
	gbk, err := simplifiedchinese.GBK.NewEncoder().String(text)
	if err != nil {
		t.Fatal(err)
	}
	got, err = ParseReconResult([]byte(gbk), nil)
	if err != nil || len(got) != 1 || got[0].SetlID != "S9" || got[0].StmtRslt != StmtHospitalMore || got[0].Memo != "中心无此结算" || got[0].MedfeeSumamt != 1234 {
		t.Fatalf("header + GBK: %+v, %v", got, err)
	}
	for name, bad := range map[string]string{
		"BadCode":   "P1\tM1\tS1\tX1\t9\t0\t\t1.00\t1.00\t0\n",
		"NoKey":     "P1\tM1\t\t\t1\t0\t\t1.00\t1.00\t0\n",
		"BadAmount": "P1\tM1\tS1\tX1\t1\t0\t\tabc\t1.00\t0\n",
		"BrokenZip": "PK\x03\x04garbage",
	} {
		if _, err := ParseReconResult([]byte(bad), nil); !errors.Is(err, ErrReconFile) {
			t.Errorf("%s: got %v; want ErrReconFile", name, err)
		}
	}
}

func TestClient_DownloadFile(t *testing.T) {
	srv := newTestServer(t)
	c := mustClient(t, Options{BaseURL: srv.URL})
	m := Meta{Msgid: testCode + "202611230912010001"}
	file := []byte("PK\x03\x04 a zip")
	srv.set(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "application/octet-stream")
		_, _ = w.Write(file)
	})
	got, _, err := c.DownloadFile(context.Background(), m, "Q1", "r.zip")
	if err != nil || string(got) != string(file) {
		t.Fatalf("octet-stream: %q, %v", got, err)
	}
	srv.set(srv.answer(200, envelope(-2, "文件不存在或已过期", `{}`)))
	if _, resp, err := c.DownloadFile(context.Background(), m, "Q1", "r.zip"); !errors.Is(err, ErrBusiness) || resp == nil {
		t.Fatalf("envelope with a refusal: %v; want ErrBusiness with the envelope", err)
	}
	srv.set(srv.answer(200, envelope(0, "", `{}`)))
	if _, _, err := c.DownloadFile(context.Background(), m, "Q1", "r.zip"); !errors.Is(err, ErrBadResponse) {
		t.Fatalf("success envelope without a file: %v; want ErrBadResponse", err)
	}
	if got := srv.lastRequest(); got.Infno != InfnoFileDownload || !strings.Contains(string(got.Input), `"fsDownloadIn":{"file_qury_no":"Q1","filename":"r.zip","fixmedins_code":"`+testCode+`"}`) {
		t.Errorf("9102 request %s %s", got.Infno, got.Input)
	}
}
