package sim

import (
	"maps"
	"slices"

	settle "github.com/settle-agent/settle-agent"
	"github.com/settle-agent/settle-agent/platform"
)

// inpatientTxns are the inpatient transactions dispatch hands on.
var inpatientTxns = map[string]func(*Platform, *platform.Request) (any, *bizError){
	platform.InfnoAdmission:             (*Platform).admission,
	platform.InfnoAdmissionChange:       (*Platform).admissionChange,
	platform.InfnoCancelAdmission:       (*Platform).cancelAdmission,
	platform.InfnoDischarge:             (*Platform).discharge,
	platform.InfnoCancelDischarge:       (*Platform).cancelDischarge,
	platform.InfnoInpatientFeeUpload:    (*Platform).inpatientFeeUpload,
	platform.InfnoInpatientCancelFee:    (*Platform).inpatientCancelFee,
	platform.InfnoInpatientPreSettle:    (*Platform).inpatientPreSettle,
	platform.InfnoInpatientSettle:       (*Platform).inpatientSettle,
	platform.InfnoInpatientCancelSettle: (*Platform).inpatientCancelSettle,
}

// isSettlement reports whether a booking is a settlement the reconciliation counts:
// outpatient 2207 or inpatient 2304 (final or mid-stay).
func isSettlement(b *booking) bool {
	return b.Infno == platform.InfnoSettle || b.Infno == platform.InfnoInpatientSettle
}

// clrTypeOf is a settlement's clearing type: 21 inpatient, 11 outpatient.
func clrTypeOf(b *booking) string {
	if b.ClrType != "" {
		return b.ClrType
	}
	return platform.ClrTypeOutpatient
}

// validateInpatientDeductible checks a policy's optional deductibles per admission:
// only 310 and 390, none negative.
func validateInpatientDeductible(v *settle.ValidationError, at string, p Policy) {
	for _, it := range slices.Sorted(maps.Keys(p.InpatientDeductible)) {
		d := p.InpatientDeductible[it]
		switch {
		case it != settle.InsutypeEmployee && it != settle.InsutypeResident:
			v.Add(at+".inpatient_deductible."+it, "insutype must be 310 or 390")
		case d < 0:
			v.Add(at+".inpatient_deductible."+it, "must not be negative, got %s", d)
		}
	}
}
