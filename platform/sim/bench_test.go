package sim

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"sync/atomic"
	"testing"
	"time"

	"github.com/settle-agent/settle-agent/platform"
)

// benchClient posts pre-built envelopes over keep-alive connections.
type benchClient struct {
	url   string
	hc    *http.Client
	seq   atomic.Int64
	calls atomic.Int64
	cpu0  time.Duration
}

func newBenchClient(b *testing.B) (*Platform, *benchClient) {
	p, c := mustSim(b, nil)
	tr := &http.Transport{MaxIdleConns: 256, MaxIdleConnsPerHost: 256, IdleConnTimeout: time.Minute}
	b.Cleanup(tr.CloseIdleConnections)
	return p, &benchClient{url: c.url + DefaultPath, hc: &http.Client{Transport: tr, Timeout: 30 * time.Second}}
}

func (c *benchClient) do(b *testing.B, infno string, input any, out any) {
	raw, _ := json.Marshal(input)
	req := platform.Request{Infno: infno, Msgid: fmt.Sprintf("H33010200001%014d%04d", c.seq.Add(1), 0),
		FixmedinsCode: "H33010200001", InfTime: "2026-11-23 10:00:00", Input: raw}
	body, _ := json.Marshal(&req)
	resp, err := c.hc.Post(c.url, "application/json; charset=utf-8", bytes.NewReader(body))
	if err != nil {
		b.Error(err)
		return
	}
	data, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	c.calls.Add(1)
	var r platform.Response
	if err != nil || json.Unmarshal(data, &r) != nil || r.Infcode != 0 {
		b.Errorf("%s: %v %s", infno, err, data)
		return
	}
	if out != nil {
		if err := json.Unmarshal(r.Output, out); err != nil {
			b.Error(err)
		}
	}
}

func (c *benchClient) start(b *testing.B) {
	b.ResetTimer()
	c.calls.Store(0)
	c.cpu0 = processCPU()
}

// report gives calls/s as measured (other load on the machine lowers it) and the CPU
// time one call costs client and server together, which other load does not change;
// calls/s@2cores is what two otherwise idle cores would sustain, client included.
func (c *benchClient) report(b *testing.B) {
	calls := float64(c.calls.Load())
	b.ReportMetric(calls/b.Elapsed().Seconds(), "calls/s")
	if cpu := processCPU() - c.cpu0; cpu > 0 && calls > 0 {
		perCall := float64(cpu.Microseconds()) / calls
		b.ReportMetric(perCall, "cpu-µs/call")
		b.ReportMetric(2e6/perCall, "calls/s@2cores")
	}
}

// BenchmarkPlatform_PersonInfo measures 1101 over real HTTP from parallel clients.
func BenchmarkPlatform_PersonInfo(b *testing.B) {
	_, c := newBenchClient(b)
	in := platform.PersonInfoInput{Data: platform.PersonQuery{MdtrtCertType: "03", MdtrtCertNo: "A33010001", CardSN: "330100D156000005000001"}}
	b.SetParallelism(8)
	c.start(b)
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			c.do(b, "1101", in, nil)
		}
	})
	c.report(b)
}

// BenchmarkPlatform_Settlement measures a whole outpatient settlement (2201, 2204 with
// three lines, 2207) over real HTTP from parallel clients; calls/s counts every call.
func BenchmarkPlatform_Settlement(b *testing.B) {
	_, c := newBenchClient(b)
	persons := []string{psnLocalEmployee, psnLocalResident, psnShanghaiFiled, psnChronic, psnZeroBalance}
	var n atomic.Int64
	b.SetParallelism(8)
	c.start(b)
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			i := n.Add(1)
			psn := persons[i%int64(len(persons))]
			var reg platform.RegisterOutput
			c.do(b, "2201", regInput(psn), &reg)
			chrg := fmt.Sprintf("BENCH%d", i)
			var fees platform.FeeUploadInput
			for j, l := range []struct{ codg, cnt, pric, amt string }{
				{codgVisit, "1", "25", "25.00"}, {codgIrbesar, "28", "1.5", "42.00"}, {codgCheckup, "1", "300", "300.00"},
			} {
				fees.Feedetail = append(fees.Feedetail, platform.FeeDetail{
					FeedetlSn: fmt.Sprint(j + 1), MdtrtID: reg.Data.MdtrtID, PsnNo: psn, ChrgBchno: chrg, MedListCodg: l.codg,
					DetItemFeeSumamt: platform.Amount(money(l.amt)), Cnt: platform.CntOf(mustQty(b, l.cnt)), Pric: platform.PricOf(mustPrice(b, l.pric)),
				})
			}
			c.do(b, "2204", fees, nil)
			insutype := "310"
			if psn == psnLocalResident {
				insutype = "390"
			}
			in := settleInput(psn, reg.Data.MdtrtID, chrg, "11", insutype, money("367.00"), "1")
			var pre platform.SettleOutput
			c.do(b, "2206", in, &pre)
			c.do(b, "2207", platform.SettleConfirmInput{Data: platform.ConfirmData(in.Data, pre.Setlinfo, "")}, nil)
		}
	})
	c.report(b)
}
