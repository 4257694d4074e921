package catalogue

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/settle-agent/settle-agent/internal/poll"
)

func mustService(t *testing.T, e *simEnv, s *Store, mapping []byte) *Service {
	t.Helper()
	path := filepath.Join(t.TempDir(), "mapping.csv")
	if err := os.WriteFile(path, mapping, 0o600); err != nil {
		t.Fatal(err)
	}
	sy := fileKinds(t, e, s, SyncOptions{Queries: Queries})
	svc, err := NewService(ServiceOptions{Store: s, Syncer: sy, Uploader: e.client, Meta: e.meta, MappingFile: path,
		Check: func() CheckOptions { return CheckOptions{Admdvs: "330100", Today: 20261201} }, MaxAge: 48 * time.Hour,
		Now: func() time.Time { return testNow }})
	if err != nil {
		t.Fatal(err)
	}
	return svc
}

// TestService: a sync asked for through the service runs in Run's goroutine; while
// it is asked for the status says running and a second ask is ErrBusy; then the
// status is fresh, the demo mapping checks and uploads.
func TestService(t *testing.T) {
	e := mustSimEnv(t)
	s := mustStore(t)
	svc := mustService(t, e, s, e.p.Fixture().MappingCSV())
	st, err := svc.Status()
	if err != nil || !st.Stale || st.Warning == "" {
		t.Fatalf("status before any sync: %+v, %v; want stale with a warning", st, err)
	}
	if err := svc.StartSync(); err != nil {
		t.Fatal(err)
	}
	if err := svc.StartSync(); !errors.Is(err, ErrBusy) {
		t.Fatalf("second StartSync = %v; want ErrBusy", err)
	}
	if st, _ := svc.Status(); !st.Progress.Running {
		t.Fatalf("status while a sync is asked for: not running")
	}
	ctx, cancel := context.WithCancel(context.Background())
	ran := make(chan error)
	go func() { ran <- svc.Run(ctx) }()
	defer func() {
		cancel()
		if err := <-ran; err != nil {
			t.Errorf("Run = %v", err)
		}
	}()
	var status Status
	poll.Until(t, 20*time.Second, "the sync to end", func() bool {
		var err error
		if status, err = svc.Status(); err != nil {
			t.Fatal(err)
		}
		return !status.Progress.Running
	})
	if status.Stale {
		t.Fatalf("status after the sync: %+v; want fresh", status)
	}
	rep, err := svc.CheckMapping(e.p.Fixture().MappingCSV())
	if err != nil || !rep.OK() {
		t.Fatalf("check = %+v, %v", rep, err)
	}
	up, err := svc.UploadMapping(context.Background(), false)
	if err != nil || up.Sent != len(e.p.Fixture().Items) {
		t.Fatalf("upload = %+v, %v", up, err)
	}
}
