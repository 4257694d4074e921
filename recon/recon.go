// Package recon is the daily reconciliation (对账) of the agent's books with the
// platform's: every offline bill's difference between what was collected and the
// real own share, the day's totals per insurance type, the platform's verdict on
// them (3201: 0 balanced, 1 the platform holds more, 2 the hospital holds more, 3 the
// data differ) and, when a total is not balanced, the differing settlements (one 3202
// for the day, of every settlement, through files: 9101 upload, 3202, 9102
// download), each named with the platform's msgid of it. It knows nothing of how bills are stored: it is given the
// day's bills and a way to call the platform.
package recon

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"

	"github.com/settle-agent/settle-agent/internal/csvsafe"

	settle "github.com/settle-agent/settle-agent"
	"github.com/settle-agent/settle-agent/platform"
)

// Errors of this package.
var (
	// ErrNoSource: a Reconciler without its Bills or Call.
	ErrNoSource = errors.New("reconciliation needs the day's bills and the platform")
)

// stateCancelled is the workflow's name of a cancelled bill (Bill.State).
const stateCancelled = "cancelled"

// Bill is one bill as reconciliation sees it.
type Bill struct {
	BillNo    string
	Window    string
	State     string // the workflow's state name
	Total     settle.Money
	Offline   bool          // the settlement went through the queue
	Collected *settle.Money // what the window collected while offline
	// Settlement is the platform's settlement (nil when there is none yet).
	Settlement  *settle.Split
	SettleMsgid string
	MdtrtID     string
	PsnNo       string
	Insutype    string
	Cancelled   bool // 2208 done
	// ClrType is the settlement's clearing type: platform.ClrTypeInpatient (21) for a
	// stay's settlement; empty is outpatient (11). 3201 totals are per clearing type.
	ClrType string
	// Deposit: a stay's settlement deferred while offline and settled from the queue;
	// the patient's own share comes out of the deposit (押金) the hospital holds.
	Deposit bool
	// Pending: still queued or in flight. NeedsPerson: failed or dead.
	Pending, NeedsPerson bool
}

// Reconciliation is one day's report.
type Reconciliation struct {
	Date        string          `json:"date"`
	Differences []DifferenceRow `json:"differences"`
	Totals      []Total         `json:"totals"`
	Queued      int             `json:"queued"`
	NeedsPerson int             `json:"needs_person"`
	Checked     bool            `json:"checked_with_platform"`
	Clean       bool            `json:"clean"`
	Note        string          `json:"note,omitempty"`
	// Diffs is the day's 3202 (one for every settlement of the day, whatever its
	// insutype or clearing type), run when a 3201 total did not balance: every
	// settlement that differs. Each is also listed under its own Total; one the agent
	// does not hold (stmt_rslt 1) under every Total that 3201 did not balance.
	Diffs []platform.ReconResultRow `json:"diffs,omitempty"`
}

// DifferenceRow is one offline bill's settlement of accounts with the patient.
type DifferenceRow struct {
	BillNo    string        `json:"bill_no"`
	Window    string        `json:"window"`
	State     string        `json:"state"`
	SetlID    string        `json:"setl_id,omitempty"`
	Total     settle.Money  `json:"medfee_sumamt"`
	Collected settle.Money  `json:"collected"`
	RealCash  *settle.Money `json:"psn_cash_pay,omitempty"`
	Refund    settle.Money  `json:"refund"`
	AmountDue settle.Money  `json:"amount_due"`
	// Deposit: a stay settled from the queue; amount_due is the patient's own share,
	// to be settled against the deposit (押金) the hospital holds.
	Deposit bool `json:"deposit,omitempty"`
}

// Total is one insurance type's and clearing institution's totals, and what the
// platform said of them.
type Total struct {
	Insutype      string                    `json:"insutype"`
	ClrType       string                    `json:"clr_type"`
	SetlOptins    string                    `json:"setl_optins"`
	Count         int                       `json:"fixmedins_setl_cnt"`
	MedfeeSumamt  settle.Money              `json:"medfee_sumamt"`
	FundPaySumamt settle.Money              `json:"fund_pay_sumamt"`
	AcctPay       settle.Money              `json:"acct_pay"`
	Result        string                    `json:"stmt_rslt,omitempty"`
	Description   string                    `json:"stmt_rslt_dscr,omitempty"`
	Diffs         []platform.ReconResultRow `json:"diffs,omitempty"`
	Error         string                    `json:"error,omitempty"`

	rows []platform.ReconFileRow
	cash settle.Money // Σ psn_cash_pay of the settlements that stand
}

// Reconciler builds reports.
type Reconciler struct {
	// Bills returns the bills that count on day (yyyy-mm-dd).
	Bills func(day string) ([]Bill, error)
	// Call sends one platform message (with its own msgid and deadline).
	Call func(ctx context.Context, infno string, in, out any) error
	// DetailRecon runs one 3202 exchange through files (platform.Client's
	// DetailReconByFile); Meta gives each of its messages an envelope with a new msgid.
	DetailRecon func(ctx context.Context, r platform.DetailRecon) ([]platform.ReconResultRow, error)
	Meta        func() (platform.Meta, error)
	// Online reports whether the platform is reachable now.
	Online func() bool
	// SetlOptins is the clearing institution (the treatment area's agency).
	SetlOptins string
	// Insutypes are always checked with the platform, bills or not (310, 390 when
	// empty): a day with no local bill may still hold settlements at the platform.
	Insutypes []string
}

// Reconcile builds the day's report; with check it asks the platform (3201, then
// 3202 for a total that does not match).
func (r *Reconciler) Reconcile(ctx context.Context, day string, check bool) (*Reconciliation, error) {
	if r.Bills == nil || r.Call == nil {
		return nil, ErrNoSource
	}
	bills, err := r.Bills(day)
	if err != nil {
		return nil, err
	}
	rep := &Reconciliation{Date: day, Differences: []DifferenceRow{}, Totals: []Total{}, Clean: true}
	groups := map[string]*Total{}
	group := func(insutype string, clr ...string) *Total {
		clrType := platform.ClrTypeOutpatient
		if len(clr) > 0 && clr[0] != "" {
			clrType = clr[0]
		}
		key := insutype + "|" + clrType + "|" + r.SetlOptins
		g := groups[key]
		if g == nil {
			g = &Total{Insutype: insutype, ClrType: clrType, SetlOptins: r.SetlOptins}
			groups[key] = g
		}
		return g
	}
	insutypes := r.Insutypes
	if len(insutypes) == 0 {
		insutypes = []string{settle.InsutypeEmployee, settle.InsutypeResident}
	}
	for _, it := range insutypes {
		group(it)
	}
	for _, b := range bills {
		if b.Offline && b.Collected != nil {
			row := DifferenceRow{BillNo: b.BillNo, Window: b.Window, State: b.State, Total: b.Total, Collected: *b.Collected}
			if b.Settlement != nil {
				row.SetlID = b.Settlement.SetlID
			}
			// Against the settlement that stands: none after a cancellation (all of
			// it goes back), unknown while the bill waits for the platform.
			real, known := settle.StandingCash(b.Settlement, b.Cancelled, b.State == stateCancelled)
			if known {
				row.RealCash = &real
				row.Refund, row.AmountDue = settle.Owed(*b.Collected, real)
			}
			rep.Differences = append(rep.Differences, row)
		}
		if b.Deposit && b.Settlement != nil {
			real := b.Settlement.PsnCashPay
			rep.Differences = append(rep.Differences, DifferenceRow{BillNo: b.BillNo, Window: b.Window, State: b.State,
				SetlID: b.Settlement.SetlID, Total: b.Total, RealCash: &real, AmountDue: real, Deposit: true})
		}
		switch {
		case b.Pending:
			rep.Queued++
			continue
		case b.NeedsPerson:
			// Queued offline, money collected, then refused or given up: a person
			// must settle it with the patient.
			rep.NeedsPerson++
			continue
		case b.Settlement == nil:
			continue
		}
		// The hospital clears every settlement, local or cross-region, with the
		// treatment area's agency (就医地经办机构, 全省统一清分): one total per insutype.
		s := b.Settlement
		g := group(b.Insutype, b.ClrType)
		refd := "0"
		if b.Cancelled {
			refd = "1"
		} else {
			g.Count++
			g.MedfeeSumamt += s.MedfeeSumamt
			g.FundPaySumamt += s.FundPaySumamt
			g.AcctPay += s.AcctPay
			g.cash += s.PsnCashPay
		}
		g.rows = append(g.rows, platform.ReconFileRow{SetlID: s.SetlID, MdtrtID: b.MdtrtID, PsnNo: b.PsnNo,
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
	if r.Online != nil && !r.Online() {
		rep.Note = "the platform is offline: totals not checked with it yet"
		rep.Clean = false
		return rep, nil
	}
	rep.Checked = true
	unbalanced := false
	for i := range rep.Totals {
		t := &rep.Totals[i]
		if err := r.checkTotal(ctx, day, t); err != nil {
			t.Error = err.Error()
			rep.Clean = false
		}
		if t.Result != platform.StmtBalanced {
			rep.Clean = false
		}
		unbalanced = unbalanced || t.Result != "" && t.Result != platform.StmtBalanced
	}
	if unbalanced {
		if err := r.checkDetail(ctx, day, rep); err != nil {
			for i := range rep.Totals {
				if t := &rep.Totals[i]; t.Result != "" && t.Result != platform.StmtBalanced {
					t.Error = err.Error()
				}
			}
		}
		if len(rep.Diffs) > 0 {
			rep.Clean = false
		}
	}
	return rep, nil
}

// checkTotal is one total's 3201.
func (r *Reconciler) checkTotal(ctx context.Context, day string, t *Total) error {
	in := platform.TotalReconInput{Data: platform.TotalReconData{
		Insutype: t.Insutype, ClrType: t.ClrType, SetlOptins: t.SetlOptins, StmtBegndate: day, StmtEnddate: day,
		MedfeeSumamt: platform.AmountOf(t.MedfeeSumamt), FundPaySumamt: platform.AmountOf(t.FundPaySumamt),
		AcctPay: platform.AmountOf(t.AcctPay), FixmedinsSetlCnt: t.Count,
	}}
	var out platform.TotalReconOutput
	if err := r.Call(ctx, platform.InfnoTotalRecon, in, &out); err != nil {
		return fmt.Errorf("3201: %w", err)
	}
	t.Result, t.Description = out.Stmtinfo.StmtRslt, out.Stmtinfo.StmtRsltDscr
	return nil
}

// checkDetail is the day's 3202. Its input names no insutype nor clearing type: the
// platform compares the file with every settlement of the hospital in the period, so
// the file lists them all (a cancelled one with refd_setl_flag 1), and the totals are
// over all of them — a file of one insutype would make every settlement of the other
// come back as 中心多. cash_payamt is Σ psn_cash_pay (docs/platform.md).
func (r *Reconciler) checkDetail(ctx context.Context, day string, rep *Reconciliation) error {
	if r.DetailRecon == nil || r.Meta == nil {
		return fmt.Errorf("3202: %w", ErrNoSource)
	}
	var metas [3]platform.Meta
	for i := range metas {
		m, err := r.Meta()
		if err != nil {
			return fmt.Errorf("3202: %w", err)
		}
		metas[i] = m
	}
	var all []platform.ReconFileRow
	var medfee, fund, cash settle.Money
	owner := map[string]int{} // setl_id → index in rep.Totals
	for i, t := range rep.Totals {
		all = append(all, t.rows...)
		medfee += t.MedfeeSumamt
		fund += t.FundPaySumamt
		cash += t.cash
		for _, row := range t.rows {
			owner[row.SetlID] = i
		}
	}
	rows, err := r.DetailRecon(ctx, platform.DetailRecon{Upload: metas[0], Recon: metas[1], Download: metas[2],
		Data: platform.DetailReconFileData{SetlOptins: r.SetlOptins, StmtBegndate: day, StmtEnddate: day,
			MedfeeSumamt: platform.AmountOf(medfee), FundPaySumamt: platform.AmountOf(fund),
			CashPayamt: platform.AmountOf(cash), FixmedinsSetlCnt: len(all)},
		Rows: all})
	if err != nil {
		return fmt.Errorf("3202: %w", err)
	}
	rep.Diffs = rows
	for _, row := range rows {
		if i, ok := owner[row.SetlID]; ok && row.SetlID != "" {
			rep.Totals[i].Diffs = append(rep.Totals[i].Diffs, row)
			continue
		}
		for i := range rep.Totals {
			if t := &rep.Totals[i]; t.Result != platform.StmtBalanced {
				t.Diffs = append(t.Diffs, row)
			}
		}
	}
	return nil
}

// WriteCSV writes the report's difference rows (one offline bill a line) as CSV, every
// cell safe to open in a spreadsheet (internal/csvsafe).
func WriteCSV(w io.Writer, rep *Reconciliation) error {
	cw := csvsafe.NewWriter(w)
	// deposit is "1" where amount_due comes out of a stay's deposit (押金) rather than
	// from a patient who left owing it, so the cashier office can tell the two apart.
	_ = cw.Write([]string{"date", "bill_no", "window", "state", "setl_id", "medfee_sumamt", "collected", "psn_cash_pay", "refund", "amount_due", "deposit"})
	for _, d := range rep.Differences {
		real := ""
		if d.RealCash != nil {
			real = d.RealCash.String()
		}
		deposit := "0"
		if d.Deposit {
			deposit = "1"
		}
		_ = cw.Write([]string{rep.Date, d.BillNo, d.Window, d.State, d.SetlID, d.Total.String(), d.Collected.String(), real, d.Refund.String(), d.AmountDue.String(), deposit})
	}
	cw.Flush()
	return cw.Error()
}
