package hisadapter

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	settle "github.com/settle-agent/settle-agent"
)

func describeCSV(t *testing.T, name, enc string) []byte {
	t.Helper()
	f, err := os.Open(filepath.Join("testdata", "csv", name))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	bills, problems, err := ParseCSV(f, enc)
	if err != nil {
		t.Fatalf("ParseCSV: %v", err)
	}
	var out bytes.Buffer
	j, _ := json.MarshalIndent(bills, "", "  ")
	out.WriteString("== bills\n" + string(j) + "\n== problems\n")
	for _, p := range problems {
		fmt.Fprintf(&out, "%s (bill %s)\n", p, p.BillNo)
	}
	return out.Bytes()
}

func TestParseCSV_Golden(t *testing.T) {
	for _, tc := range []struct{ file, enc string }{{"good.csv", "utf-8"}, {"gbk.csv", "gbk"}, {"mixed.csv", ""}} {
		t.Run(tc.file, func(t *testing.T) {
			goldenFile(t, filepath.Join("csv", strings.TrimSuffix(tc.file, ".csv")+".golden"), describeCSV(t, tc.file, tc.enc))
		})
	}
}

func TestParseCSV_Errors(t *testing.T) {
	if _, _, err := ParseCSV(strings.NewReader("x"), "klingon"); !errors.Is(err, ErrEncoding) {
		t.Errorf("unknown encoding: got %v; want ErrEncoding", err)
	}
	raw, _ := os.ReadFile(filepath.Join("testdata", "csv", "gbk.csv"))
	_, problems, err := ParseCSV(bytes.NewReader(raw), "utf-8")
	if err != nil || len(problems) != 1 || !strings.Contains(problems[0].Reason, "GBK") || problems[0].Line != 2 {
		t.Errorf("GBK read as UTF-8: got %v, %v; want one line 2 problem suggesting GBK", problems, err)
	}
	_, problems, _ = ParseCSV(strings.NewReader("bill_no,qty\nA,1\n"), "")
	if len(problems) != 1 || problems[0].Line != 1 || !strings.Contains(problems[0].Reason, "his_code") {
		t.Errorf("missing columns: got %v; want a line 1 problem", problems)
	}
}

func FuzzParseCSV(f *testing.F) {
	for _, name := range []string{"good.csv", "mixed.csv", "gbk.csv"} {
		if b, err := os.ReadFile(filepath.Join("testdata", "csv", name)); err == nil {
			f.Add(b, name == "gbk.csv")
		}
	}
	f.Fuzz(func(t *testing.T, b []byte, gbk bool) {
		enc := "utf-8"
		if gbk {
			enc = "gbk"
		}
		bills, problems, err := ParseCSV(bytes.NewReader(b), enc)
		if err != nil {
			t.Fatalf("error on input (only encoding names and I/O may fail): %v", err)
		}
		seen := map[string]bool{}
		for _, bill := range bills {
			if err := bill.Validate(); err != nil {
				t.Fatalf("bill %s does not validate: %v", bill.BillNo, err)
			}
			if seen[bill.BillNo] {
				t.Fatalf("bill %s returned twice", bill.BillNo)
			}
			seen[bill.BillNo] = true
			for _, p := range problems {
				if p.BillNo == bill.BillNo {
					t.Fatalf("bill %s returned although line %d has a problem", bill.BillNo, p.Line)
				}
			}
		}
		again, _, _ := ParseCSV(bytes.NewReader(b), enc)
		j1, _ := json.Marshal(bills)
		j2, _ := json.Marshal(again)
		if !bytes.Equal(j1, j2) {
			t.Fatal("the same file gave different bills")
		}
	})
}

// fakeClock is a clock tests move by hand.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

var fileTime = time.Date(2026, 11, 23, 9, 30, 0, 0, chinaTime)

// dropFile copies a testdata CSV into the folder with a fixed modification time.
func dropFile(t *testing.T, dir, src, name string) {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join("testdata", "csv", src))
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, raw, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Chtimes(path, fileTime, fileTime); err != nil {
		t.Fatal(err)
	}
}

func newDropFolder(t *testing.T, sink Sink) (*DropFolder, *fakeClock) {
	clock := &fakeClock{t: time.Date(2026, 11, 23, 10, 0, 0, 0, chinaTime)}
	return &DropFolder{Dir: t.TempDir(), Sink: sink, Now: clock.Now, QuietTime: 2 * time.Second, RetryInterval: 10 * time.Second}, clock
}

// scanFor runs Scan with the clock moved past the quiet time, as Run would.
func scanFor(t *testing.T, d *DropFolder, clock *fakeClock) {
	t.Helper()
	for range 2 {
		if err := d.Scan(context.Background()); err != nil {
			t.Fatal(err)
		}
		clock.Add(3 * time.Second)
	}
}

func TestDropFolder_GoodFileMovesToDone(t *testing.T) {
	sink := newMemSink(mustMapping(t, "good.csv"))
	d, clock := newDropFolder(t, sink)
	dropFile(t, d.Dir, "good.csv", "batch1.csv")
	if err := d.Scan(context.Background()); err != nil {
		t.Fatal(err)
	}
	if _, calls := sink.count(); calls != 0 {
		t.Fatalf("file taken before its quiet time: %d calls", calls)
	}
	scanFor(t, d, clock)
	if !exists(filepath.Join(d.Dir, "done", "batch1.csv")) || exists(filepath.Join(d.Dir, "batch1.csv")) {
		t.Fatal("file not moved to done/")
	}
	if bills, _ := sink.count(); bills != 2 {
		t.Errorf("got %d bills; want 2", bills)
	}
	var b settle.Bill
	json.Unmarshal(sink.bills["MZ002"], &b)
	if !b.CreatedAt.Equal(fileTime) || b.Items[0].MedListCodg == "" || b.Total != settle.MustMoney("4.50") {
		t.Errorf("got created_at %v, code %q, total %s; want the file time, a mapped code, 4.50", b.CreatedAt, b.Items[0].MedListCodg, b.Total)
	}
}

func TestDropFolder_ErrorFileWithReport(t *testing.T) {
	sink := newMemSink(mustMapping(t, "good.csv"))
	d, clock := newDropFolder(t, sink)
	dropFile(t, d.Dir, "mixed.csv", "mixed.csv")
	scanFor(t, d, clock)
	if !exists(filepath.Join(d.Dir, "error", "mixed.csv")) {
		t.Fatal("file not moved to error/")
	}
	report, err := os.ReadFile(filepath.Join(d.Dir, "error", "mixed.csv.err"))
	if err != nil {
		t.Fatal(err)
	}
	goldenFile(t, filepath.Join("csv", "mixed.err.golden"), report)
	if bills, _ := sink.count(); bills != 1 || sink.bills["MZ101"] == nil {
		t.Errorf("stored %v; want MZ101 (the one good bill) stored anyway", sink.order)
	}
}

func TestDropFolder_TmpIgnoredUntilRenamed(t *testing.T) {
	sink := newMemSink(nil)
	d, clock := newDropFolder(t, sink)
	dropFile(t, d.Dir, "good.csv", "export.csv.tmp")
	scanFor(t, d, clock)
	scanFor(t, d, clock)
	if _, calls := sink.count(); calls != 0 {
		t.Fatalf("a .tmp file was taken: %d calls", calls)
	}
	if err := os.Rename(filepath.Join(d.Dir, "export.csv.tmp"), filepath.Join(d.Dir, "export.csv")); err != nil {
		t.Fatal(err)
	}
	scanFor(t, d, clock)
	if bills, _ := sink.count(); bills != 2 || !exists(filepath.Join(d.Dir, "done", "export.csv")) {
		t.Errorf("renamed file: %d bills; want 2 and the file in done/", bills)
	}
}

func TestDropFolder_GrowingFileWaits(t *testing.T) {
	sink := newMemSink(nil)
	d, clock := newDropFolder(t, sink)
	path := filepath.Join(d.Dir, "slow.csv")
	raw, _ := os.ReadFile(filepath.Join("testdata", "csv", "good.csv"))
	os.WriteFile(path, raw[:len(raw)/2], 0o644)
	d.Scan(context.Background())
	clock.Add(time.Second)
	os.WriteFile(path, raw, 0o644) // still being written: size changes
	d.Scan(context.Background())
	clock.Add(time.Second + time.Second/2)
	d.Scan(context.Background())
	if _, calls := sink.count(); calls != 0 {
		t.Fatalf("a file that changed within the quiet time was taken")
	}
	clock.Add(time.Second)
	d.Scan(context.Background())
	if bills, _ := sink.count(); bills != 2 {
		t.Errorf("got %d bills; want 2 once the file was quiet", bills)
	}
}

func TestDropFolder_GBK(t *testing.T) {
	sink := newMemSink(nil)
	d, clock := newDropFolder(t, sink)
	d.Encoding = "gbk"
	dropFile(t, d.Dir, "gbk.csv", "gbk.csv")
	scanFor(t, d, clock)
	var b settle.Bill
	json.Unmarshal(sink.bills["GB001"], &b)
	if b.Items[0].Name != "硝苯地平控释片" {
		t.Errorf("got name %q; want 硝苯地平控释片", b.Items[0].Name)
	}
}

func TestDropFolder_TemporaryFailureLeavesFile(t *testing.T) {
	sink := newMemSink(nil)
	sink.failNext = 1
	d, clock := newDropFolder(t, sink)
	dropFile(t, d.Dir, "good.csv", "b.csv")
	scanFor(t, d, clock)
	if !exists(filepath.Join(d.Dir, "b.csv")) {
		t.Fatal("file moved after a temporary failure; want it left in place")
	}
	clock.Add(d.RetryInterval)
	scanFor(t, d, clock)
	if bills, _ := sink.count(); bills != 2 || !exists(filepath.Join(d.Dir, "done", "b.csv")) {
		t.Errorf("retry: %d bills; want 2 and the file in done/", bills)
	}
}

func TestDropFolder_Run(t *testing.T) {
	sink := newMemSink(nil)
	d := &DropFolder{Dir: t.TempDir(), Sink: sink, QuietTime: time.Millisecond, PollInterval: 5 * time.Millisecond}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- d.Run(ctx) }()
	dropFile(t, d.Dir, "good.csv", "a.csv")
	waitFor(t, "a.csv in done/", func() bool { return exists(filepath.Join(d.Dir, "done", "a.csv")) })
	dropFile(t, d.Dir, "good.csv", "a.csv") // the same name again: kept beside the first
	waitFor(t, "second a.csv in done/", func() bool {
		m, _ := filepath.Glob(filepath.Join(d.Dir, "done", "a-*.csv"))
		return len(m) == 1
	})
	cancel()
	if err := <-done; err != nil {
		t.Errorf("Run: %v", err)
	}
	if bills, calls := sink.count(); bills != 2 || calls != 4 {
		t.Errorf("got %d bills, %d calls; want 2 bills (the resend answered by idempotency), 4 calls", bills, calls)
	}
}

// dirSink stores each bill as a file named by its bill_no, the way a durable store
// with bill_no idempotency would: the same body answers nil, another ErrConflict. It
// survives the process, so a crashed child and a restarted parent share it. After
// blockAfter new bills it says so on stdout and hangs, waiting to be killed.
type dirSink struct {
	dir        string
	blockAfter int
	stored     int
}

func (s *dirSink) SubmitBill(ctx context.Context, b settle.Bill, source string) error {
	j, err := json.Marshal(b)
	if err != nil {
		return err
	}
	path := filepath.Join(s.dir, b.BillNo+".json")
	if old, err := os.ReadFile(path); err == nil {
		if !bytes.Equal(old, j) {
			return fmt.Errorf("bill %s stored before with another body: %w", b.BillNo, settle.ErrConflict)
		}
		return nil
	}
	if err := os.WriteFile(path, j, 0o644); err != nil {
		return err
	}
	s.stored++
	if s.stored == s.blockAfter {
		fmt.Println("STORED", s.stored)
		<-ctx.Done()
		select {} // hang: the parent kills this process here
	}
	return nil
}

// TestDropFolder_CrashChild is the child side of TestDropFolder_CrashRestart.
func TestDropFolder_CrashChild(t *testing.T) {
	dir := os.Getenv("HISADAPTER_CRASH_DIR")
	if dir == "" {
		t.Skip("run by TestDropFolder_CrashRestart")
	}
	d := &DropFolder{Dir: filepath.Join(dir, "in"), Sink: &dirSink{dir: filepath.Join(dir, "store"), blockAfter: 1},
		QuietTime: time.Millisecond, PollInterval: 5 * time.Millisecond, SinkTimeout: time.Hour}
	d.Run(context.Background())
}

func TestDropFolder_CrashRestart(t *testing.T) {
	dir := t.TempDir()
	in, store := filepath.Join(dir, "in"), filepath.Join(dir, "store")
	os.MkdirAll(in, 0o755)
	os.MkdirAll(store, 0o755)
	dropFile(t, in, "good.csv", "batch.csv")

	cmd := exec.Command(os.Args[0], "-test.run=^TestDropFolder_CrashChild$", "-test.v")
	cmd.Env = append(os.Environ(), "HISADAPTER_CRASH_DIR="+dir)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	safety := time.AfterFunc(2*time.Minute, func() { cmd.Process.Kill() }) // never leave the child behind
	defer safety.Stop()
	sc := bufio.NewScanner(out)
	for sc.Scan() && !strings.HasPrefix(sc.Text(), "STORED") {
	}
	cmd.Process.Kill() // SIGKILL halfway through the file: one bill stored, one not
	cmd.Wait()
	if n, _ := filepath.Glob(filepath.Join(store, "*.json")); len(n) != 1 || !exists(filepath.Join(in, "batch.csv")) {
		t.Fatalf("after the crash: %d bills stored, file in place %v; want 1 and true", len(n), exists(filepath.Join(in, "batch.csv")))
	}

	// The restarted agent takes the file again from the start.
	sink := &dirSink{dir: store}
	d := &DropFolder{Dir: in, Sink: sink, QuietTime: time.Millisecond, PollInterval: 5 * time.Millisecond}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- d.Run(ctx) }()
	waitFor(t, "batch.csv moved", func() bool {
		return exists(filepath.Join(in, "done", "batch.csv")) || exists(filepath.Join(in, "error", "batch.csv"))
	})
	cancel()
	<-done
	if report, err := os.ReadFile(filepath.Join(in, "error", "batch.csv.err")); err == nil {
		t.Fatalf("the re-run was refused (the bill rebuilt differently?):\n%s", report)
	}
	if n, _ := filepath.Glob(filepath.Join(store, "*.json")); len(n) != 2 || sink.stored != 1 {
		t.Errorf("got %d bills, %d newly stored by the re-run; want 2 and 1", len(n), sink.stored)
	}
}
