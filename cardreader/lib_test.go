package cardreader_test

import (
	"context"
	"errors"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/settle-agent/settle-agent"
	"github.com/settle-agent/settle-agent/cardreader"
	"github.com/settle-agent/settle-agent/internal/poll"
	"github.com/settle-agent/settle-agent/internal/standin"
)

// reads collects what a reader reports.
type reads struct {
	mu sync.Mutex
	rs []settle.CardRead
	ch chan struct{}
}

func newReads() *reads { return &reads{ch: make(chan struct{}, 100)} }

func (r *reads) add(cr settle.CardRead) {
	r.mu.Lock()
	r.rs = append(r.rs, cr)
	r.mu.Unlock()
	r.ch <- struct{}{}
}

func (r *reads) all() []settle.CardRead {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]settle.CardRead(nil), r.rs...)
}

// wait returns the nth read (1-based), waiting for it.
func (r *reads) wait(t *testing.T, n int) settle.CardRead {
	t.Helper()
	deadline := time.After(20 * time.Second)
	for {
		if rs := r.all(); len(rs) >= n {
			return rs[n-1]
		}
		select {
		case <-r.ch:
		case <-deadline:
			t.Fatalf("read %d never came; got %d reads", n, len(r.all()))
		}
	}
}

var now = func() time.Time { return time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC) }

func gbk(t *testing.T, s string) string {
	t.Helper()
	b, err := cardreader.EncodeGBK(s)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func newLib(t *testing.T, cfg cardreader.LibConfig, o cardreader.LibOptions) (*cardreader.LibReader, *standin.Control, *reads) {
	t.Helper()
	cfg.Library = standin.Build(t)
	ctl := standin.NewControl(t)
	if cfg.Window == "" {
		cfg.Window = "W01"
	}
	if cfg.Interface == "" {
		cfg.Interface = cardreader.InterfaceHeaSec
		cfg.Init = map[string]any{"IP": "127.0.0.1", "PORT": 7020, "TIMEOUT": 6}
	}
	cfg.PhotoDir = t.TempDir()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cfg.HostExe = exe
	rs := newReads()
	o.HostArgs = []string{"-test.run=^$"}
	o.HostEnv = []string{"CARDREADER_CHILD=1", ctl.Env()}
	o.OnRead, o.Now = rs.add, now
	o.MinBackoff, o.MaxBackoff = 10*time.Millisecond, 40*time.Millisecond
	r, err := cardreader.NewLib(cfg, &o)
	if err != nil {
		t.Fatalf("NewLib: %v", err)
	}
	return r, ctl, rs
}

func TestLibReader_Poll_OncePerInsertion(t *testing.T) {
	r, ctl, rs := newLib(t, cardreader.LibConfig{}, cardreader.LibOptions{})
	ctx := context.Background()
	card := cardreader.DemoCards()[0]
	r.Poll(ctx)
	if n := len(rs.all()); n != 0 {
		t.Fatalf("reads with no card = %d; want 0", n)
	}
	ctl.Set(t, "card "+gbk(t, cardreader.BasicString(card)))
	r.Poll(ctx)
	r.Poll(ctx)
	r.Poll(ctx)
	got := rs.all()
	if len(got) != 1 {
		t.Fatalf("reads of a card left in the reader for 3 polls = %d; want 1", len(got))
	}
	if got[0].Err != nil || got[0].Card != card || got[0].Window != "W01" {
		t.Fatalf("read = %+v; want the card %+v", got[0], card)
	}
	ctl.Set(t, "none")
	r.Poll(ctx)
	ctl.Set(t, "card "+gbk(t, cardreader.BasicString(card)))
	r.Poll(ctx)
	if n := len(rs.all()); n != 2 {
		t.Fatalf("reads after taking the card out and in again = %d; want 2", n)
	}
	if inits := ctl.Inits(t); len(inits) != 1 || inits[0] != `{"IP":"127.0.0.1","PORT":7020,"TIMEOUT":6}` {
		t.Errorf("Init calls = %q; want one, with the configured values as JSON", inits)
	}
	st := r.State()
	if !st.Connected || st.Kind != cardreader.KindLibrary || st.Host == nil || st.Host.Starts != 1 || st.Reads[cardreader.CarrierSSCard] != 2 {
		t.Errorf("State = %+v (host %+v); want connected, library, one reader-host start (Init once), 2 sscard reads", st, st.Host)
	}
}

func TestLibReader_Poll_IDCard(t *testing.T) {
	r, ctl, rs := newLib(t, cardreader.LibConfig{}, cardreader.LibOptions{})
	c := settle.Card{CertType: settle.CertIDNumber, Name: "王小明", SSN: "330106199007074565", CardNo: "330106199007074565", IssueDate: "20150101", ExpiryDate: "20350101"}
	ctl.Set(t, "sfz "+gbk(t, cardreader.SFZString(c, "男", "汉", "浙江省杭州市西湖区文三路1号", "杭州市公安局西湖分局")))
	r.Poll(context.Background())
	got := rs.wait(t, 1)
	if got.Err != nil || got.Card != c || cardreader.Carrier(got.Card) != cardreader.CarrierIDCard {
		t.Fatalf("ID card read = %+v, %v; want %+v, carrier idcard", got.Card, got.Err, c)
	}
	if p := got.Card.Patient(); p.MdtrtCertType != settle.CertIDNumber || p.MdtrtCertNo != c.SSN {
		t.Errorf("Patient = %+v; want mdtrt_cert_type 02 and the ID number", p)
	}
}

func TestLibReader_Poll_CrashThenNextCard(t *testing.T) {
	r, ctl, rs := newLib(t, cardreader.LibConfig{}, cardreader.LibOptions{})
	ctx := context.Background()
	r.Poll(ctx)
	ctl.Set(t, "crash")
	r.Poll(ctx)
	got := rs.wait(t, 1)
	if !errors.Is(got.Err, cardreader.ErrReaderFault) {
		t.Fatalf("read after a crash: %v; want ErrReaderFault", got.Err)
	}
	if st := r.State(); st.Connected || st.Host.Crashes != 1 {
		t.Errorf("State after the crash = %+v (host %+v); want not connected, 1 crash", st, st.Host)
	}
	card := cardreader.DemoCards()[1]
	ctl.Set(t, "card "+gbk(t, cardreader.BasicString(card)))
	poll.Until(t, 20*time.Second, "the next card after the crash", func() bool {
		r.Poll(ctx) // returns at once while the child waits out its backoff
		return len(rs.all()) >= 2
	})
	if got := rs.all()[1]; got.Err != nil || got.Card != card {
		t.Fatalf("next card after the crash = %+v, %v; want %+v", got.Card, got.Err, card)
	}
	if st := r.State(); !st.Connected || st.Host.Starts != 2 {
		t.Errorf("State after the restart = %+v (host %+v); want connected, 2 starts", st, st.Host)
	}
	if n := len(ctl.Inits(t)); n != 2 {
		t.Errorf("Init calls after a crash and restart = %d; want 2 (once per reader-host child)", n)
	}
}

func TestLibReader_Poll_Hang(t *testing.T) {
	r, ctl, rs := newLib(t, cardreader.LibConfig{Deadline: 300 * time.Millisecond}, cardreader.LibOptions{})
	ctl.Set(t, "hang")
	r.Poll(context.Background())
	got := rs.wait(t, 1)
	if !errors.Is(got.Err, cardreader.ErrReaderFault) || !strings.Contains(got.Err.Error(), "did not return within") {
		t.Fatalf("read after a hang: %v; want ErrReaderFault saying the deadline", got.Err)
	}
	if st := r.State(); st.Host.Hangs != 1 {
		t.Errorf("hangs = %d; want 1", st.Host.Hangs)
	}
}

func TestLibReader_Poll_ExpiredAndBadCards(t *testing.T) {
	r, ctl, rs := newLib(t, cardreader.LibConfig{}, cardreader.LibOptions{})
	card := cardreader.DemoCards()[2]
	card.ExpiryDate = "20251231"
	ctl.Set(t, "card "+gbk(t, cardreader.BasicString(card)))
	r.Poll(context.Background())
	if got := rs.wait(t, 1); !errors.Is(got.Err, cardreader.ErrCardExpired) {
		t.Errorf("expired card: %v; want ErrCardExpired", got.Err)
	}
	ctl.Set(t, "card 330100|broken")
	r.Poll(context.Background())
	if got := rs.wait(t, 2); !errors.Is(got.Err, cardreader.ErrBadBasic) {
		t.Errorf("bad card: %v; want ErrBadBasic", got.Err)
	}
}

func TestLibReader_SSCard(t *testing.T) {
	r, ctl, rs := newLib(t, cardreader.LibConfig{Interface: cardreader.InterfaceSSCard, CardType: 4}, cardreader.LibOptions{})
	card := cardreader.DemoCards()[3]
	ctl.Set(t, "card "+gbk(t, cardreader.BasicString(card)))
	r.Poll(context.Background())
	if got := rs.wait(t, 1); got.Err != nil || got.Card != card {
		t.Fatalf("sscard read = %+v, %v; want %+v", got.Card, got.Err, card)
	}
}

func TestLibReader_Run_PollsWhileWindowWaits(t *testing.T) {
	d := cardreader.NewDemand()
	r, ctl, rs := newLib(t, cardreader.LibConfig{Poll: 50 * time.Millisecond}, cardreader.LibOptions{Demand: d})
	card := cardreader.DemoCards()[4]
	ctl.Set(t, "card "+gbk(t, cardreader.BasicString(card)))
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- r.Run(ctx) }()
	if st := r.State(); st.Host.Starts != 0 {
		t.Errorf("reader-host started with no window waiting: %+v", st.Host)
	}
	end := d.Begin("W01")
	got := rs.wait(t, 1)
	end()
	if got.Card != card {
		t.Errorf("read = %+v; want %+v", got.Card, card)
	}
	cancel()
	if err := <-done; err != nil {
		t.Errorf("Run = %v; want nil", err)
	}
	if st := r.State(); st.Host.Running {
		t.Errorf("reader-host still running after Run returned: %+v", st.Host)
	}
}

func TestNewLib_Validate(t *testing.T) {
	_, err := cardreader.NewLib(cardreader.LibConfig{Window: "W01", Interface: "serial", Poll: time.Millisecond}, nil)
	if err == nil {
		t.Fatal("NewLib accepted a config without library, with a bad interface and poll")
	}
	for _, f := range []string{"library", "interface", "poll"} {
		if !strings.Contains(err.Error(), f) {
			t.Errorf("error %q does not name %s", err, f)
		}
	}
}

func TestProbeLib(t *testing.T) {
	r, _, _ := newLib(t, cardreader.LibConfig{}, cardreader.LibOptions{})
	cfg := r.Config()
	o := &cardreader.LibOptions{HostArgs: []string{"-test.run=^$"}, HostEnv: []string{"CARDREADER_CHILD=1"}}
	st, err := cardreader.ProbeLib(context.Background(), cfg, o)
	if err != nil || !st.HasSFZ || st.Starts != 1 {
		t.Fatalf("ProbeLib = %+v, %v; want a library that loads, inits and reads ID cards", st, err)
	}
	cfg.Init = map[string]any{"PORT": 1}
	if _, err := cardreader.ProbeLib(context.Background(), cfg, o); err == nil || !strings.Contains(err.Error(), "IP missing") {
		t.Errorf("ProbeLib with a bad Init: %v; want Init's message", err)
	}
	cfg.Library = cfg.Library + ".missing"
	if _, err := cardreader.ProbeLib(context.Background(), cfg, o); err == nil || !strings.Contains(err.Error(), "bitness") {
		t.Errorf("ProbeLib of a missing file: %v; want the loading advice", err)
	}
}
