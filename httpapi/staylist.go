package httpapi

import (
	"sort"

	settle "github.com/settle-agent/settle-agent"
	"github.com/settle-agent/settle-agent/workflow"
)

// stayRow is one stay as the inpatient office reads it on the status page: by
// ipt_no, the patient's name masked, and the final settlement's amounts once settled.
type stayRow struct {
	*workflow.StayRecord
	Name  string                   // masked (settle.MaskName)
	Final *workflow.StaySettlement // nil until settled for good
}

// stayListStates are the states the page lists stays from: the open ones first
// (queued, in hospital, discharged), then the recently finished.
var stayListStates = []workflow.State{workflow.StateQueued, workflow.StateAdmitted, workflow.StateDischarged,
	workflow.StateFailed, workflow.StateDead, workflow.StateSettled}

// stayRows is the pageLimit stays changed last among the open and recent ones,
// newest first. A state whose list cannot be read is left out: the counters above
// still say how many stays there are.
func stayRows(stays Stays) []stayRow {
	var recs []*workflow.StayRecord
	for _, st := range stayListStates {
		got, err := stays.Stays(st, "", 10*pageLimit)
		if err == nil {
			recs = append(recs, got...)
		}
	}
	sort.SliceStable(recs, func(i, j int) bool { return recs[i].UpdatedAt.After(recs[j].UpdatedAt) })
	recs = recs[:min(len(recs), pageLimit)]
	rows := make([]stayRow, 0, len(recs))
	for _, rec := range recs {
		name := rec.Admission.Patient.PsnName
		if rec.Person != nil && rec.Person.PsnName != "" {
			name = rec.Person.PsnName
		}
		rows = append(rows, stayRow{StayRecord: rec, Name: settle.MaskName(name), Final: rec.Final()})
	}
	return rows
}
