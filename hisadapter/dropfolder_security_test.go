package hisadapter

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// A drop folder limited to some windows refuses bills for others into error/.
func TestDropFolder_Windows(t *testing.T) {
	sink := newMemSink(mustMapping(t, "good.csv"))
	d, clock := newDropFolder(t, sink)
	d.Windows = []string{"W09"}
	dropFile(t, d.Dir, "good.csv", "good.csv")
	scanFor(t, d, clock)
	if bills, _ := sink.count(); bills != 0 {
		t.Errorf("%d bills stored for windows the folder does not take; want 0", bills)
	}
	report, err := os.ReadFile(filepath.Join(d.Dir, "error", "good.csv.err"))
	if err != nil || !strings.Contains(string(report), "not one this drop folder takes bills for") {
		t.Errorf("report %q, %v; want it to name the window", report, err)
	}
}

// Issue 17 points 1 and 2 in the drop folder: the same rules as the API.
func TestParseCSV_SameValidationAsAPI(t *testing.T) {
	const header = "bill_no,window,mdtrt_cert_type,mdtrt_cert_no,med_type,diagnosis_code,line,his_code,name,qty,unit_price,amount\n"
	for name, tc := range map[string]struct{ row, field string }{
		"formula":  {"\"=powershell|'-c calc'!A1\",W01,03,A12345678,11,I10.x00,1,YP0001,x,2,12.50,25.00", "bill_no"},
		"overflow": {"MZ1,W01,03,A12345678,11,I10.x00,1,YP0001,x,1855986.25,99390521205.152,25.00", "amount"},
		"rlo":      {"MZ1,W01,03,A12345678,11,I10.x00,1,YP0001,\u202egnp.exe,2,12.50,25.00", "name"},
	} {
		bills, problems, err := ParseCSV(strings.NewReader(header+tc.row+"\n"), "")
		if err != nil || len(bills) != 0 || len(problems) == 0 || problems[0].Field != tc.field || problems[0].Line != 2 {
			t.Errorf("%s: got bills %v problems %v err %v; want line 2 %s refused", name, bills, problems, err, tc.field)
		}
	}
}
