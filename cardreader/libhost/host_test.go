package libhost_test

import (
	"context"
	"errors"
	"log/slog"
	"os"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/settle-agent/settle-agent/cardreader/libhost"
	"github.com/settle-agent/settle-agent/cardreader/vendorlib"
	"github.com/settle-agent/settle-agent/internal/poll"
	"github.com/settle-agent/settle-agent/internal/standin"
	"github.com/settle-agent/settle-agent/internal/syncbuf"
)

// TestMain doubles as the child: re-executed with LIBHOST_CHILD=1 it is a reader-host.
func TestMain(m *testing.M) { standin.Main(m, "LIBHOST_CHILD") }

func newHost(t *testing.T, o libhost.Options) (*libhost.Host, *standin.Control) {
	t.Helper()
	lib := standin.Build(t)
	ctl := standin.NewControl(t)
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	o.Exe, o.Args = exe, []string{"-test.run=^$"}
	o.Env = append(o.Env, "LIBHOST_CHILD=1", ctl.Env())
	o.Library = lib
	if o.Interface == "" {
		o.Interface = vendorlib.HeaSec
	}
	if o.Init == nil && o.Interface == vendorlib.HeaSec {
		o.Init = []byte(`{"IP":"127.0.0.1","PORT":7020,"TIMEOUT":6}`)
	}
	if o.MinBackoff == 0 {
		o.MinBackoff, o.MaxBackoff = 10*time.Millisecond, 40*time.Millisecond
	}
	h := libhost.New(o)
	t.Cleanup(func() { _ = h.Close() })
	return h, ctl
}

// callUntil repeats r while the host waits out a restart backoff.
func callUntil(t *testing.T, h *libhost.Host, r libhost.Request) (libhost.Response, error) {
	t.Helper()
	var resp libhost.Response
	var err error
	poll.Until(t, 20*time.Second, "the host back from its restart backoff", func() bool {
		resp, err = h.Call(context.Background(), r)
		return !errors.Is(err, libhost.ErrRestarting)
	})
	return resp, err
}

func TestHost_Call_ReadsCard(t *testing.T) {
	h, ctl := newHost(t, libhost.Options{})
	resp, err := h.Call(context.Background(), libhost.Request{Op: libhost.OpReadCard})
	if err != nil || resp.RC != -1 {
		t.Fatalf("ReadCardBas with no card = %+v, %v; want rc -1", resp, err)
	}
	ctl.Set(t, "card 330100|X|")
	resp, err = h.Call(context.Background(), libhost.Request{Op: libhost.OpReadCard})
	if err != nil || resp.RC != 0 || string(resp.Out) != "330100|X|" {
		t.Fatalf("ReadCardBas = %+v, %v; want rc 0 and the string (Init's stdout noise must not break the protocol)", resp, err)
	}
	st := h.State()
	if !st.Running || st.Starts != 1 || !st.HasSFZ || st.PID == 0 {
		t.Errorf("State = %+v; want running, 1 start, HasSFZ", st)
	}
}

func TestHost_Call_CrashRestarts(t *testing.T) {
	h, ctl := newHost(t, libhost.Options{})
	if _, err := h.Call(context.Background(), libhost.Request{Op: libhost.OpReadCard}); err != nil {
		t.Fatal(err)
	}
	pid := h.State().PID
	ctl.Set(t, "crash")
	_, err := h.Call(context.Background(), libhost.Request{Op: libhost.OpReadCard})
	if !errors.Is(err, libhost.ErrCrashed) {
		t.Fatalf("Call into a crashing library: %v; want ErrCrashed", err)
	}
	st := h.State()
	if st.Running || st.Crashes != 1 || !strings.Contains(st.LastFault, "signal") || st.RetryAt.IsZero() {
		t.Errorf("State after crash = %+v; want not running, 1 crash, a signal in LastFault, RetryAt set", st)
	}
	ctl.Set(t, "card A|B|")
	resp, err := callUntil(t, h, libhost.Request{Op: libhost.OpReadCard})
	if err != nil || string(resp.Out) != "A|B|" {
		t.Fatalf("Call after the restart = %+v, %v; want the card", resp, err)
	}
	if st := h.State(); st.PID == pid || st.Starts != 2 || !st.Running {
		t.Errorf("State after restart = %+v; want a new pid, 2 starts", st)
	}
}

func TestHost_Call_HangKilled(t *testing.T) {
	h, ctl := newHost(t, libhost.Options{Deadline: 300 * time.Millisecond})
	ctl.Set(t, "hang")
	_, err := h.Call(context.Background(), libhost.Request{Op: libhost.OpReadCard})
	if !errors.Is(err, libhost.ErrHung) {
		t.Fatalf("Call into a hanging library: %v; want ErrHung", err)
	}
	if st := h.State(); st.Hangs != 1 || st.Running {
		t.Errorf("State after hang = %+v; want 1 hang, not running", st)
	}
	ctl.Set(t, "sfz 王|1")
	resp, err := callUntil(t, h, libhost.Request{Op: libhost.OpReadSFZ, Photo: t.TempDir() + "/p.bmp"})
	if err != nil || string(resp.Out) != "王|1" {
		t.Fatalf("ReadSFZ after the restart = %+v, %v", resp, err)
	}
}

func TestHost_Call_InitFails(t *testing.T) {
	h, _ := newHost(t, libhost.Options{Init: []byte(`{"PORT":1}`)})
	_, err := h.Call(context.Background(), libhost.Request{Op: libhost.OpReadCard})
	if !errors.Is(err, libhost.ErrLibrary) || !strings.Contains(err.Error(), "初始化失败：IP missing") {
		t.Fatalf("Call with a bad Init: %v; want ErrLibrary with Init's message decoded from GBK", err)
	}
	if st := h.State(); st.Running || !strings.Contains(st.LastFault, "初始化失败：IP missing") {
		t.Errorf("State = %+v; want not running, Init's message", st)
	}
	if _, err := h.Call(context.Background(), libhost.Request{Op: libhost.OpReadCard}); !errors.Is(err, libhost.ErrRestarting) && !errors.Is(err, libhost.ErrLibrary) {
		t.Errorf("second Call: %v; want ErrRestarting or ErrLibrary", err)
	}
}

func TestHost_Call_OpenFails(t *testing.T) {
	h, _ := newHost(t, libhost.Options{})
	h2 := libhost.New(libhost.Options{Exe: "/nonexistent/reader-host", Library: "x.so", Interface: vendorlib.HeaSec})
	defer h2.Close()
	if _, err := h2.Call(context.Background(), libhost.Request{Op: libhost.OpPing}); !errors.Is(err, libhost.ErrLibrary) {
		t.Errorf("Call with a missing executable: %v; want ErrLibrary", err)
	}
	_ = h.Close()
	if _, err := h.Call(context.Background(), libhost.Request{Op: libhost.OpPing}); !errors.Is(err, libhost.ErrClosed) {
		t.Errorf("Call after Close: %v; want ErrClosed", err)
	}
}

// What a vendor library writes reaches the log decoded: its GBK stdout noise, read
// from the child's output, is logged as Chinese, not mojibake.
func TestHost_VendorOutput_DecodedFromGBK(t *testing.T) {
	var logs syncbuf.Buffer
	h, _ := newHost(t, libhost.Options{Logger: slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))})
	if _, err := callUntil(t, h, libhost.Request{Op: libhost.OpReadCard}); err != nil {
		t.Fatal(err)
	}
	poll.Within(10*time.Second, poll.Every, func() bool { return strings.Contains(logs.String(), "vendor noise") })
	if got := logs.String(); !strings.Contains(got, "standin: 读卡器 vendor noise") || !utf8.ValidString(got) {
		t.Errorf("log of the vendor's GBK output: got %q; want \"standin: 读卡器 vendor noise\"", got)
	}
}

func TestText_GBKOrUTF8(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"\xb3\xf5\xca\xbc\xbb\xaf\xca\xa7\xb0\xdc", "初始化失败"}, // GBK
		{"初始化失败", "初始化失败"},                                    // UTF-8 as it is, not 鍒濆…
		{"no card", "no card"},
	} {
		if got := libhost.Text([]byte(c.in)); got != c.want {
			t.Errorf("Text(%q): got %q; want %q", c.in, got, c.want)
		}
	}
}
