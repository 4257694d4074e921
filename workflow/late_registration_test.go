package workflow_test

import (
	"context"
	"testing"

	"github.com/settle-agent/settle-agent/platform"
)

// E3: a lost 2201 lands late, between the 5201 that did not find it and the
// registration again, which the platform refuses (该门诊号已挂号): the visit is found
// with 5201 and adopted.
func TestBill_Late2201_BeforeRegisterAgain_Adopted(t *testing.T) {
	r := newRig(t, rigOptions{})
	b := r.bill(cardLocalEmployee)
	regs := 0
	r.pf.decide = func(infno string) fault {
		if infno != platform.InfnoRegister {
			return passThrough
		}
		regs++
		if regs == 1 {
			return late
		}
		r.pf.Deliver(context.Background())
		return passThrough
	}
	_, _ = r.eng.Bills.SubmitBill(context.Background(), b, b.BillNo, "test")
	r.settleOneVisit(b)
}
