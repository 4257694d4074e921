package queue

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"syscall"
	"testing"
)

// mustTinyFS mounts a small tmpfs (root only) and unmounts it at the end.
func mustTinyFS(t *testing.T, size string) string {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root to mount a tiny tmpfs that can fill up; run as root to cover disk-full")
	}
	dir := t.TempDir()
	if err := syscall.Mount("tmpfs", dir, "tmpfs", 0, "size="+size); err != nil {
		t.Skipf("cannot mount a tmpfs here (%v); disk-full not covered", err)
	}
	t.Cleanup(func() { syscall.Unmount(dir, 0) })
	return dir
}

func TestStore_Enqueue_DiskFull(t *testing.T) {
	dir := mustTinyFS(t, "2m")
	path := filepath.Join(dir, "q.db")
	s, err := Open(path, nil)
	if err != nil {
		t.Fatal(err)
	}
	ok := map[uint64][]byte{}
	failures := 0
	for i := 0; failures < 20 && i < 10000; i++ {
		p := bytes.Repeat([]byte{byte('a' + i%26)}, 3000+i%1000)
		id, err := s.Enqueue(context.Background(), fmt.Sprint("k", i%10), p)
		if err != nil {
			failures++
			continue
		}
		ok[id] = p
	}
	if failures == 0 {
		t.Fatal("the 2 MiB filesystem never filled up; want Enqueue errors")
	}
	s.Close()

	s, err = Open(path, nil)
	if err != nil {
		t.Fatalf("reopen after disk full: %v", err)
	}
	defer s.Close()
	all, err := s.List(Filter{})
	if err != nil {
		t.Fatal(err)
	}
	if len(all) != len(ok) {
		t.Errorf("store holds %d records; %d enqueues succeeded (want equal: nothing stored that failed)", len(all), len(ok))
	}
	for id, p := range ok {
		r, err := s.Get(id)
		if err != nil || !bytes.Equal(r.Payload, p) {
			t.Errorf("acknowledged record %d: %v", id, err)
		}
	}
	t.Logf("%d enqueues stored before the disk filled; %d refused", len(ok), failures)
}

func TestOpen_ReadOnlyFS(t *testing.T) {
	dir := mustTinyFS(t, "4m")
	path := filepath.Join(dir, "q.db")
	s, err := Open(path, nil)
	if err != nil {
		t.Fatal(err)
	}
	mustEnqueue(t, s, "k", "before")
	s.Close()
	before, _ := os.ReadFile(path)
	if err := syscall.Mount("tmpfs", dir, "tmpfs", syscall.MS_REMOUNT|syscall.MS_RDONLY, ""); err != nil {
		t.Skipf("cannot remount read-only: %v", err)
	}
	s, err = Open(path, nil)
	if err == nil {
		s.Close()
		t.Fatal("Open on a read-only filesystem = nil; want an error")
	}
	if errors.Is(err, ErrCorrupt) {
		t.Fatalf("Open on a read-only filesystem = %v; want an OS error, not ErrCorrupt", err)
	}
	if after, _ := os.ReadFile(path); !bytes.Equal(before, after) {
		t.Fatal("file changed")
	}
}
