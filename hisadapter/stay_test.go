package hisadapter

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	settle "github.com/settle-agent/settle-agent"
)

// memStaySink is the agent's inpatient side as this package sees it: it validates and
// keeps admissions by ipt_no and fee batches by (ipt_no, batch_no) with the agent's
// idempotency (same body: the same answer; other body: ErrConflict), and knows no stay
// it was not given (ErrNotFound).
type memStaySink struct {
	*memSink

	smu        sync.Mutex
	admissions map[string][]byte
	batches    map[string][]byte
	discharges map[string][]byte
	cancels    []string
	stayCalls  int
	failStay   int
}

func newMemStaySink() *memStaySink {
	return &memStaySink{memSink: newMemSink(nil), admissions: map[string][]byte{}, batches: map[string][]byte{}, discharges: map[string][]byte{}}
}

// keep stores v under key in m with the idempotency rule.
func (s *memStaySink) keep(m map[string][]byte, key string, v any) error {
	s.stayCalls++
	if s.failStay > 0 {
		s.failStay--
		return errors.New("store stay: disk full")
	}
	j, err := json.Marshal(v)
	if err != nil {
		return err
	}
	if old, ok := m[key]; ok {
		if bytes.Equal(old, j) {
			return nil
		}
		return fmt.Errorf("%s: %w", key, settle.ErrConflict)
	}
	m[key] = j
	return nil
}

func (s *memStaySink) known(iptNo string) error {
	if _, ok := s.admissions[iptNo]; !ok {
		return fmt.Errorf("stay %s: %w", iptNo, settle.ErrNotFound)
	}
	return nil
}

func (s *memStaySink) SubmitAdmission(ctx context.Context, a settle.Admission, source string) error {
	if err := a.Validate(); err != nil {
		return err
	}
	s.smu.Lock()
	defer s.smu.Unlock()
	return s.keep(s.admissions, a.IptNo, a)
}

func (s *memStaySink) SubmitStayFees(ctx context.Context, b settle.FeeBatch, source string) error {
	if err := b.Validate(); err != nil {
		return err
	}
	s.smu.Lock()
	defer s.smu.Unlock()
	if err := s.known(b.IptNo); err != nil {
		return err
	}
	return s.keep(s.batches, b.IptNo+"/"+b.BatchNo, b)
}

func (s *memStaySink) SubmitDischarge(ctx context.Context, d settle.Discharge, source string) error {
	if err := d.Validate(); err != nil {
		return err
	}
	s.smu.Lock()
	defer s.smu.Unlock()
	if err := s.known(d.IptNo); err != nil {
		return err
	}
	return s.keep(s.discharges, d.IptNo, d)
}

func (s *memStaySink) CancelAdmission(ctx context.Context, iptNo, source string) error {
	s.smu.Lock()
	defer s.smu.Unlock()
	if err := s.known(iptNo); err != nil {
		return err
	}
	s.cancels = append(s.cancels, "admit "+iptNo)
	return nil
}

func (s *memStaySink) CancelDischarge(ctx context.Context, iptNo, source string) error {
	s.smu.Lock()
	defer s.smu.Unlock()
	if err := s.known(iptNo); err != nil {
		return err
	}
	s.cancels = append(s.cancels, "discharge "+iptNo)
	return nil
}

func (s *memStaySink) ChangeAdmission(ctx context.Context, c settle.AdmissionChange, source string) error {
	if err := c.Validate(); err != nil {
		return err
	}
	s.smu.Lock()
	defer s.smu.Unlock()
	if err := s.known(c.IptNo); err != nil {
		return err
	}
	s.cancels = append(s.cancels, "change "+c.IptNo+" bed "+c.Bed)
	return nil
}

func (s *memStaySink) counts() (admissions, batches, discharges, calls int) {
	s.smu.Lock()
	defer s.smu.Unlock()
	return len(s.admissions), len(s.batches), len(s.discharges), s.stayCalls
}

func staySample(t *testing.T, name string) []byte { return sample(t, filepath.Join("inpatient", name)) }

func TestMLLPServer_Stay(t *testing.T) {
	sink := newMemStaySink()
	addr := startMLLP(t, &MLLPServer{Sink: sink, Defaults: DFTDefaults{MedType: "11"}})
	c := dialMLLP(t, addr)
	expect := func(name, code, note string) *Message {
		t.Helper()
		a := ackOf(t, c.send(staySample(t, name)))
		if a.Get("MSA-1") != code || note != "" && !strings.Contains(a.Get("MSA-3"), note) {
			t.Fatalf("%s: got %s %q; want %s %q", name, a.Get("MSA-1"), a.Get("MSA-3"), code, note)
		}
		return a
	}
	t.Run("FeesBeforeAdmission", func(t *testing.T) {
		a := expect("fees.hl7", AckError, "")
		if e := a.Segment("ERR"); e == nil || !strings.HasPrefix(e.Value(8), "PV1-19") {
			t.Errorf("ERR %v; want PV1-19 named for an unknown stay", e)
		}
	})
	t.Run("Admit", func(t *testing.T) {
		expect("admit.hl7", AckAccept, "admission stored")
		expect("admit.hl7", AckAccept, "admission stored") // a resend: answered again, stored once
		if n, _, _, _ := sink.counts(); n != 1 {
			t.Errorf("admissions stored: %d; want 1", n)
		}
	})
	t.Run("Fees", func(t *testing.T) {
		// The same batch under a new control id is stored once (batch_no idempotency).
		expect("fees.hl7", AckError, "") // the control id answered before is answered again as it was
		again := bytes.Replace(staySample(t, "fees.hl7"), []byte("DFT1001"), []byte("DFT1001B"), 1)
		if a := ackOf(t, c.send(again)); a.Get("MSA-1") != AckAccept {
			t.Fatalf("fees under a new control id: got %s %q; want AA", a.Get("MSA-1"), a.Get("MSA-3"))
		}
		resent := bytes.Replace(again, []byte("DFT1001B"), []byte("DFT1001C"), 1)
		if a := ackOf(t, c.send(resent)); a.Get("MSA-1") != AckAccept {
			t.Fatalf("the same batch again: got %s; want AA", a.Get("MSA-1"))
		}
		changed := bytes.Replace(resent, []byte("DFT1001C"), []byte("DFT1001D"), 1)
		changed = bytes.Replace(changed, []byte("|4|14.00|3.50|"), []byte("|5|17.50|3.50|"), 1)
		a := ackOf(t, c.send(changed))
		if a.Get("MSA-1") != AckError || !strings.HasPrefix(a.Segment("ERR").Value(8), "FT1-3") {
			t.Errorf("the same batch_no with other lines: got %s %q; want AE naming FT1-3", a.Get("MSA-1"), a.Segment("ERR").Value(8))
		}
		if _, n, _, _ := sink.counts(); n != 1 {
			t.Errorf("batches stored: %d; want 1", n)
		}
	})
	t.Run("BadFees", func(t *testing.T) {
		a := expect("fees_bad.hl7", AckError, "")
		if got := len(a.All("ERR")); got < 4 {
			t.Errorf("got %d ERR; want every problem named", got)
		}
	})
	t.Run("Discharge", func(t *testing.T) {
		expect("discharge.hl7", AckAccept, "discharge stored")
		expect("cancel_discharge.hl7", AckAccept, "discharge cancellation stored")
		expect("change_a08.hl7", AckAccept, "admission change stored")
		expect("cancel_admit.hl7", AckAccept, "admission cancellation stored")
		sink.smu.Lock()
		got := strings.Join(sink.cancels, ",")
		sink.smu.Unlock()
		if got != "discharge ZY20261120001,change ZY20261120001 bed 12-05,admit ZY20261120001" {
			t.Errorf("cancels: %s; want the discharge then the admission", got)
		}
	})
	t.Run("Unsupported", func(t *testing.T) {
		expect("transfer_a02.hl7", AckReject, "")
	})
	t.Run("OutpatientStillBills", func(t *testing.T) {
		if a := ackOf(t, c.send(dft("C77", "MZ77", "YP0001"))); a.Get("MSA-1") != AckAccept || a.Get("MSA-3") != "bill stored" {
			t.Errorf("outpatient DFT: got %s %q; want AA bill stored", a.Get("MSA-1"), a.Get("MSA-3"))
		}
	})
	t.Run("TemporaryFailureIsRetried", func(t *testing.T) {
		sink.smu.Lock()
		sink.failStay = 1
		sink.smu.Unlock()
		msg := bytes.Replace(staySample(t, "admit.hl7"), []byte("ZY20261120001"), []byte("ZY20261120009"), 1)
		msg = bytes.Replace(msg, []byte("ADT0001"), []byte("ADT0009"), 1)
		if a := ackOf(t, c.send(msg)); a.Get("MSA-1") != AckError || !strings.Contains(a.Get("MSA-3"), "resend") {
			t.Fatalf("disk full: got %s %q; want AE asking to resend", a.Get("MSA-1"), a.Get("MSA-3"))
		}
		if a := ackOf(t, c.send(msg)); a.Get("MSA-1") != AckAccept {
			t.Fatalf("resent: got %s; want AA", a.Get("MSA-1"))
		}
	})
}

func TestMLLPServer_StayNotEnabled(t *testing.T) {
	addr := startMLLP(t, &MLLPServer{Sink: newMemSink(nil)})
	a := ackOf(t, dialMLLP(t, addr).send(staySample(t, "admit.hl7")))
	if a.Get("MSA-1") != AckReject {
		t.Errorf("ADT to a bill-only sink: got %s; want AR", a.Get("MSA-1"))
	}
}

func describeStayCSV(t *testing.T, name string) []byte {
	t.Helper()
	f, err := os.Open(filepath.Join("testdata", "csv", name))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	batches, problems, err := ParseStayCSV(f, "")
	if err != nil {
		t.Fatalf("ParseStayCSV: %v", err)
	}
	var out bytes.Buffer
	j, _ := json.MarshalIndent(batches, "", "  ")
	out.WriteString("== batches\n" + string(j) + "\n== problems\n")
	for _, p := range problems {
		fmt.Fprintf(&out, "%s (batch %s)\n", p, p.BillNo)
	}
	return out.Bytes()
}

func TestParseStayCSV_Golden(t *testing.T) {
	for _, name := range []string{"stay_good.csv", "stay_mixed.csv"} {
		t.Run(name, func(t *testing.T) {
			goldenFile(t, filepath.Join("csv", strings.TrimSuffix(name, ".csv")+".golden"), describeStayCSV(t, name))
		})
	}
}

func FuzzParseStayCSV(f *testing.F) {
	for _, name := range []string{"stay_good.csv", "stay_mixed.csv"} {
		if b, err := os.ReadFile(filepath.Join("testdata", "csv", name)); err == nil {
			f.Add(b)
		}
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		batches, problems, err := ParseStayCSV(bytes.NewReader(b), "")
		if err != nil {
			t.Fatalf("error on input (only encoding names and I/O may fail): %v", err)
		}
		seen := map[string]bool{}
		for _, x := range batches {
			if err := x.Validate(); err != nil {
				t.Fatalf("batch %s/%s does not validate: %v", x.IptNo, x.BatchNo, err)
			}
			k := x.IptNo + "/" + x.BatchNo
			if seen[k] {
				t.Fatalf("batch %s returned twice", k)
			}
			seen[k] = true
			for _, p := range problems {
				if p.BillNo == k {
					t.Fatalf("batch %s returned although line %d has a problem", k, p.Line)
				}
			}
		}
	})
}

func TestDropFolder_StayFees(t *testing.T) {
	sink := newMemStaySink()
	for _, ipt := range []string{"ZY20261120001", "ZY20261120002"} {
		sink.admissions[ipt] = []byte("{}")
	}
	d, clock := newDropFolder(t, sink)
	dropFile(t, d.Dir, "stay_good.csv", "fees1.csv")
	dropFile(t, d.Dir, "stay_mixed.csv", "fees2.csv")
	scanFor(t, d, clock)
	if _, err := os.Stat(filepath.Join(d.Dir, "done", "fees1.csv")); err != nil {
		t.Errorf("good inpatient fee file: %v; want it in done/", err)
	}
	report, err := os.ReadFile(filepath.Join(d.Dir, "error", "fees2.csv.err"))
	if err != nil {
		t.Fatalf("mixed file: %v; want error/fees2.csv.err", err)
	}
	for _, want := range []string{"STORED (1 batch(es)", "ZY20261120001/D20261122", "line 3", "line 4: batch ZY20261120001/D20261121: occurred_at", "line 7: batch ZY20261120003/D1: ipt_no: no stay", "line 8"} {
		if !strings.Contains(string(report), want) {
			t.Errorf("report lacks %q:\n%s", want, report)
		}
	}
	if _, n, _, _ := sink.counts(); n != 4 {
		t.Errorf("batches stored: %d; want 3 from the good file and 1 from the mixed one", n)
	}
}

func TestDropFolder_StayFeesNotEnabled(t *testing.T) {
	d, clock := newDropFolder(t, newMemSink(nil))
	dropFile(t, d.Dir, "stay_good.csv", "fees.csv")
	scanFor(t, d, clock)
	report, err := os.ReadFile(filepath.Join(d.Dir, "error", "fees.csv.err"))
	if err != nil || !strings.Contains(string(report), "inpatient") {
		t.Errorf("got %q, %v; want error/ saying inpatient files are not taken", report, err)
	}
}

func TestMLLPServer_StayWindowBinding(t *testing.T) {
	sink := newMemStaySink()
	addr := startMLLP(t, &MLLPServer{Sink: sink, Windows: []string{"W01"}, Defaults: DFTDefaults{InpatientWindow: "ZYC01"}})
	a := ackOf(t, dialMLLP(t, addr).send(staySample(t, "admit.hl7")))
	if a.Get("MSA-1") != AckError || !strings.HasPrefix(a.Segment("ERR").Value(8), "PV1-3") {
		t.Errorf("an admission for a window the listener does not serve: %s %q; want AE naming PV1-3", a.Get("MSA-1"), a.Segment("ERR").Value(8))
	}
	if n, _, _, _ := sink.counts(); n != 0 {
		t.Errorf("admissions stored: %d; want none", n)
	}
}
