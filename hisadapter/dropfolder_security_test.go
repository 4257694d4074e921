package hisadapter

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"
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

// writeDrop writes a CSV of n one-line bills MZ1..MZn into dir/name with the fixed
// file time.
func writeDrop(t *testing.T, dir, name string, n int) {
	t.Helper()
	var b strings.Builder
	b.WriteString("bill_no,window,mdtrt_cert_type,mdtrt_cert_no,med_type,diagnosis_code,line,his_code,name,qty,unit_price,amount\n")
	for i := 1; i <= n; i++ {
		fmt.Fprintf(&b, "MZ%d,W01,03,A12345678,11,I10.x00,1,YP0001,x,2,12.50,25.00\n", i)
	}
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Chtimes(path, fileTime, fileTime); err != nil {
		t.Fatal(err)
	}
}

// Issue 29 finding 1: a drop folder file was taken at once (300 bills in ~1 s, ~1,200
// platform calls) while MLLP holds the same input to message_rate. The drop folder
// shares the MLLP listener's Intake: with a burst of 3 and no refill in sight, a file of
// 5 bills stores 3 and waits; stopped, it leaves the file in place for a later try.
func TestDropFolder_BillsGoThroughTheIntakeRate(t *testing.T) {
	sink := newMemSink(nil)
	d, clock := newDropFolder(t, sink)
	d.Intake = NewIntake(1.0/3600, 3) // 3 at once, then one an hour
	srv := &MLLPServer{Sink: sink, Intake: d.Intake}
	srv.init()
	if srv.Intake != d.Intake {
		t.Fatal("the MLLP listener made its own intake; want the shared one")
	}
	writeDrop(t, d.Dir, "flood.csv", 5)
	if err := d.Scan(context.Background()); err != nil {
		t.Fatal(err)
	}
	clock.Add(3 * time.Second)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- d.Scan(ctx) }()
	for {
		bills, _ := sink.count()
		if bills >= 3 || !exists(filepath.Join(d.Dir, "flood.csv")) {
			break
		}
		runtime.Gosched()
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if bills, _ := sink.count(); bills != 3 {
		t.Errorf("stored %d bills of 5 with an intake burst of 3; want 3", bills)
	}
	if !exists(filepath.Join(d.Dir, "flood.csv")) {
		t.Error("the file was moved; want it left in place until every bill had its turn")
	}
}

// Issue 29 finding 1: a 32 MiB file held ~400,000 bills. A file over max_file_bills
// goes to error/ whole, saying why, and stores nothing.
func TestDropFolder_FileOverBillCapRefusedWhole(t *testing.T) {
	sink := newMemSink(nil)
	d, clock := newDropFolder(t, sink)
	d.MaxFileBills = 2
	writeDrop(t, d.Dir, "big.csv", 3)
	scanFor(t, d, clock)
	if _, calls := sink.count(); calls != 0 {
		t.Errorf("Sink called %d times for a file over the cap; want 0", calls)
	}
	report, err := os.ReadFile(filepath.Join(d.Dir, "error", "big.csv.err"))
	if err != nil || !strings.Contains(string(report), "holds 3 bills, more than the 2") {
		t.Errorf("report %q, %v; want it to say the file holds 3 bills, more than the 2", report, err)
	}
}

// Issue 29 finding 5: the raw file name went into the .err report, so a name with a
// newline and ESC forged report lines. It is quoted, escapes and all.
func TestDropFolder_ReportQuotesTheFileName(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("Windows file names cannot hold control characters")
	}
	sink := newMemSink(nil)
	d, clock := newDropFolder(t, sink)
	d.MaxFileBills = 1
	name := "a\nSTORED: MZ9 (line 2)\x1b[2J.csv"
	writeDrop(t, d.Dir, name, 2)
	scanFor(t, d, clock)
	report, err := os.ReadFile(filepath.Join(d.Dir, "error", name+".err"))
	if err != nil {
		t.Fatal(err)
	}
	first, _, _ := strings.Cut(string(report), "\n")
	if want := strconv.Quote(name); !strings.Contains(first, want) || strings.Contains(string(report), "\x1b") ||
		strings.Contains(string(report), "\nSTORED: MZ9") {
		t.Errorf("report %q; want the name quoted as %s on its first line, no ESC, no forged line", report, want)
	}
}
