package workflow_test

import (
	"encoding/json"
	"testing"

	"github.com/settle-agent/settle-agent/workflow"
)

// A record stored before the journal was shared keeps its pending msgids, history,
// queue link and error: the Journal's fields sit at the document's top level, as
// they always did, and are written back there.
func TestJournal_OldRecordsReadAndWriteTheSameFields(t *testing.T) {
	const stored = `{"pending":[{"infno":"2207","msgid":"M1","unknown":true}],` +
		`"reversing":[{"infno":"2208","msgid":"M0"}],"history":[{"msgid":"M1","infno":"2207","time":"2026-11-23T09:12:00Z","outcome":"unknown"}],` +
		`"warnings":["w"],"surprises":["s"],"err_code":"dead","err_msg":"m","queue_id":7,` +
		`"queued_at":"2026-11-23T09:12:00Z","done_day":"2026-11-23","created_at":"2026-11-23T09:00:00Z","updated_at":"2026-11-23T09:13:00Z"}`
	var bill workflow.Record
	var stay workflow.StayRecord
	for _, doc := range []struct {
		name string
		v    any
		j    func() workflow.Journal
	}{
		{"bill", &bill, func() workflow.Journal { return bill.Journal }},
		{"stay", &stay, func() workflow.Journal { return stay.Journal }},
	} {
		if err := json.Unmarshal([]byte(stored), doc.v); err != nil {
			t.Fatalf("%s: decode: %v", doc.name, err)
		}
		j := doc.j()
		if len(j.Pending) != 1 || !j.Pending[0].Unknown || len(j.Reversing) != 1 || len(j.History) != 1 ||
			j.QueueID != 7 || j.ErrCode != "dead" || j.DoneDay != "2026-11-23" || j.UpdatedAt.IsZero() {
			t.Errorf("%s: got journal %+v; want every stored field read", doc.name, j)
		}
		out, err := json.Marshal(doc.v)
		if err != nil {
			t.Fatalf("%s: encode: %v", doc.name, err)
		}
		var top map[string]json.RawMessage
		if err := json.Unmarshal(out, &top); err != nil {
			t.Fatal(err)
		}
		for _, k := range []string{"pending", "reversing", "history", "warnings", "surprises", "err_code", "err_msg", "queue_id", "queued_at", "done_day", "created_at", "updated_at"} {
			if _, ok := top[k]; !ok {
				t.Errorf("%s: encoded without top-level %q; want the field where it was stored", doc.name, k)
			}
		}
		if _, ok := top["Journal"]; ok {
			t.Errorf("%s: encoded with a nested Journal; want its fields at the top level", doc.name)
		}
	}
}
