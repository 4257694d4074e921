package agent_test

import (
	"bufio"
	"context"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	settle "github.com/settle-agent/settle-agent"
	"github.com/settle-agent/settle-agent/agent"
	"github.com/settle-agent/settle-agent/cardreader"
	"github.com/settle-agent/settle-agent/config"
	"github.com/settle-agent/settle-agent/hisadapter"
	"github.com/settle-agent/settle-agent/platform/sim"
)

func TestAgent_CardAtWindow(t *testing.T) {
	p, url := MustSim(t)
	cfg := MustConfig(t, url, t.TempDir())
	cfg.Windows[0].Reader = &config.Port{Port: "sim", Protocol: "frame", Baud: 9600, DataBits: 8, Parity: "N", StopBits: 1,
		ReadTimeout: config.Duration{Duration: 100 * time.Millisecond}}
	readers := make(chan *cardreader.Simulator, 4)
	open := func(cardreader.Config) (io.ReadWriteCloser, error) {
		host, dev := cardreader.Pipe()
		s := cardreader.NewSimulator(dev)
		go func() { _ = s.Run(context.Background()) }()
		readers <- s
		return host, nil
	}
	s := &testSystem{tb: t, Sim: p, Cfg: cfg}
	s.StartWith(&agent.Options{OpenPort: open})
	t.Cleanup(s.Stop)
	reader := <-readers
	s.waitFor("reader connected", func() bool {
		_, st := s.Do("GET", "/v1/status", tokW01, nil)
		rs, _ := st["readers"].([]any)
		return len(rs) == 1 && rs[0].(map[string]any)["connected"] == true
	})

	t.Run("NothingSwiped", func(t *testing.T) {
		if st, _ := s.Do("GET", "/v1/windows/W01/card?wait=50ms", tokW01, nil); st != 204 {
			t.Errorf("got %d; want 204", st)
		}
	})
	t.Run("Swipe", func(t *testing.T) {
		card := cardByNo(t, p, cardLocalEmployee)
		if err := reader.Insert(card); err != nil {
			t.Fatal(err)
		}
		st, body := s.Do("GET", "/v1/windows/W01/card?wait=5s", tokW01, nil)
		if st != 200 {
			t.Fatalf("got %d %v; want 200", st, body)
		}
		if got := str(body, "source"); got != "platform" {
			t.Errorf("source: got %q; want platform", got)
		}
		ssn := str(body, "card", "ssn")
		if len(ssn) != 18 || ssn[:6] != card.SSN[:6] || ssn[14:] != card.SSN[14:] || strings.Count(ssn, "*") != 8 {
			t.Errorf("card.ssn: got %q; want first 6 and last 4 of %s with the rest masked", ssn, card.SSN[:6])
		}
		if str(body, "person", "psn_no") == "" {
			t.Errorf("person without psn_no: %v", body)
		}
	})
	t.Run("OfflineFromCache", func(t *testing.T) {
		p.SetFaults(sim.Faults{Down: true})
		defer p.SetFaults(sim.Faults{})
		if err := reader.Insert(cardByNo(t, p, cardLocalEmployee)); err != nil {
			t.Fatal(err)
		}
		st, body := s.Do("GET", "/v1/windows/W01/card?wait=10s", tokW01, nil)
		if st != 200 || str(body, "source") != "cache" {
			t.Errorf("offline swipe of a known card: got %d source %q; want 200 cache", st, str(body, "source"))
		}
		if err := reader.Insert(cardByNo(t, p, cardLocalResident)); err != nil {
			t.Fatal(err)
		}
		st, body = s.Do("GET", "/v1/windows/W01/card?wait=10s", tokW01, nil)
		if st != 200 || str(body, "source") != "card" {
			t.Errorf("offline swipe of an unknown card: got %d %v; want 200 source card", st, body)
		}
	})
	t.Run("BadCard", func(t *testing.T) {
		if err := reader.InsertStatus(0x04); err != nil {
			t.Fatal(err)
		}
		st, body := s.Do("GET", "/v1/windows/W01/card?wait=5s", tokW01, nil)
		if st != 422 || str(body, "error", "code") != "card_error" || str(body, "error", "message") == "" {
			t.Errorf("locked card: got %d %v; want 422 card_error with a message", st, body)
		}
	})
}

func TestAgent_HL7AndDropFolder(t *testing.T) {
	drop := t.TempDir()
	s := MustSystem(t, func(c *config.Config) {
		c.HL7.Listen = "127.0.0.1:0"
		c.DropFolder.Dir = drop
		c.DropFolder.QuietTime = config.Duration{Duration: 50 * time.Millisecond}
		c.DropFolder.PollInterval = config.Duration{Duration: 20 * time.Millisecond}
	})
	send := func(t *testing.T, msg string) string {
		conn, err := net.Dial("tcp", s.Agent.HL7Addr())
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		_ = conn.SetDeadline(time.Now().Add(20 * time.Second))
		if _, err := conn.Write(hisadapter.Frame([]byte(strings.ReplaceAll(msg, "\n", "\r")))); err != nil {
			t.Fatal(err)
		}
		ack, err := bufio.NewReader(conn).ReadString(0x1c)
		if err != nil {
			t.Fatal(err)
		}
		return ack
	}
	msg := func(billNo, code string) string {
		return "MSH|^~\\&|HIS|H|SETTLE|H|20261123091200||DFT^P03^DFT_P03|C" + billNo + "|P|2.5|||||CHN|UNICODE UTF-8\n" +
			"PID|1||P1||张^伟\n" +
			"PV1|1|O|W01^^^H||||D0042^王^医生|||||||||||11|" + billNo + "\n" +
			"DG1|1||I10.x00^高血压^ICD10\n" +
			"IN1|1|310||||||||||||||||||||||||||||||||||03^A33010001\n" +
			"FT1|1|||20261123091000||CG|" + code + "^诊查费|||1|25.00|25.00|0301^内科\n"
	}
	t.Run("AA", func(t *testing.T) {
		ack := send(t, msg("HL7BILL1", "ZL0001"))
		if !strings.Contains(ack, "MSA|AA|") {
			t.Fatalf("ACK: got %q; want MSA|AA", ack)
		}
		st, body := s.Do("GET", "/v1/bills/HL7BILL1", tokW01, nil)
		if st != 200 || str(body, "state") != "presettled" {
			t.Errorf("bill after AA: got %d %v; want presettled", st, body)
		}
	})
	t.Run("AEUnmapped", func(t *testing.T) {
		ack := send(t, msg("HL7BILL2", "YP0099"))
		if !strings.Contains(ack, "MSA|AE|") || !strings.Contains(ack, "YP0099") || !strings.Contains(ack, "FT1-7") {
			t.Errorf("ACK: got %q; want MSA|AE naming FT1-7 and YP0099", ack)
		}
		if st, _ := s.Do("GET", "/v1/bills/HL7BILL2", tokW01, nil); st != 404 {
			t.Errorf("refused bill stored anyway: GET got %d; want 404", st)
		}
	})
	t.Run("DropFolder", func(t *testing.T) {
		csv := "bill_no,window,mdtrt_cert_type,mdtrt_cert_no,med_type,diagnosis_code,line,his_code,name,qty,unit_price,amount\n" +
			"CSVBILL1,W01,03,A33010002,11,J06.900,1,ZL0001,诊查费,1,25.00,25.00\n"
		if err := os.WriteFile(filepath.Join(drop, "b.csv.tmp"), []byte(csv), 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Rename(filepath.Join(drop, "b.csv.tmp"), filepath.Join(drop, "b.csv")); err != nil {
			t.Fatal(err)
		}
		s.waitFor("file in done/", func() bool {
			_, err := os.Stat(filepath.Join(drop, "done", "b.csv"))
			return err == nil
		})
		if st, body := s.Do("GET", "/v1/bills/CSVBILL1", tokW01, nil); st != 200 {
			t.Errorf("dropped bill: got %d %v; want 200", st, body)
		}
	})
}

func TestAgent_Metrics(t *testing.T) {
	s := MustSystem(t, nil)
	b := newBill(cardLocalEmployee)
	s.Do("POST", "/v1/bills", tokW01, b)
	s.Do("POST", "/v1/bills/"+b.BillNo+"/settle", tokW01, nil)
	resp, err := client.Get(s.URL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	text := string(data)
	for _, want := range []string{
		`settle_agent_online 1`,
		`settle_agent_platform_call_seconds_count{infno="2207",outcome="ok"} 1`,
		`settle_agent_bill_events_total{event="settled",via="online"} 1`,
		`settle_agent_queue_records{state="ready"} 0`,
		`settle_agent_bills{state="settled"} 1`,
		`settle_agent_offline_outstanding_yuan 0`,
	} {
		if !strings.Contains(text, want) {
			t.Errorf("/metrics lacks %q", want)
		}
	}
	if strings.Contains(text, "A33010001") || strings.Contains(text, "张伟") {
		t.Errorf("/metrics leaks personal data")
	}
}

func cardByNo(t *testing.T, p *sim.Platform, no string) settle.Card {
	t.Helper()
	for _, c := range p.Fixture().Cards() {
		if c.CardNo == no && c.CertType == settle.CertSSCard {
			return c
		}
	}
	t.Fatalf("no demo card %s", no)
	return settle.Card{}
}
