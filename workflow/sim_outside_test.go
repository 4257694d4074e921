package workflow_test

import (
	"context"
	"fmt"

	settle "github.com/settle-agent/settle-agent"
	"github.com/settle-agent/settle-agent/platform"
	"github.com/settle-agent/settle-agent/workflow"
)

// settleOutside books a settlement at the platform that the agent never sees (another
// front-end of the hospital, a window the platform's own client served): the day's
// 3201 does not balance and its 3202 must name exactly that settlement, whatever
// other bills of either insurance type the day holds. It goes straight to the
// simulator, outside the faults; it returns the 2207's msgid and day ("" when the
// platform refused a step, e.g. a forgotten session).
func (s *simulation) settleOutside(card string) (msgid, day string) {
	r := s.r
	ctx := context.Background()
	s.outsideSeq++
	b := r.bill(card)
	b.BillNo = fmt.Sprintf("WB%08d", s.outsideSeq)
	if err := r.mapper.MapItems(&b); err != nil {
		return "", ""
	}
	call := func(infno string, insuplc string, in, out any) (string, error) {
		s.outsideSeq++
		id := fmt.Sprintf("%s%s%04d", fixmedins, r.clock.Now().In(settle.Beijing).Format("20060102150405"), 9000+s.outsideSeq%1000)
		_, err := r.client.Call(ctx, infno, platform.Meta{Msgid: id, InsuplcAdmdvs: insuplc, OpterType: platform.OpterStaff, Opter: "W99", OpterName: "window 99"}, in, out)
		return id, err
	}
	var pi platform.PersonInfoOutput
	if _, err := call(platform.InfnoPersonInfo, "", workflow.PersonInput(b.Patient, r.clock.Now()), &pi); err != nil {
		return "", ""
	}
	p := pi.Person()
	rec := &workflow.Record{Bill: b, PsnNo: p.PsnNo}
	if in, ok := p.Primary(); ok {
		rec.Insutype, rec.Insuplc = in.Insutype, in.InsuplcAdmdvs
	}
	var reg platform.RegisterOutput
	if _, err := call(platform.InfnoRegister, rec.Insuplc, workflow.RegisterInput(rec), &reg); err != nil {
		return "", ""
	}
	rec.MdtrtID = reg.Data.MdtrtID
	if _, err := call(platform.InfnoFeeUpload, rec.Insuplc, workflow.FeeInput(rec), nil); err != nil {
		return "", ""
	}
	var pre platform.SettleOutput
	if _, err := call(platform.InfnoPreSettle, rec.Insuplc, workflow.SettleInput(rec), &pre); err != nil {
		return "", ""
	}
	split := pre.Setlinfo.Split()
	rec.Presettle = &split
	var out platform.SettleOutput
	id, err := call(platform.InfnoSettle, rec.Insuplc, workflow.ConfirmInput(rec), &out)
	if err != nil {
		return "", ""
	}
	at, ok := out.Setlinfo.SettledAt()
	if !ok {
		at = r.clock.Now()
	}
	return id, settle.Day(at)
}
