package sim

import (
	"testing"

	settle "github.com/settle-agent/settle-agent"
	"github.com/settle-agent/settle-agent/platform"
)

// Issue 17 point 2: a line of qty 1855986.25 × unit price 99390521205.152, stated as
// 25.00 (what the product wraps to in 64-bit fen), was settled. The simulator, like
// the real platform, refuses it: the product is exact and never wraps.
func TestFeeUpload_OverflowingLineRefused(t *testing.T) {
	_, c := mustSim(t, nil)
	var reg platform.RegisterOutput
	c.ok("2201", platform.RegisterInput{Data: platform.RegisterData{PsnNo: psnLocalEmployee, Insutype: "310", Begntime: "2026-11-23 09:00:00"}}, &reg)
	in := c.feeInput(psnLocalEmployee, reg.Data.MdtrtID, "OVF1", line{codgVisit, "1855986.25", "99390521205.152"})
	in.Feedetail[0].DetItemFeeSumamt = platform.AmountOf(settle.MustMoney("25.00"))
	c.refused("2204", in, "不符")
}
