package agent_test

import (
	"testing"

	settle "github.com/settle-agent/settle-agent"
	"github.com/settle-agent/settle-agent/config"
	"github.com/settle-agent/settle-agent/platform/sim"
)

// settledOnce fails unless every bill is booked at the platform exactly once and the
// agent says settled.
func (s *testSystem) settledOnce(t *testing.T, bills ...string) {
	t.Helper()
	for _, no := range bills {
		s.waitFor("bill "+no+" settled", func() bool {
			_, b := s.Do("GET", "/v1/bills/"+no, tokAdmin, nil)
			return str(b, "state") == "settled"
		})
		if got := settledByBill(s.Sim)[no]; got != 1 {
			t.Errorf("bill %s: platform bookings got %d; want 1", no, got)
		}
	}
}

func TestAgent_Offline_QueueAndDrain(t *testing.T) {
	s := MustSystem(t, nil)
	// Teach the agent the patient and the items first (a visit online).
	warm := newBill(cardLocalEmployee)
	s.Do("POST", "/v1/bills", tokW01, warm)
	s.Do("POST", "/v1/bills/"+warm.BillNo+"/settle", tokW01, nil)

	s.Sim.SetFaults(sim.Faults{Down: true})
	var bills []string
	for i := 0; i < 5; i++ {
		card := cardLocalEmployee
		if i%2 == 1 {
			card = cardShanghaiFiled
		}
		b := newBill(card)
		st, body := s.Do("POST", "/v1/bills", tokW01, b)
		if st != 201 {
			t.Fatalf("offline POST: got %d %v; want 201", st, body)
		}
		if body["estimate"] != true {
			t.Errorf("offline pre-settlement: estimate got %v; want true", body["estimate"])
		}
		st, body = s.Do("POST", "/v1/bills/"+b.BillNo+"/settle", tokW01, nil)
		if st != 202 || str(body, "state") != "queued" {
			t.Fatalf("offline settle: got %d %v; want 202 queued", st, body)
		}
		if got := str(body, "collect_now"); got != b.Total.String() {
			t.Errorf("collect_now under policy full: got %q; want the total %s", got, b.Total)
		}
		if body["provisional"] == nil {
			t.Errorf("queued answer lacks provisional: %v", body)
		}
		bills = append(bills, b.BillNo)
	}
	_, st := s.Do("GET", "/v1/status", tokW01, nil)
	if st["online"] != false {
		t.Errorf("status online: got %v; want false", st["online"])
	}
	s.Sim.SetFaults(sim.Faults{})
	s.settledOnce(t, bills...)

	_, rep := s.Do("GET", "/v1/reconciliation?date="+dayNow(), tokAdmin, nil)
	diffs, _ := rep["differences"].([]any)
	if len(diffs) != len(bills) {
		t.Errorf("reconciliation differences: got %d rows; want %d: %v", len(diffs), len(bills), rep)
	}
	for _, d := range diffs {
		row := d.(map[string]any)
		collected, _ := settle.ParseMoney(row["collected"].(string))
		cash, _ := settle.ParseMoney(row["psn_cash_pay"].(string))
		refund, _ := settle.ParseMoney(row["refund"].(string))
		if collected-cash != refund {
			t.Errorf("row %v: collected %s - cash %s != refund %s", row["bill_no"], collected, cash, refund)
		}
	}
	if rep["clean"] != true {
		t.Errorf("reconciliation not clean: %v", rep)
	}
}

func TestAgent_Offline_Policies(t *testing.T) {
	t.Run("Refuse", func(t *testing.T) {
		s := MustSystem(t, func(c *config.Config) { c.Offline.Policy = "refuse" })
		s.Sim.SetFaults(sim.Faults{Down: true})
		b := newBill(cardLocalEmployee)
		st, body := s.Do("POST", "/v1/bills", tokW01, b)
		if st != 503 || str(body, "error", "code") != "offline_refused" {
			t.Errorf("got %d %v; want 503 offline_refused", st, body)
		}
		// Back online, the same request is pre-settled: a refusal while offline is
		// not an answer to replay.
		s.Sim.SetFaults(sim.Faults{})
		s.waitFor("online again", func() bool {
			_, st := s.Do("GET", "/v1/status", tokW01, nil)
			return st["online"] == true
		})
		st, body = s.Do("POST", "/v1/bills", tokW01, b)
		if st != 201 || str(body, "state") != "presettled" || body["estimate"] != false {
			t.Errorf("same bill once online: got %d %v; want 201 presettled by the platform", st, body)
		}
	})
	t.Run("Estimate", func(t *testing.T) {
		s := MustSystem(t, func(c *config.Config) {
			c.Offline.Policy = "estimate"
			c.Offline.MaxBillAmount = settle.MustMoney("100.00")
		})
		warm := newBill(cardLocalEmployee)
		s.Do("POST", "/v1/bills", tokW01, warm)
		s.Do("POST", "/v1/bills/"+warm.BillNo+"/settle", tokW01, nil)
		s.Sim.SetFaults(sim.Faults{Down: true})
		small := newBill(cardLocalEmployee)
		s.Do("POST", "/v1/bills", tokW01, small)
		_, body := s.Do("POST", "/v1/bills/"+small.BillNo+"/settle", tokW01, nil)
		collect, _ := settle.ParseMoney(str(body, "collect_now"))
		if collect >= small.Total {
			t.Errorf("estimate policy, small bill: collect_now %s; want less than the total %s", collect, small.Total)
		}
		big := newBill(cardLocalEmployee, settle.Item{Line: 1, HISCode: "JC0001", Name: "CT", Qty: mustQty("1"), UnitPrice: mustPrice("240"), Amount: settle.MustMoney("240.00")})
		s.Do("POST", "/v1/bills", tokW01, big)
		_, body = s.Do("POST", "/v1/bills/"+big.BillNo+"/settle", tokW01, nil)
		if got := str(body, "collect_now"); got != big.Total.String() {
			t.Errorf("estimate policy over max_bill_amount: collect_now %s; want full %s", got, big.Total)
		}
		s.Sim.SetFaults(sim.Faults{})
		s.settledOnce(t, small.BillNo, big.BillNo)
	})
}

func TestAgent_OutcomeUnknown_ExactlyOnce(t *testing.T) {
	for _, tc := range []struct {
		name   string
		faults sim.Faults
	}{
		{"LostResponse", sim.Faults{LoseResponseRate: 1}},
		{"LostResponseReplay", sim.Faults{LoseResponseRate: 1, ReplayMsgid: true}},
		{"InfcodeMinus1", sim.Faults{InfcodeMinus1Rate: 1}},
		{"HTTP500", sim.Faults{HTTP500Rate: 1}},
		{"Reset", sim.Faults{ResetRate: 1}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := MustSystem(t, nil)
			b := newBill(cardLocalEmployee)
			if st, body := s.Do("POST", "/v1/bills", tokW01, b); st != 201 {
				t.Fatalf("create: %d %v", st, body)
			}
			s.Sim.SetFaults(tc.faults)
			st, body := s.Do("POST", "/v1/bills/"+b.BillNo+"/settle", tokW01, nil)
			if st != 202 {
				t.Fatalf("settle under %s: got %d %v; want 202 queued", tc.name, st, body)
			}
			s.Sim.SetFaults(sim.Faults{ReplayMsgid: tc.faults.ReplayMsgid})
			s.settledOnce(t, b.BillNo)
			if rep := s.Sim.RepeatedMsgids(); len(rep) > 0 {
				t.Errorf("the agent repeated msgids: %v", rep)
			}
		})
	}
}

func TestAgent_Offline_SurvivesRestart(t *testing.T) {
	s := MustSystem(t, nil)
	s.Sim.SetFaults(sim.Faults{Down: true})
	var bills []string
	for i := 0; i < 3; i++ {
		b := newBill(cardLocalResident)
		s.Do("POST", "/v1/bills", tokW01, b)
		if st, body := s.Do("POST", "/v1/bills/"+b.BillNo+"/settle", tokW01, nil); st != 202 {
			t.Fatalf("settle: %d %v", st, body)
		}
		bills = append(bills, b.BillNo)
	}
	s.Stop()
	s.Sim.SetFaults(sim.Faults{})
	s.Start()
	s.settledOnce(t, bills...)
}

func TestAgent_Offline_CancelQueued(t *testing.T) {
	s := MustSystem(t, nil)
	s.Sim.SetFaults(sim.Faults{Down: true})
	b := newBill(cardLocalResident)
	s.Do("POST", "/v1/bills", tokW01, b)
	s.Do("POST", "/v1/bills/"+b.BillNo+"/settle", tokW01, nil)
	st, body := s.Do("POST", "/v1/bills/"+b.BillNo+"/cancel", tokW01, nil)
	if st != 200 || str(body, "state") != "cancelled" {
		t.Fatalf("cancel of a never-sent queued bill: got %d %v; want 200 cancelled", st, body)
	}
	s.Sim.SetFaults(sim.Faults{})
	s.waitFor("queue empty", func() bool {
		_, st := s.Do("GET", "/v1/status", tokAdmin, nil)
		q, _ := st["queue"].(map[string]any)
		return q["queued"] == 0.0 && q["inflight"] == 0.0
	})
	if n := len(s.Sim.Ledger()); n != 0 {
		t.Errorf("a cancelled, never-sent bill reached the platform: %d entries", n)
	}
}

// A bill whose settlement went out with no answer is cancelled at the window: the
// cancellation waits in the queue, the unknown 2207 is reversed first, then the visit
// is undone; the platform ends with no settlement for it.
func TestAgent_CancelAfterUnknownSettlement(t *testing.T) {
	s := MustSystem(t, nil)
	b := newBill(cardLocalEmployee)
	if st, body := s.Do("POST", "/v1/bills", tokW01, b); st != 201 {
		t.Fatalf("create: %d %v", st, body)
	}
	s.Sim.SetFaults(sim.Faults{LoseResponseRate: 1})
	if st, body := s.Do("POST", "/v1/bills/"+b.BillNo+"/settle", tokW01, nil); st != 202 {
		t.Fatalf("settle with the answer lost: got %d %v; want 202", st, body)
	}
	st, body := s.Do("POST", "/v1/bills/"+b.BillNo+"/cancel", tokW01, nil)
	if st != 202 || body["cancel_pending"] != true {
		t.Fatalf("cancel: got %d %v; want 202 with cancel_pending", st, body)
	}
	s.Sim.SetFaults(sim.Faults{})
	s.waitFor("bill cancelled", func() bool {
		_, got := s.Do("GET", "/v1/bills/"+b.BillNo, tokW01, nil)
		return str(got, "state") == "cancelled"
	})
	if n := settledByBill(s.Sim)[b.BillNo]; n != 0 {
		t.Errorf("live settlements at the platform: got %d; want 0", n)
	}
}
