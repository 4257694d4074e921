package sim

import (
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/settle-agent/settle-agent/platform"
)

// ledgerSizes are the ledgers the index benchmarks run against: a fresh platform, a
// quick bench's drain and a full one's.
var ledgerSizes = []int{0, 10_000, 100_000}

// registerCall is a 2201 with its own msgid and ipt_otp_no, so the platform checks the
// hospital's visit number for a repeat on every call.
func registerCall(tb testing.TB, i int) *platform.Request {
	tb.Helper()
	persons := []string{psnLocalEmployee, psnLocalResident, psnShanghaiFiled, psnChronic, psnZeroBalance}
	in := platform.RegisterInput{Data: platform.RegisterData{PsnNo: persons[i%len(persons)], IptOtpNo: fmt.Sprintf("MZ%09d", i)}}
	raw, err := json.Marshal(in)
	if err != nil {
		tb.Fatal(err)
	}
	return &platform.Request{Infno: platform.InfnoRegister, Msgid: fmt.Sprintf("H33010200001%018d", i),
		FixmedinsCode: "H33010200001", InfTime: "2026-11-23 10:00:00", Input: raw}
}

// callLocked answers req in process, as serveCall does after the HTTP layer, and
// fails unless the platform accepted it.
func callLocked(tb testing.TB, p *Platform, req *platform.Request) []byte {
	p.mu.Lock()
	out, _ := p.processLocked(req)
	p.mu.Unlock()
	var r platform.Response
	if err := json.Unmarshal(out, &r); err != nil || r.Infcode != 0 {
		tb.Fatalf("%s: got %s; want infcode 0", req.Infno, out)
	}
	return r.Output
}

// withVisits is a platform already holding n registrations.
func withVisits(b *testing.B, n int) *Platform {
	b.Helper()
	p := New(DemoFixture(), &Options{Now: func() time.Time { return testNow }})
	for i := range n {
		callLocked(b, p, registerCall(b, i))
	}
	return p
}

// BenchmarkPlatform_RegisterByLedgerSize measures one 2201 (its check for a repeated
// ipt_otp_no included) in process against platforms already holding 0, 10,000 and
// 100,000 visits: with the indexes the ns/op stays flat (it was linear in the visits,
// 9 ms at 100,000 over HTTP, before them).
func BenchmarkPlatform_RegisterByLedgerSize(b *testing.B) {
	for _, n := range ledgerSizes {
		b.Run(fmt.Sprintf("visits=%d", n), func(b *testing.B) {
			p := withVisits(b, n)
			reqs := make([]*platform.Request, b.N)
			for i := range reqs {
				reqs[i] = registerCall(b, n+i)
			}
			b.ReportAllocs()
			b.ResetTimer()
			for _, req := range reqs {
				callLocked(b, p, req)
			}
		})
	}
}

// BenchmarkPlatform_VisitQueryByLedgerSize measures one 5201 by person and mdtrt_id
// against the same ledgers: its cost follows the person's visits, not everyone's.
func BenchmarkPlatform_VisitQueryByLedgerSize(b *testing.B) {
	for _, n := range ledgerSizes {
		b.Run(fmt.Sprintf("visits=%d", n), func(b *testing.B) {
			p := withVisits(b, n)
			var reg platform.RegisterOutput
			if err := json.Unmarshal(callLocked(b, p, registerCall(b, n)), &reg); err != nil {
				b.Fatal(err)
			}
			raw, _ := json.Marshal(platform.VisitQueryInput{Data: platform.VisitQueryData{PsnNo: reg.Data.PsnNo, MdtrtID: reg.Data.MdtrtID}})
			b.ReportAllocs()
			b.ResetTimer()
			for i := range b.N {
				callLocked(b, p, &platform.Request{Infno: platform.InfnoVisitQuery, Msgid: fmt.Sprintf("Q%d", i),
					FixmedinsCode: "H33010200001", Input: raw})
			}
		})
	}
}
