package catalogue

import (
	"errors"
	"strings"
	"testing"
	"time"
)

func TestStore_Status(t *testing.T) {
	s := mustStore(t)
	st, err := s.Status(testNow, 48*time.Hour, Progress{})
	if err != nil || !st.Stale || !strings.Contains(st.Warning, "从未同步") || len(st.Catalogues) != len(Kinds)+len(Queries) {
		t.Fatalf("empty: %+v, %v; want stale, never synced, every catalogue listed", st, err)
	}
	synced := testNow.Add(-time.Hour)
	for _, c := range st.Catalogues[1:] {
		if err := s.updateState(c.Infno, func(x *State) { x.SyncedAt = synced }); err != nil {
			t.Fatal(err)
		}
	}
	if st, _ = s.Status(testNow, 48*time.Hour, Progress{}); !st.Stale || !strings.Contains(st.Warning, "1 个目录从未同步成功") {
		t.Fatalf("one never synced: %+v", st)
	}
	if err := s.updateState(st.Catalogues[0].Infno, func(x *State) { x.SyncedAt = testNow.Add(-72 * time.Hour) }); err != nil {
		t.Fatal(err)
	}
	st, _ = s.Status(testNow, 48*time.Hour, Progress{})
	if !st.Stale || !st.OldestSync.Equal(testNow.Add(-72*time.Hour)) || !strings.Contains(st.Warning, "3天0小时") {
		t.Fatalf("one 72h old: %+v; want stale, naming the age", st)
	}
	if st, _ = s.Status(testNow, 96*time.Hour, Progress{}); st.Stale || st.Warning != "" {
		t.Fatalf("within max age: %+v; want fresh", st)
	}
}

func TestAge(t *testing.T) {
	for d, want := range map[time.Duration]string{
		30 * time.Second: "不到1分钟", 5 * time.Minute: "5分钟", 5 * time.Hour: "5小时", 50 * time.Hour: "2天2小时",
	} {
		if got := Age(d); got != want {
			t.Errorf("Age(%v) = %q; want %q", d, got, want)
		}
	}
}

func TestReadStatus(t *testing.T) {
	dir := t.TempDir()
	st, err := ReadStatus(dir+"/"+FileName, testNow, time.Hour)
	if err != nil || !st.Stale || len(st.Catalogues) != len(Kinds)+len(Queries) {
		t.Fatalf("no file: %+v, %v; want never synced", st, err)
	}
	s, err := Open(dir+"/"+FileName, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ReadStatus(dir+"/"+FileName, testNow, time.Hour); !errors.Is(err, ErrLocked) {
		t.Fatalf("file held open: %v; want ErrLocked", err)
	}
	s.Close()
	if _, err := ReadStatus(dir+"/"+FileName, testNow, time.Hour); err != nil {
		t.Fatalf("file closed: %v", err)
	}
}
