package sim

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"sync/atomic"
	"testing"
	"time"

	settle "github.com/settle-agent/settle-agent"
	"github.com/settle-agent/settle-agent/platform"
)

// testNow is the fixed clock of the tests: 2026-11-23 10:00 Beijing time.
var testNow = time.Date(2026, 11, 23, 10, 0, 0, 0, beijing)

// Demo persons by role.
const (
	psnLocalEmployee = "33010000000000000001"
	psnLocalResident = "33010000000000000002"
	psnShanghaiFiled = "31000000000000000003"
	psnUnfiledRefuse = "32010000000000000004"
	psnUnfiledRatio  = "34010000000000000005"
	psnChronic       = "33010000000000000006"
	psnZeroBalance   = "33010000000000000007"
	psnProbe         = "33010000000000009999"
)

// simClient calls a running simulator over real HTTP.
type simClient struct {
	tb     testing.TB
	url    string
	hc     *http.Client
	seq    atomic.Int64
	sign   func(h http.Header)
	signNo string
}

// mustStart runs p on 127.0.0.1:0 until the test ends.
func mustStart(tb testing.TB, p *Platform) *simClient {
	tb.Helper()
	url, stop, err := Start(context.Background(), "", p)
	if err != nil {
		tb.Fatalf("Start: %v", err)
	}
	tb.Cleanup(func() {
		if err := stop(); err != nil {
			tb.Errorf("stop: %v", err)
		}
	})
	return &simClient{tb: tb, url: url, hc: &http.Client{Timeout: 30 * time.Second}}
}

// mustSim starts a platform on the demo fixture with the test clock.
func mustSim(tb testing.TB, o *Options) (*Platform, *simClient) {
	tb.Helper()
	if o == nil {
		o = &Options{}
	}
	if o.Now == nil {
		o.Now = func() time.Time { return testNow }
	}
	p := New(DemoFixture(), o)
	return p, mustStart(tb, p)
}

func (c *simClient) nextMsgid() string {
	return fmt.Sprintf("H33010200001%s%04d", testNow.Format("20060102150405"), c.seq.Add(1)%10000)
}

// post sends one envelope and returns the HTTP status and the decoded response.
func (c *simClient) post(infno, msgid string, input any) (int, *platform.Response, error) {
	raw, err := json.Marshal(input)
	if err != nil {
		c.tb.Fatalf("marshal input: %v", err)
	}
	req := platform.Request{
		Infno: infno, Msgid: msgid, MdtrtareaAdmvs: "330100", RecerSysCode: "YBXT", Infver: "V1.0",
		OpterType: "1", Opter: "W01", OpterName: "window 01", InfTime: testNow.Format(platform.InfTimeLayout),
		FixmedinsCode: "H33010200001", FixmedinsName: "Example People's Hospital", SignNo: c.signNo, Input: raw,
	}
	body, _ := json.Marshal(req)
	hr, err := http.NewRequest(http.MethodPost, c.url+DefaultPath, bytes.NewReader(body))
	if err != nil {
		c.tb.Fatalf("new request: %v", err)
	}
	hr.Header.Set("Content-Type", "application/json; charset=utf-8")
	if c.sign != nil {
		c.sign(hr.Header)
	}
	resp, err := c.hc.Do(hr)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		return resp.StatusCode, nil, err
	}
	if resp.StatusCode != http.StatusOK {
		return resp.StatusCode, nil, nil
	}
	var out platform.Response
	if err := json.Unmarshal(data, &out); err != nil {
		c.tb.Fatalf("%s answer is not an envelope: %v: %s", infno, err, data)
	}
	return resp.StatusCode, &out, nil
}

// call sends infno with a fresh msgid and fails the test unless the answer is an envelope.
func (c *simClient) call(infno string, input any) *platform.Response {
	c.tb.Helper()
	return c.callID(infno, c.nextMsgid(), input)
}

func (c *simClient) callID(infno, msgid string, input any) *platform.Response {
	c.tb.Helper()
	code, resp, err := c.post(infno, msgid, input)
	if err != nil || code != http.StatusOK {
		c.tb.Fatalf("%s: HTTP %d, err %v", infno, code, err)
	}
	return resp
}

// ok calls infno, requires infcode 0 and decodes the output into out (when not nil).
func (c *simClient) ok(infno string, input, out any) string {
	c.tb.Helper()
	msgid := c.nextMsgid()
	resp := c.callID(infno, msgid, input)
	if resp.Infcode != 0 {
		c.tb.Fatalf("%s: infcode %d (%s); want 0", infno, resp.Infcode, resp.ErrMsg)
	}
	if len(resp.InfRefmsgid) != 30 || len(resp.RefmsgTime) != 17 || len(resp.RespondTime) != 17 {
		c.tb.Fatalf("%s: inf_refmsgid %q refmsg_time %q respond_time %q; want the platform's own 30-character id and 17-digit times",
			infno, resp.InfRefmsgid, resp.RefmsgTime, resp.RespondTime)
	}
	if out != nil {
		if err := json.Unmarshal(resp.Output, out); err != nil {
			c.tb.Fatalf("%s output: %v: %s", infno, err, resp.Output)
		}
	}
	return msgid
}

// refused calls infno and requires a business error whose message contains want.
func (c *simClient) refused(infno string, input any, want string) {
	c.tb.Helper()
	resp := c.call(infno, input)
	if resp.Infcode == 0 || resp.Infcode == -1 {
		c.tb.Fatalf("%s: infcode %d; want a business error containing %q", infno, resp.Infcode, want)
	}
	if !bytes.Contains([]byte(resp.ErrMsg), []byte(want)) {
		c.tb.Fatalf("%s: err_msg %q; want it to contain %q", infno, resp.ErrMsg, want)
	}
}

// line is one bill line for a visit: catalogue code, quantity, unit price.
type line struct {
	codg string
	cnt  string
	pric string
}

// visitFlow registers psnNo, uploads the lines under chrg_bchno and returns the mdtrt_id
// and the fee total.
func (c *simClient) visitFlow(psnNo, insutype, chrg string, lines ...line) (string, settle.Money) {
	c.tb.Helper()
	var reg platform.RegisterOutput
	c.ok("2201", platform.RegisterInput{Data: platform.RegisterData{PsnNo: psnNo, Insutype: insutype, Begntime: "2026-11-23 09:00:00"}}, &reg)
	mdtrt := reg.Data.MdtrtID
	c.upload(psnNo, mdtrt, chrg, lines...)
	var total settle.Money
	for _, l := range lines {
		total += settle.LineAmount(mustQty(c.tb, l.cnt), mustPrice(c.tb, l.pric))
	}
	return mdtrt, total
}

func (c *simClient) upload(psnNo, mdtrt, chrg string, lines ...line) *platform.FeeUploadOutput {
	c.tb.Helper()
	in := c.feeInput(psnNo, mdtrt, chrg, lines...)
	var out platform.FeeUploadOutput
	c.ok("2204", in, &out)
	return &out
}

func (c *simClient) feeInput(psnNo, mdtrt, chrg string, lines ...line) platform.FeeUploadInput {
	var in platform.FeeUploadInput
	for i, l := range lines {
		q, pr := mustQty(c.tb, l.cnt), mustPrice(c.tb, l.pric)
		in.Feedetail = append(in.Feedetail, platform.FeeDetail{
			FeedetlSn: fmt.Sprintf("%s-%d", chrg, i+1), MdtrtID: mdtrt, PsnNo: psnNo, ChrgBchno: chrg,
			FeeOcurTime: "2026-11-23 09:30:00", MedListCodg: l.codg,
			DetItemFeeSumamt: platform.AmountOf(settle.LineAmount(q, pr)), Cnt: platform.CntOf(q), Pric: platform.PricOf(pr),
		})
	}
	return in
}

func settleInput(psnNo, mdtrt, chrg, medType, insutype string, total settle.Money, acct string) platform.SettleInput {
	return platform.SettleInput{Data: platform.SettleData{
		PsnNo: psnNo, MdtrtCertType: "02", MedType: medType, MedfeeSumamt: platform.AmountOf(total),
		PsnSetlway: "01", MdtrtID: mdtrt, ChrgBchno: chrg, Insutype: insutype, AcctUsedFlag: acct,
	}}
}

// confirmInput runs 2206 and returns the 2207 input it makes (the four amounts the
// real 2207 requires come from the pre-settlement).
func (c *simClient) confirmInput(psnNo, mdtrt, chrg, medType, insutype string, total settle.Money, acct string) platform.SettleConfirmInput {
	c.tb.Helper()
	in := settleInput(psnNo, mdtrt, chrg, medType, insutype, total, acct)
	var pre platform.SettleOutput
	c.ok("2206", in, &pre)
	return platform.SettleConfirmInput{Data: platform.ConfirmData(in.Data, pre.Setlinfo, "")}
}

// settle runs 2206 and 2207 and returns the split and the msgid.
func (c *simClient) settle(psnNo, mdtrt, chrg, medType, insutype string, total settle.Money, acct string) (settle.Split, string) {
	c.tb.Helper()
	var out platform.SettleOutput
	msgid := c.ok("2207", c.confirmInput(psnNo, mdtrt, chrg, medType, insutype, total, acct), &out)
	if err := out.Validate(); err != nil {
		c.tb.Fatalf("2207 answer: %v", err)
	}
	return out.Setlinfo.Split(), msgid
}

func mustQty(tb testing.TB, s string) settle.Qty {
	q, err := settle.ParseQty(s)
	if err != nil {
		tb.Fatalf("qty %q: %v", s, err)
	}
	return q
}

func mustPrice(tb testing.TB, s string) settle.Price {
	p, err := settle.ParsePrice(s)
	if err != nil {
		tb.Fatalf("price %q: %v", s, err)
	}
	return p
}

func money(s string) settle.Money { return settle.MustMoney(s) }
