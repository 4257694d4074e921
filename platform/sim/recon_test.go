package sim

import (
	"context"
	"sort"
	"testing"

	settle "github.com/settle-agent/settle-agent"
	"github.com/settle-agent/settle-agent/platform"
)

func TestReconciliation(t *testing.T) {
	_, c := mustSim(t, nil)
	type settled struct {
		s     settle.Split
		msgid string
	}
	run := func(psn, insutype, chrg string, l line) settled {
		mdtrt, total := c.visitFlow(psn, insutype, chrg, l)
		s, msgid := c.settle(psn, mdtrt, chrg, "11", insutype, total, "1")
		return settled{s, msgid}
	}
	a := run(psnLocalEmployee, "310", "T1", line{codgCT, "1", "240"})
	b := run(psnZeroBalance, "310", "T2", line{codgVisit, "1", "25"})
	r := run(psnLocalResident, "390", "T3", line{codgCT, "1", "240"})
	cancelled := run(psnLocalEmployee, "310", "T4", line{codgVisit, "1", "25"})
	c.ok("2208", platform.CancelSettleInput{Data: platform.CancelSettleData{SetlID: cancelled.s.SetlID}}, nil)
	reversed := run(psnLocalEmployee, "310", "T5", line{codgVisit, "1", "25"})
	c.ok("2601", platform.ReversalInput{Data: platform.ReversalData{PsnNo: psnLocalEmployee, Omsgid: reversed.msgid, Oinfno: "2207"}}, nil)

	total := func(insutype, beg, end string, rows ...settled) platform.TotalReconInput {
		d := platform.TotalReconData{Insutype: insutype, ClrType: "11", SetlOptins: "330100", StmtBegndate: beg, StmtEnddate: end, FixmedinsSetlCnt: len(rows)}
		for _, x := range rows {
			d.MedfeeSumamt += platform.AmountOf(x.s.MedfeeSumamt)
			d.FundPaySumamt += platform.AmountOf(x.s.FundPaySumamt)
			d.AcctPay += platform.AmountOf(x.s.AcctPay)
		}
		return platform.TotalReconInput{Data: d}
	}
	t.Run("3201", func(t *testing.T) {
		for _, tt := range []struct {
			name string
			in   platform.TotalReconInput
			want string
		}{
			{"employees match", total("310", "2026-11-23", "2026-11-23", a, b), "0"},
			{"residents match", total("390", "2026-11-01", "2026-11-30", r), "0"},
			{"all insutypes match", total("", "2026-11-23", "2026-11-23", a, b, r), "0"},
			{"counting a cancelled settlement: the hospital holds more", total("310", "2026-11-23", "2026-11-23", a, b, cancelled), "2"},
			{"counting a reversed settlement: the hospital holds more", total("310", "2026-11-23", "2026-11-23", a, b, reversed), "2"},
			{"a missing settlement: the platform holds more", total("310", "2026-11-23", "2026-11-23", a), "1"},
			{"other days hold nothing", total("310", "2026-11-24", "2026-11-30"), "0"},
			{"other days do not hold these", total("310", "2026-11-24", "2026-11-30", a, b), "2"},
			{"same count and total, another fund amount: data differ", func() platform.TotalReconInput {
				in := total("310", "2026-11-23", "2026-11-23", a, b)
				in.Data.FundPaySumamt++
				return in
			}(), "3"},
		} {
			t.Run(tt.name, func(t *testing.T) {
				var out platform.TotalReconOutput
				c.ok("3201", tt.in, &out)
				if err := out.Validate(); err != nil || out.Stmtinfo.StmtRslt != tt.want || out.Stmtinfo.StmtRsltDscr == "" {
					t.Errorf("got %+v (%v); want stmt_rslt %s with a description", out.Stmtinfo, err, tt.want)
				}
			})
		}
	})

	t.Run("3202", func(t *testing.T) {
		cl := realClient(t, c, platform.Options{})
		row := func(x settled, psn, refd string) platform.ReconFileRow {
			return platform.ReconFileRow{SetlID: x.s.SetlID, MdtrtID: x.s.MdtrtID, PsnNo: psn, MedfeeSumamt: platform.AmountOf(x.s.MedfeeSumamt),
				FundPaySumamt: platform.AmountOf(x.s.FundPaySumamt), AcctPay: platform.AmountOf(x.s.AcctPay), RefdSetlFlag: refd}
		}
		recon := func(rows ...platform.ReconFileRow) map[string]platform.ReconResultRow {
			t.Helper()
			res, err := cl.DetailReconByFile(context.Background(), platform.DetailRecon{
				Upload: c.meta(), Recon: c.meta(), Download: c.meta(),
				Data: platform.DetailReconFileData{SetlOptins: "330100", StmtBegndate: "2026-11-23", StmtEnddate: "2026-11-23"}, Rows: rows,
			})
			if err != nil {
				t.Fatal(err)
			}
			out := map[string]platform.ReconResultRow{}
			for _, r := range res {
				out[r.SetlID] = r
				if r.Memo == "" {
					t.Errorf("row %+v has no memo", r)
				}
			}
			return out
		}
		if got := recon(row(a, psnLocalEmployee, "0"), row(b, psnZeroBalance, "0"), row(r, psnLocalResident, "0"), row(cancelled, psnLocalEmployee, "1")); len(got) != 0 {
			t.Errorf("clean list: got %+v; want no differences", got)
		}
		wrongAmount := row(b, psnZeroBalance, "0")
		wrongAmount.FundPaySumamt++
		got := recon(
			row(a, psnLocalEmployee, "0"),
			wrongAmount,                           // 3: data differ
			row(cancelled, psnLocalEmployee, "0"), // 3: the platform has it cancelled
			row(reversed, psnLocalEmployee, "0"),  // 2: a reversed settlement never happened
			platform.ReconFileRow{SetlID: "ST-UNKNOWN", MdtrtID: "M0", PsnNo: psnLocalEmployee, MedfeeSumamt: 100}, // 2
			// r is left out: 1, the platform holds more
		)
		want := map[string]string{
			b.s.SetlID:         platform.StmtDataDiffer,
			cancelled.s.SetlID: platform.StmtDataDiffer,
			reversed.s.SetlID:  platform.StmtHospitalMore,
			"ST-UNKNOWN":       platform.StmtHospitalMore,
			r.s.SetlID:         platform.StmtPlatformMore,
		}
		if len(got) != len(want) {
			t.Errorf("got %d differences %v; want %v", len(got), got, want)
		}
		for k, w := range want {
			if got[k].StmtRslt != w {
				t.Errorf("setl_id %s: stmt_rslt %q; want %q", k, got[k].StmtRslt, w)
			}
		}
		if d := got[b.s.SetlID]; d.FundPaySumamt.Money() != b.s.FundPaySumamt || d.Msgid != b.msgid {
			t.Errorf("data-differ row %+v; want the platform's %s and msgid %s", d, b.s.FundPaySumamt, b.msgid)
		}
		if d := got[r.s.SetlID]; d.Msgid != r.msgid {
			t.Errorf("platform-more row names msgid %q; want %s (usable as omsgid)", d.Msgid, r.msgid)
		}
		// The inline list of old is refused: the real 3202 exchanges files.
		c.refused("3202", platform.DetailReconInput{Data: platform.DetailReconData{StmtBegndate: "2026-11-23", StmtEnddate: "2026-11-23"}}, "9101")
	})
}

func keys(m map[string]string) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
