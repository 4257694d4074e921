package platform

import (
	"errors"
	"testing"
)

// The stay's refusals are recognised by phrase, for their own transactions only.
func TestPhrases_StayRefusals_ByInfno(t *testing.T) {
	for _, tt := range []struct {
		infno, msg string
		want       error
	}{
		{InfnoDischarge, "该患者已办理出院", ErrAlreadyDischarged},
		{InfnoCancelDischarge, "该患者未办理出院,不能撤销", ErrNothingToCancel},
		{InfnoCancelDischarge, "患者未出院", ErrNothingToCancel},
		{InfnoInpatientSettle, "费用明细与结算信息不符", ErrLinesDiffer},
		{InfnoInpatientPreSettle, "明细不符", ErrLinesDiffer},
		{InfnoInpatientSettle, "患者未出院,不能结算", nil}, // not a cancellation: it may stand
		{InfnoSettle, "金额不符", nil},
		{InfnoAdmission, "已办理出院", nil},
	} {
		if got := DefaultPhrases.Kind(tt.infno, tt.msg); !errors.Is(got, tt.want) || (tt.want == nil) != (got == nil) {
			t.Errorf("%s %q: got %v; want %v", tt.infno, tt.msg, got, tt.want)
		}
	}
	p := Phrases{LinesDiffer: []string{"明细对不上"}}.orDefault()
	if got := p.Kind(InfnoInpatientSettle, "明细对不上"); !errors.Is(got, ErrLinesDiffer) {
		t.Errorf("a province's own wording: got %v; want ErrLinesDiffer", got)
	}
}
