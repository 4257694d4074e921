package queue

import (
	"context"
	"path/filepath"
	"testing"
	"time"
)

func TestStore_ReleaseLeases(t *testing.T) {
	path := filepath.Join(t.TempDir(), "queue.db")
	s, err := Open(path, &Options{LeaseTime: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	a := mustEnqueue(t, s, "visit-a", "1")
	mustEnqueue(t, s, "visit-a", "2")
	b := mustEnqueue(t, s, "visit-b", "3")
	if got := len(mustLease(t, s, 10)); got != 2 {
		t.Fatalf("leased %d; want 2 (one head per key)", got)
	}
	if got := len(mustLease(t, s, 10)); got != 0 {
		t.Fatalf("leased again before release: %d; want 0", got)
	}
	// The consumer's process dies; a new one opens the same file.
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s = MustOpen(t, path, &Options{LeaseTime: time.Hour})
	n, err := s.ReleaseLeases(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if n != 2 {
		t.Errorf("released %d; want 2", n)
	}
	got := ids(mustLease(t, s, 10))
	if len(got) != 2 || !(got[0] == a && got[1] == b || got[0] == b && got[1] == a) {
		t.Errorf("leased after release: got %v; want [%d %d]", got, a, b)
	}
	t.Run("NothingLeased", func(t *testing.T) {
		s := MustOpen(t, "", nil)
		if n, err := s.ReleaseLeases(context.Background()); n != 0 || err != nil {
			t.Errorf("got %d, %v; want 0, nil", n, err)
		}
	})
}
