package sim

import (
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
	c.ok("2601", platform.ReversalInput{Data: platform.ReversalData{Omsgid: reversed.msgid, Oinfno: "2207"}}, nil)

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
		row := func(x settled, refd string) platform.ReconDetail {
			return platform.ReconDetail{SetlID: x.s.SetlID, Msgid: x.msgid, MedfeeSumamt: platform.AmountOf(x.s.MedfeeSumamt),
				FundPaySumamt: platform.AmountOf(x.s.FundPaySumamt), AcctPay: platform.AmountOf(x.s.AcctPay), RefdSetlFlag: refd}
		}
		clean := []platform.ReconDetail{row(a, "0"), row(b, "0"), row(r, "0"), row(cancelled, "1")}
		var out platform.DetailReconOutput
		c.ok("3202", platform.DetailReconInput{Data: platform.DetailReconData{StmtBegndate: "2026-11-23", StmtEnddate: "2026-11-23", Detail: clean}}, &out)
		if len(out.Detail) != 0 {
			t.Errorf("clean list: got %+v; want no differences", out.Detail)
		}

		wrongAmount := row(b, "0")
		wrongAmount.FundPaySumamt++
		byMsgidOnly := row(a, "0")
		byMsgidOnly.SetlID = ""
		list := []platform.ReconDetail{
			byMsgidOnly,         // matched by msgid
			wrongAmount,         // amount_differs
			row(cancelled, "0"), // refund_differs
			row(reversed, "0"),  // missing_at_platform: reversed never happened
			{SetlID: "ST-UNKNOWN", Msgid: "H33010200001202611230000000001", MedfeeSumamt: 100}, // missing_at_platform
			// r is left out: missing_at_agent
		}
		c.ok("3202", platform.DetailReconInput{Data: platform.DetailReconData{StmtBegndate: "2026-11-23", StmtEnddate: "2026-11-23", Detail: list}}, &out)
		if err := out.Validate(); err != nil {
			t.Fatal(err)
		}
		got := map[string]string{}
		for _, d := range out.Detail {
			got[d.SetlID] = d.Diff
			if d.Dscr == "" {
				t.Errorf("row %+v has no description", d)
			}
		}
		want := map[string]string{
			b.s.SetlID:         platform.DiffAmountDiffers,
			cancelled.s.SetlID: platform.DiffRefundDiffers,
			reversed.s.SetlID:  platform.DiffMissingAtPlatform,
			"ST-UNKNOWN":       platform.DiffMissingAtPlatform,
			r.s.SetlID:         platform.DiffMissingAtAgent,
		}
		if len(got) != len(want) {
			t.Errorf("got %d differences %v; want %v", len(got), keys(got), keys(want))
		}
		for k, w := range want {
			if got[k] != w {
				t.Errorf("setl_id %s: diff %q; want %q", k, got[k], w)
			}
		}
		for _, d := range out.Detail {
			if d.SetlID == b.s.SetlID && d.FundPaySumamt.Money() != b.s.FundPaySumamt {
				t.Errorf("amount_differs row carries %s; want the platform's %s", d.FundPaySumamt, b.s.FundPaySumamt)
			}
		}
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
