package agent_test

import (
	"context"
	"io"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	settle "github.com/settle-agent/settle-agent"
	"github.com/settle-agent/settle-agent/agent"
	"github.com/settle-agent/settle-agent/cardreader"
	"github.com/settle-agent/settle-agent/config"
	"github.com/settle-agent/settle-agent/ecvoucher"
	"github.com/settle-agent/settle-agent/internal/standin"
)

// TestMain doubles as the vendor library's reader-host child (AGENT_READER_CHILD=1).
func TestMain(m *testing.M) { standin.Main(m, "AGENT_READER_CHILD") }

// readerSystem is the agent with W01 on a vendor library (the stand-in), W02 on a
// remote reader host, a QR scanner at W01, and the e-voucher decode simulator.
type readerSystem struct {
	*testSystem
	ctl     *standin.Control
	ec      *ecvoucher.Simulator
	scanner chan *cardreader.Scanner
}

func newReaderSystem(t *testing.T) *readerSystem {
	t.Helper()
	lib := standin.Build(t)
	p, url := MustSim(t)
	cfg := MustConfig(t, url, t.TempDir())
	var vs []ecvoucher.Voucher
	for _, fp := range p.Fixture().Persons {
		if fp.ECToken != "" {
			vs = append(vs, ecvoucher.Voucher{ECToken: fp.ECToken, IDNo: fp.Certno, IDType: "01", UserName: fp.Name, InsuOrg: fp.InsuplcAdmdvs})
		}
	}
	ec := ecvoucher.NewSimulator(vs)
	ecSrv := httptest.NewServer(ec)
	t.Cleanup(ecSrv.Close)
	cfg.EVoucher = config.EVoucher{Mode: "http", URL: ecSrv.URL + ecvoucher.Path, Timeout: config.Duration{Duration: 2 * time.Second}}
	cfg.Windows[0].Reader = &config.Port{Library: lib, Interface: "heasec", Init: config.HeaSecInit{IP: "127.0.0.1", PORT: 7020},
		Poll: config.Duration{Duration: 50 * time.Millisecond}, Deadline: config.Duration{Duration: 2 * time.Second}}
	cfg.Windows[0].Scanner = &config.Port{Port: "scanner-w01", Protocol: "line", Baud: 9600, DataBits: 8, Parity: "N", StopBits: 1,
		ReadTimeout: config.Duration{Duration: 100 * time.Millisecond}}
	cfg.Windows[1].Reader = &config.Port{Remote: true}
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	ctl := standin.NewControl(t)
	rs := &readerSystem{ctl: ctl, ec: ec, scanner: make(chan *cardreader.Scanner, 4)}
	open := func(cardreader.Config) (io.ReadWriteCloser, error) {
		host, dev := cardreader.Pipe()
		rs.scanner <- cardreader.NewScanner(dev)
		return host, nil
	}
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cfg.Windows[0].Reader.HostExe = exe
	rs.testSystem = &testSystem{tb: t, Sim: p, Cfg: cfg}
	rs.StartWith(&agent.Options{OpenPort: open,
		ReaderHostArgs: []string{"-test.run=^$"}, ReaderHostEnv: []string{"AGENT_READER_CHILD=1", ctl.Env()}})
	t.Cleanup(rs.Stop)
	return rs
}

// card long-polls window's card endpoint while do runs (the reader polls only while
// someone waits).
func (s *readerSystem) card(window, token string, do func()) (int, map[string]any) {
	var wg sync.WaitGroup
	var st int
	var body map[string]any
	wg.Add(1)
	go func() { defer wg.Done(); st, body = s.Do("GET", "/v1/windows/"+window+"/card?wait=15s", token, nil) }()
	do()
	wg.Wait()
	return st, body
}

func (s *readerSystem) insert(t *testing.T, cardNo string) {
	t.Helper()
	gbk, err := cardreader.EncodeGBK(cardreader.BasicString(cardByNo(t, s.Sim, cardNo)))
	if err != nil {
		t.Fatal(err)
	}
	s.ctl.Set(t, "card "+string(gbk))
}

func TestAgent_LibraryReader(t *testing.T) {
	s := newReaderSystem(t)
	t.Run("Card", func(t *testing.T) {
		st, body := s.card("W01", tokW01, func() { s.insert(t, cardLocalEmployee) })
		if st != 200 || str(body, "carrier") != "sscard" || str(body, "source") != "platform" || str(body, "person", "psn_no") == "" {
			t.Fatalf("library card read: %d %v; want 200 sscard from the platform", st, body)
		}
	})
	t.Run("CrashThenNextCard", func(t *testing.T) {
		st, body := s.card("W01", tokW01, func() { s.ctl.Set(t, "crash") })
		if st != 422 || str(body, "error", "details", "reason") != "reader_fault" || !strings.Contains(str(body, "error", "message"), "读卡器驱动") {
			t.Fatalf("read during a library crash: %d %v; want 422 reader_fault in Chinese", st, body)
		}
		st, body = s.card("W01", tokW01, func() { s.insert(t, cardLocalResident) })
		if st != 200 || str(body, "card", "card_no") != cardLocalResident {
			t.Fatalf("next card after the crash: %d %v; want 200 with %s", st, body, cardLocalResident)
		}
		_, status := s.Do("GET", "/v1/status", tokAdmin, nil)
		found := false
		for _, r := range status["readers"].([]any) {
			m := r.(map[string]any)
			if m["kind"] == "library" && m["window"] == "W01" {
				h, _ := m["host"].(map[string]any)
				found = h != nil && h["crashes"] == float64(1) && m["connected"] == true
			}
		}
		if !found {
			t.Errorf("status readers = %v; want W01's library reader connected with 1 crash", status["readers"])
		}
		resp, err := client.Get(s.URL + "/")
		if err != nil {
			t.Fatal(err)
		}
		page, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if !strings.Contains(string(page), "libHeaSecReadInfo.so") || !strings.Contains(string(page), "崩溃 1 次") {
			t.Errorf("status page lacks the library reader and its crash:\n%s", page)
		}
		mresp, err := client.Get(s.URL + "/metrics")
		if err != nil {
			t.Fatal(err)
		}
		metrics, _ := io.ReadAll(mresp.Body)
		mresp.Body.Close()
		if !strings.Contains(string(metrics), `settle_agent_reader_host_faults_total{kind="crash",window="W01"} 1`) {
			t.Errorf("/metrics lacks the library crash count")
		}
	})
	t.Run("IDCard", func(t *testing.T) {
		fp := s.Sim.Fixture().Persons[0]
		c := cardreader.DemoCards()[0]
		c.CertType, c.Name, c.SSN, c.CardNo, c.IssueDate, c.ExpiryDate = "02", fp.Name, fp.Certno, fp.Certno, "20150101", "长期"
		gbk, _ := cardreader.EncodeGBK(cardreader.SFZString(c, "男", "汉", "杭州", "公安局"))
		st, body := s.card("W01", tokW01, func() { s.ctl.Set(t, "sfz "+string(gbk)) })
		if st != 200 || str(body, "carrier") != "idcard" || str(body, "card", "mdtrt_cert_type") != "02" || str(body, "person", "psn_no") != fp.PsnNo {
			t.Fatalf("ID card read: %d %v; want 200 idcard and %s's person from 1101 with 02", st, body, fp.PsnNo)
		}
	})
}

func TestAgent_EVoucherScanned(t *testing.T) {
	s := newReaderSystem(t)
	scanner := <-s.scanner
	fp := s.Sim.Fixture().Persons[1]
	t.Run("Decoded", func(t *testing.T) {
		st, body := s.card("W01", tokW01, func() { _ = scanner.ScanCode(ecvoucher.Code(fp.ECToken, time.Now())) })
		if st != 200 || str(body, "carrier") != "evoucher" || str(body, "card", "card_no") != fp.ECToken || str(body, "person", "psn_no") != fp.PsnNo {
			t.Fatalf("scanned e-voucher: %d %v; want 200 evoucher, the ecToken and %s from 1101", st, body, fp.PsnNo)
		}
	})
	t.Run("Expired", func(t *testing.T) {
		st, body := s.card("W01", tokW01, func() { _ = scanner.ScanCode(ecvoucher.Code(fp.ECToken, time.Now().Add(-time.Hour))) })
		if st != 422 || str(body, "error", "details", "reason") != "ec_expired" {
			t.Fatalf("expired code: %d %v; want 422 ec_expired", st, body)
		}
	})
	t.Run("Offline", func(t *testing.T) {
		s.ec.SetOffline(true)
		defer s.ec.SetOffline(false)
		st, body := s.card("W01", tokW01, func() { _ = scanner.ScanCode(ecvoucher.Code(fp.ECToken, time.Now())) })
		if st != 422 || str(body, "error", "details", "reason") != "ec_offline" {
			t.Fatalf("decode service offline: %d %v; want 422 ec_offline", st, body)
		}
	})
	t.Run("Lookup", func(t *testing.T) {
		st, body := s.Do("POST", "/v1/persons/lookup", tokW01, map[string]any{"mdtrt_cert_type": "01", "mdtrt_cert_no": ecvoucher.Code(fp.ECToken, time.Now())})
		if st != 200 || str(body, "person", "psn_no") != fp.PsnNo {
			t.Fatalf("lookup by a scanned code: %d %v; want 200 %s", st, body, fp.PsnNo)
		}
		st, body = s.Do("POST", "/v1/persons/lookup", tokW01, map[string]any{"mdtrt_cert_type": "01", "mdtrt_cert_no": fp.ECToken})
		if st != 200 || str(body, "person", "psn_no") != fp.PsnNo {
			t.Errorf("lookup by an ecToken: %d %v; want 200 %s", st, body, fp.PsnNo)
		}
	})
}

func TestAgent_RemoteReader(t *testing.T) {
	s := newReaderSystem(t)
	link, err := cardreader.NewLink(cardreader.LinkOptions{Agent: s.URL, Window: "W02", Token: tokW02,
		MinBackoff: 10 * time.Millisecond, MaxBackoff: 50 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); _ = link.Run(ctx) }()
	defer func() { cancel(); <-done }()
	s.waitFor("the remote reader connected", func() bool {
		_, status := s.Do("GET", "/v1/status", tokAdmin, nil)
		for _, r := range status["readers"].([]any) {
			if m := r.(map[string]any); m["kind"] == "remote" && m["window"] == "W02" && m["connected"] == true {
				return true
			}
		}
		return false
	})
	card := cardByNo(t, s.Sim, cardLocalEmployee)
	st, body := s.card("W02", tokW02, func() {
		s.waitFor("the window's demand to reach the host", func() bool { return link.State().Waiting })
		link.OnRead(settleRead(card))
	})
	if st != 200 || str(body, "carrier") != "sscard" || str(body, "person", "psn_no") == "" {
		t.Fatalf("remote card read: %d %v; want 200 with the person", st, body)
	}
}

func settleRead(c settle.Card) settle.CardRead {
	return settle.CardRead{Window: "W02", Card: c, At: time.Now()}
}
