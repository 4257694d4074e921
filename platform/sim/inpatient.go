package sim

import (
	"strings"
	"time"

	settle "github.com/settle-agent/settle-agent"
	"github.com/settle-agent/settle-agent/platform"
)

// stay is one inpatient admission (2401) and everything the platform holds of it. Its
// fee lines live in v (the same bookkeeping as an outpatient visit's), but the visit is
// not in state.visits: outpatient transactions (2204, 2207, …) do not find a stay, as
// on the real platform, where an inpatient visit takes only the inpatient ones.
type stay struct {
	v          *visit
	iptNo      string
	info       platform.AdmissionInfo
	begn       time.Time
	adm        *booking
	discharged bool
	end        time.Time
	dscg       *booking
	feeAt      map[string]time.Time     // feedetl_sn -> fee_ocur_time of the line that stands
	settledBy  map[string]*ipSettlement // feedetl_sn -> the live settlement that covers it
	setls      []*ipSettlement          // every settlement of the stay, in booking order
}

// final returns the stay's live final (discharge) settlement, or nil.
func (s *stay) final() *ipSettlement {
	for _, st := range s.setls {
		if !st.mid && st.entry.Live() {
			return st
		}
	}
	return nil
}

// liveSetls lists the stay's settlements that stand, oldest first.
func (s *stay) liveSetls() []*ipSettlement {
	var out []*ipSettlement
	for _, st := range s.setls {
		if st.entry.Live() {
			out = append(out, st)
		}
	}
	return out
}

// dedcUsed is the deductible the stay's live settlements have paid: the inpatient
// deductible is per admission.
func (s *stay) dedcUsed() settle.Money {
	var sum settle.Money
	for _, st := range s.liveSetls() {
		sum += st.split.ActPayDedc
	}
	return sum
}

// timeLayout is the layout of begntime, endtime and fee_ocur_time.
const timeLayout = platform.InfTimeLayout

func parseBeijing(s string) (time.Time, bool) {
	t, err := time.ParseInLocation(timeLayout, strings.TrimSpace(s), beijing)
	return t, err == nil
}

// stayEntry starts a ledger entry of an inpatient transaction on s.
func (p *Platform) stayEntry(req *platform.Request, s *stay) Entry {
	e := p.entry(req, s.v.psnNo, s.v.id)
	e.Insutype, e.MedType, e.IptNo = s.v.insutype, settle.MedTypeInpatient, s.iptNo
	return e
}

// liveStay finds a stay that was admitted and not cancelled, belonging to psnNo when
// given.
func (p *Platform) liveStay(mdtrtID, psnNo string) (*stay, *bizError) {
	s, ok := p.st.stays[mdtrtID]
	if !ok || s.v.cancelled {
		return nil, biz("住院就诊信息不存在或已撤销: mdtrt_id %s", mdtrtID)
	}
	if psnNo != "" && psnNo != s.v.psnNo {
		return nil, biz("人员编号 %s 与住院就诊 %s 的人员不符", psnNo, mdtrtID)
	}
	return s, nil
}

// admission is 2401: the person exists and is insured as claimed, a cross-region
// patient is filed (备案) — for inpatients always, whatever the outpatient rule of the
// insured place — the ipt_no was never admitted here (unless cancelled) and the person
// has no open stay at this hospital.
func (p *Platform) admission(req *platform.Request) (any, *bizError) {
	var in platform.AdmissionInput
	if e := decodeInput(req, &in); e != nil {
		return nil, e
	}
	d := in.Mdtrtinfo
	ps, e := p.person(d.PsnNo)
	if e != nil {
		return nil, e
	}
	fp := ps.fx
	if d.MedType != settle.MedTypeInpatient {
		return nil, biz("医疗类别 med_type %q 不是住院(21)", d.MedType)
	}
	if d.Insutype == "" || d.Insutype != fp.Insutype {
		return nil, biz("险种类型 %q 与参保人险种 %s 不符", d.Insutype, fp.Insutype)
	}
	if d.MdtrtCertType != "" || d.MdtrtCertNo != "" {
		holder, e := p.findPerson(platform.PersonQuery{MdtrtCertType: d.MdtrtCertType, MdtrtCertNo: d.MdtrtCertNo})
		if e != nil {
			return nil, e
		}
		if holder.PsnNo != fp.PsnNo {
			return nil, biz("就诊凭证 %s 不属于人员 %s", d.MdtrtCertType, fp.PsnNo)
		}
	}
	if strings.TrimSpace(d.IptNo) == "" {
		return nil, biz("住院号 ipt_no 不能为空")
	}
	begn, ok := parseBeijing(d.Begntime)
	if !ok {
		return nil, biz("入院时间 begntime %q 格式应为 yyyy-MM-dd HH:mm:ss", d.Begntime)
	}
	if strings.TrimSpace(d.DiseCodg) == "" && strings.TrimSpace(d.AdmDiagDscr) == "" && len(in.Diseinfo) == 0 {
		return nil, biz("入院诊断不能为空 (dise_codg 或 diseinfo)")
	}
	if p.crossRegion(fp) && !fp.Filed {
		return nil, biz("参保人未备案: 异地就医住院需先在参保地(%s)办理备案", fp.InsuplcAdmdvs)
	}
	for _, o := range p.st.stays {
		if o.v.cancelled || o.v.fixmedins != req.FixmedinsCode {
			continue
		}
		if o.iptNo == d.IptNo {
			// The hospital's inpatient number is unique for ever (a cancelled or
			// reversed admission frees it).
			return nil, biz("住院号 %s 已办理入院(mdtrt_id %s)，不能重复入院", d.IptNo, o.v.id)
		}
		if o.v.psnNo == fp.PsnNo && o.final() == nil {
			return nil, biz("参保人已在院(住院号 %s, mdtrt_id %s)，请勿重复办理入院", o.iptNo, o.v.id)
		}
	}
	s := &stay{
		v: &visit{id: p.nextID("ZY"), psnNo: fp.PsnNo, insutype: fp.Insutype, fixmedins: req.FixmedinsCode,
			medType: settle.MedTypeInpatient, fees: map[string]*fee{}},
		iptNo: d.IptNo, info: d, begn: begn, feeAt: map[string]time.Time{}, settledBy: map[string]*ipSettlement{},
	}
	b := &booking{Entry: p.stayEntry(req, s)}
	b.undo = func(st *state, by string) *bizError {
		if len(s.liveSetls()) > 0 {
			return biz("住院就诊 %s 已结算，不能冲正入院", s.v.id)
		}
		if liveFees(s.v) > 0 {
			return biz("住院就诊 %s 存在未撤销的费用明细，不能冲正入院", s.v.id)
		}
		s.v.cancelled = true
		return nil
	}
	s.adm = p.st.book(b)
	s.v.reg = s.adm
	p.st.stays[s.v.id] = s
	return platform.AdmissionOutput{Result: platform.AdmissionResult{MdtrtID: s.v.id, PsnNo: fp.PsnNo, IptOtpNo: d.IptNo}}, nil
}

// liveFees counts the fee lines of v that stand.
func liveFees(v *visit) int {
	n := 0
	for _, sn := range v.order {
		if !v.fees[sn].cancelled {
			n++
		}
	}
	return n
}

// admissionChange is 2403: the fields sent replace the admission's; a stay settled
// for good takes no change.
func (p *Platform) admissionChange(req *platform.Request) (any, *bizError) {
	var in platform.AdmissionChangeInput
	if e := decodeInput(req, &in); e != nil {
		return nil, e
	}
	c := in.Adminfo
	s, e := p.liveStay(c.MdtrtID, c.PsnNo)
	if e != nil {
		return nil, e
	}
	if f := s.final(); f != nil {
		return nil, biz("住院就诊 %s 已结算(setl_id %s)，不能变更入院信息", s.v.id, f.id)
	}
	if c.Begntime != "" {
		t, ok := parseBeijing(c.Begntime)
		if !ok {
			return nil, biz("入院时间 begntime %q 格式应为 yyyy-MM-dd HH:mm:ss", c.Begntime)
		}
		s.begn, s.info.Begntime = t, c.Begntime
	}
	set := func(dst *string, v string) {
		if v != "" {
			*dst = v
		}
	}
	set(&s.info.AtddrNo, c.AtddrNo)
	set(&s.info.ChfpdrName, c.ChfpdrName)
	set(&s.info.AdmDiagDscr, c.AdmDiagDscr)
	set(&s.info.AdmDeptCodg, c.AdmDeptCodg)
	set(&s.info.AdmDeptName, c.AdmDeptName)
	set(&s.info.AdmBed, c.AdmBed)
	set(&s.info.MainCondDscr, c.MainCondDscr)
	set(&s.info.DiseCodg, c.DiseCodg)
	set(&s.info.DiseName, c.DiseName)
	p.st.book(&booking{Entry: p.stayEntry(req, s)})
	return struct{}{}, nil
}

// cancelAdmission is 2404: only a stay with nothing settled, no fee line standing and
// not discharged may be cancelled.
func (p *Platform) cancelAdmission(req *platform.Request) (any, *bizError) {
	var in platform.StayRefInput
	if e := decodeInput(req, &in); e != nil {
		return nil, e
	}
	s, e := p.liveStay(in.Data.MdtrtID, in.Data.PsnNo)
	if e != nil {
		return nil, e
	}
	switch {
	case len(s.liveSetls()) > 0:
		return nil, biz("住院就诊 %s 已结算，请先撤销结算(2305)", s.v.id)
	case s.discharged:
		return nil, biz("住院就诊 %s 已办理出院，请先撤销出院(2405)", s.v.id)
	case liveFees(s.v) > 0:
		return nil, biz("住院就诊 %s 存在未撤销的费用明细，请先撤销费用明细(2302)", s.v.id)
	}
	s.v.cancelled = true
	s.adm.Cancelled, s.adm.CancelledBy = true, req.Msgid
	b := &booking{Entry: p.stayEntry(req, s)}
	b.Target = s.adm.Msgid
	p.st.book(b)
	return struct{}{}, nil
}

// discharge is 2402: a stay in hospital leaves at endtime (not before its admission),
// with a discharge diagnosis and way.
func (p *Platform) discharge(req *platform.Request) (any, *bizError) {
	var in platform.DischargeInput
	if e := decodeInput(req, &in); e != nil {
		return nil, e
	}
	d := in.Dscginfo
	s, e := p.liveStay(d.MdtrtID, d.PsnNo)
	if e != nil {
		return nil, e
	}
	if s.discharged {
		return nil, biz("住院就诊 %s 已办理出院", s.v.id)
	}
	if d.Insutype != "" && d.Insutype != s.v.insutype {
		return nil, biz("险种类型 %s 与住院就诊的险种 %s 不符", d.Insutype, s.v.insutype)
	}
	end, ok := parseBeijing(d.Endtime)
	if !ok {
		return nil, biz("出院时间 endtime %q 格式应为 yyyy-MM-dd HH:mm:ss", d.Endtime)
	}
	if end.Before(s.begn) {
		return nil, biz("出院时间 %s 早于入院时间 %s", d.Endtime, s.info.Begntime)
	}
	if strings.TrimSpace(d.DiseCodg) == "" {
		return nil, biz("出院主诊断 dise_codg 不能为空")
	}
	if strings.TrimSpace(d.DscgWay) == "" {
		return nil, biz("离院方式 dscg_way 不能为空")
	}
	for _, sn := range s.v.order {
		if f := s.v.fees[sn]; !f.cancelled && s.feeAt[sn].After(end) {
			return nil, biz("费用明细 %s 的发生时间晚于出院时间 %s", sn, d.Endtime)
		}
	}
	s.discharged, s.end = true, end
	b := &booking{Entry: p.stayEntry(req, s)}
	b.undo = func(st *state, by string) *bizError {
		if s.final() != nil {
			return biz("住院就诊 %s 已结算，不能冲正出院", s.v.id)
		}
		s.discharged = false
		return nil
	}
	s.dscg = p.st.book(b)
	return struct{}{}, nil
}

// cancelDischarge is 2405: a discharged stay not yet settled for good goes back to
// the ward.
func (p *Platform) cancelDischarge(req *platform.Request) (any, *bizError) {
	var in platform.StayRefInput
	if e := decodeInput(req, &in); e != nil {
		return nil, e
	}
	s, e := p.liveStay(in.Data.MdtrtID, in.Data.PsnNo)
	if e != nil {
		return nil, e
	}
	if !s.discharged {
		return nil, biz("住院就诊 %s 未办理出院", s.v.id)
	}
	if f := s.final(); f != nil {
		return nil, biz("住院就诊 %s 已结算(setl_id %s)，请先撤销结算(2305)", s.v.id, f.id)
	}
	s.discharged = false
	b := &booking{Entry: p.stayEntry(req, s)}
	if s.dscg != nil {
		s.dscg.Cancelled, s.dscg.CancelledBy = true, req.Msgid
		b.Target = s.dscg.Msgid
	}
	p.st.book(b)
	return struct{}{}, nil
}

// StayAt returns what the platform holds of the stay with ipt_no at the hospital
// fixmedins (any hospital when empty): the newest such admission that was not
// cancelled; ok is false when there is none.
func (p *Platform) StayAt(fixmedins, iptNo string) (StayView, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	var best *stay
	for _, s := range p.st.stays {
		if s.iptNo != iptNo || s.v.cancelled || fixmedins != "" && s.v.fixmedins != fixmedins {
			continue
		}
		if best == nil || s.adm.Time.After(best.adm.Time) || s.adm.Time.Equal(best.adm.Time) && s.v.id > best.v.id {
			best = s
		}
	}
	if best == nil {
		return StayView{}, false
	}
	view := StayView{MdtrtID: best.v.id, PsnNo: best.v.psnNo, IptNo: best.iptNo, Discharged: best.discharged, LiveFees: liveFees(best.v)}
	for _, st := range best.liveSetls() {
		view.Settlements = append(view.Settlements, st.id)
	}
	if f := best.final(); f != nil {
		view.FinalSetlID = f.id
	}
	return view, true
}

// StayView is a test's view of one stay at the platform.
type StayView struct {
	MdtrtID     string
	PsnNo       string
	IptNo       string
	Discharged  bool
	LiveFees    int      // fee lines that stand
	Settlements []string // setl_ids of the live settlements, final and mid-stay
	FinalSetlID string   // the live final settlement, if any
}

// SettledStays returns, per ipt_no, how many final inpatient settlements (2304 with
// mid_setl_flag 0) stand: "exactly once" means every discharged stay maps to 1.
func (p *Platform) SettledStays() map[string]int {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := make(map[string]int)
	for _, s := range p.st.stays {
		for _, st := range s.setls {
			if !st.mid && st.entry.Live() {
				out[s.iptNo]++
			}
		}
	}
	return out
}
