package agent

import (
	"context"
	"encoding/csv"
	"fmt"
	"net/http"
	"sort"
	"strings"
	"time"

	settle "github.com/settle-agent/settle-agent"
	"github.com/settle-agent/settle-agent/platform"
)

// Reconciliation is one day's comparison of the agent's books with the platform's:
// every offline bill's difference between what was collected and the real own share,
// the day's totals, and the platform's verdict (3201) with the differing rows (3202).
type Reconciliation struct {
	Date        string          `json:"date"`
	Differences []DifferenceRow `json:"differences"`
	Totals      []ReconTotal    `json:"totals"`
	Queued      int             `json:"queued"`
	NeedsPerson int             `json:"needs_person"`
	Checked     bool            `json:"checked_with_platform"`
	Clean       bool            `json:"clean"`
	Note        string          `json:"note,omitempty"`
}

// DifferenceRow is one offline bill's settlement of accounts with the patient.
type DifferenceRow struct {
	BillNo    string        `json:"bill_no"`
	Window    string        `json:"window"`
	State     State         `json:"state"`
	SetlID    string        `json:"setl_id,omitempty"`
	Total     settle.Money  `json:"medfee_sumamt"`
	Collected settle.Money  `json:"collected"`
	RealCash  *settle.Money `json:"psn_cash_pay,omitempty"`
	Refund    settle.Money  `json:"refund"`
	AmountDue settle.Money  `json:"amount_due"`
}

// ReconTotal is one insurance type's and clearing institution's totals, and what the
// platform said of them.
type ReconTotal struct {
	Insutype      string               `json:"insutype"`
	SetlOptins    string               `json:"setl_optins"`
	Count         int                  `json:"fixmedins_setl_cnt"`
	MedfeeSumamt  settle.Money         `json:"medfee_sumamt"`
	FundPaySumamt settle.Money         `json:"fund_pay_sumamt"`
	AcctPay       settle.Money         `json:"acct_pay"`
	Result        string               `json:"stmt_rslt,omitempty"`
	Description   string               `json:"stmt_rslt_dscr,omitempty"`
	Diffs         []platform.ReconDiff `json:"diffs,omitempty"`
	Error         string               `json:"error,omitempty"`

	details []platform.ReconDetail
}

// reconcile builds the day's report; with check it asks the platform (3201, then 3202
// for a total that does not match).
func (a *Agent) reconcile(ctx context.Context, day string, check bool) (*Reconciliation, error) {
	recs, err := a.billsOfDay(day)
	if err != nil {
		return nil, err
	}
	rep := &Reconciliation{Date: day, Differences: []DifferenceRow{}, Totals: []ReconTotal{}, Clean: true}
	groups := map[string]*ReconTotal{}
	for _, rec := range recs {
		if rec.Offline && rec.Collected != nil {
			row := DifferenceRow{BillNo: rec.Bill.BillNo, Window: rec.Bill.Window, State: rec.State,
				Total: rec.Bill.Total, Collected: *rec.Collected}
			if rec.Settlement != nil {
				d := differenceOf(rec)
				row.SetlID, row.RealCash, row.Refund, row.AmountDue = rec.Settlement.SetlID, &d.RealCash, d.Refund, d.AmountDue
			}
			rep.Differences = append(rep.Differences, row)
		}
		switch {
		case rec.State == StateQueued || rec.State == StateSettling:
			rep.Queued++
			continue
		case rec.State == StateFailed || rec.State == StateDead:
			// Queued offline, money collected, then refused or given up: a person
			// must settle it with the patient.
			rep.NeedsPerson++
			continue
		case rec.Settlement == nil:
			continue
		}
		// The hospital clears every settlement, local or cross-region, with the
		// treatment area's agency (就医地经办机构, 全省统一清分): one total per insutype.
		s := rec.Settlement
		optins := a.cfg.Hospital.Admdvs
		key := rec.Insutype + "|" + optins
		g := groups[key]
		if g == nil {
			g = &ReconTotal{Insutype: rec.Insutype, SetlOptins: optins}
			groups[key] = g
		}
		refd := "0"
		if rec.Cancelled {
			refd = "1"
		} else {
			g.Count++
			g.MedfeeSumamt += s.MedfeeSumamt
			g.FundPaySumamt += s.FundPaySumamt
			g.AcctPay += s.AcctPay
		}
		g.details = append(g.details, platform.ReconDetail{SetlID: s.SetlID, Msgid: rec.SettleMsgid,
			MedfeeSumamt: platform.AmountOf(s.MedfeeSumamt), FundPaySumamt: platform.AmountOf(s.FundPaySumamt),
			AcctPay: platform.AmountOf(s.AcctPay), RefdSetlFlag: refd})
	}
	keys := make([]string, 0, len(groups))
	for k := range groups {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		rep.Totals = append(rep.Totals, *groups[k])
	}
	if rep.Queued > 0 {
		rep.Clean = false
		rep.Note = fmt.Sprintf("%d bills of this day are still queued; reconcile again after they sync", rep.Queued)
	}
	if rep.NeedsPerson > 0 {
		rep.Clean = false
		rep.Note = strings.TrimSpace(rep.Note + fmt.Sprintf(" %d bills of this day were collected offline and then refused or given up (failed/dead): settle them with the patients by hand", rep.NeedsPerson))
	}
	if !check {
		return rep, nil
	}
	if !a.breaker.isOnline() {
		rep.Note = "the platform is offline: totals not checked with it yet"
		rep.Clean = false
		return rep, nil
	}
	rep.Checked = true
	for i := range rep.Totals {
		t := &rep.Totals[i]
		if err := a.checkTotal(ctx, day, t, groups[t.Insutype+"|"+t.SetlOptins].details); err != nil {
			t.Error = err.Error()
			rep.Clean = false
		}
		if t.Result != platform.StmtMatch || len(t.Diffs) > 0 {
			rep.Clean = false
		}
	}
	return rep, nil
}

func (a *Agent) checkTotal(ctx context.Context, day string, t *ReconTotal, details []platform.ReconDetail) error {
	msgid, err := a.nextMsgid()
	if err != nil {
		return err
	}
	in := platform.TotalReconInput{Data: platform.TotalReconData{
		Insutype: t.Insutype, ClrType: "11", SetlOptins: t.SetlOptins, StmtBegndate: day, StmtEnddate: day,
		MedfeeSumamt: platform.AmountOf(t.MedfeeSumamt), FundPaySumamt: platform.AmountOf(t.FundPaySumamt),
		AcctPay: platform.AmountOf(t.AcctPay), FixmedinsSetlCnt: t.Count,
	}}
	var out platform.TotalReconOutput
	cctx, cancel := context.WithTimeout(ctx, a.cfg.Platform.Timeout.Duration)
	defer cancel()
	meta := a.meta(msgid, nil)
	if err := a.call(cctx, platform.InfnoTotalRecon, meta, in, &out); err != nil {
		return fmt.Errorf("3201: %w", err)
	}
	t.Result, t.Description = out.Stmtinfo.StmtRslt, out.Stmtinfo.StmtRsltDscr
	if t.Result == platform.StmtMatch {
		return nil
	}
	if msgid, err = a.nextMsgid(); err != nil {
		return err
	}
	var dout platform.DetailReconOutput
	din := platform.DetailReconInput{Data: platform.DetailReconData{SetlOptins: t.SetlOptins, StmtBegndate: day, StmtEnddate: day, Detail: details}}
	meta.Msgid = msgid
	if err := a.call(cctx, platform.InfnoDetailRecon, meta, din, &dout); err != nil {
		return fmt.Errorf("3202: %w", err)
	}
	t.Diffs = dout.Detail
	return nil
}

// handleReconciliation: GET /v1/reconciliation?date=YYYY-MM-DD[&format=csv][&check=0] (admin).
func (a *Agent) handleReconciliation(w http.ResponseWriter, r *http.Request) {
	day := r.URL.Query().Get("date")
	if day == "" {
		day = dayOf(a.now())
	}
	if _, err := time.Parse("2006-01-02", day); err != nil {
		writeJSON(w, http.StatusBadRequest, errorBody("bad_request", fmt.Sprintf("date %q is not a date like 2026-11-23", day), nil))
		return
	}
	rep, err := a.reconcile(r.Context(), day, r.URL.Query().Get("check") != "0")
	if err != nil {
		a.writeErr(w, err)
		return
	}
	if r.URL.Query().Get("format") == "csv" {
		w.Header().Set("Content-Type", "text/csv; charset=utf-8")
		w.Header().Set("Content-Disposition", `attachment; filename="reconciliation-`+day+`.csv"`)
		cw := csv.NewWriter(w)
		_ = cw.Write([]string{"date", "bill_no", "window", "state", "setl_id", "medfee_sumamt", "collected", "psn_cash_pay", "refund", "amount_due"})
		for _, d := range rep.Differences {
			real := ""
			if d.RealCash != nil {
				real = d.RealCash.String()
			}
			_ = cw.Write([]string{day, d.BillNo, d.Window, string(d.State), d.SetlID, d.Total.String(), d.Collected.String(), real, d.Refund.String(), d.AmountDue.String()})
		}
		cw.Flush()
		return
	}
	writeJSON(w, http.StatusOK, rep)
}
