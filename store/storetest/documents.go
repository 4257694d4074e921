package storetest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"reflect"
	"sync"
	"testing"

	settle "github.com/settle-agent/settle-agent"
	"github.com/settle-agent/settle-agent/workflow"
)

func init() {
	add("PutThenGetReturnsTheDocument", testPutGet)
	add("GetOfAMissingDocumentIsNotFound", testGetMissing)
	add("EncodedFormDoesNotShowTheDocument", testEncodeHides)
	add("PutReplacesTheIndexEntries", testPutReplacesEntries)
	add("DeleteRemovesDocumentAndEntries", testDelete)
	add("IDsComeInIDOrderAfterTheCursorUpToTheLimit", testIDsOrder)
	add("CountCountsOneEntry", testCount)
	add("BeforeListsOldestFirstUpToTheCutoff", testBefore)
	add("LatestListsGreatestEntriesFirst", testLatest)
	add("ForEachVisitsEveryDocumentOfItsKindOnly", testForEach)
	add("MetaIsEmptyUntilSetThenKept", testMeta)
	add("IndexEntryWithNULIsRefused", testEntryNUL)
	add("FailedUpdateKeepsNothing", testUpdateAtomic)
	add("UpdateSeesItsOwnWrites", testUpdateOwnWrites)
	add("ConcurrentUpdatesLoseNoWrite", testUpdateConcurrent)
	add("NameIsAStableKeyedHash", testName)
}

func put(t *testing.T, s workflow.Store, kind, id, data string, index ...string) {
	t.Helper()
	enc, err := s.Encode(kind, id, []byte(data))
	if err != nil {
		t.Fatalf("Encode %s %s: %v", kind, id, err)
	}
	if err := s.Update(context.Background(), func(tx workflow.Tx) error {
		return tx.Put(kind, id, enc, index)
	}); err != nil {
		t.Fatalf("Put %s %s: %v", kind, id, err)
	}
}

func view(t *testing.T, s workflow.Store, fn func(tx workflow.ReadTx) error) {
	t.Helper()
	if err := s.View(fn); err != nil {
		t.Fatalf("View: %v", err)
	}
}

func ids(t *testing.T, s workflow.Store, kind, entry, after string, limit int) []string {
	t.Helper()
	var out []string
	view(t, s, func(tx workflow.ReadTx) error {
		var err error
		out, err = tx.IDs(kind, entry, after, limit)
		return err
	})
	return out
}

func get(t *testing.T, s workflow.Store, kind, id string) ([]byte, error) {
	t.Helper()
	var out []byte
	err := s.View(func(tx workflow.ReadTx) error {
		var err error
		out, err = tx.Get(kind, id)
		return err
	})
	return out, err
}

func same(t *testing.T, what string, got, want any) {
	t.Helper()
	if !reflect.DeepEqual(got, want) {
		t.Errorf("%s: got %v; want %v", what, got, want)
	}
}

func testPutGet(t *testing.T, r *rig) {
	s := r.store()
	doc := `{"bill":{"bill_no":"MZ1"},"state":"settled"}`
	put(t, s, "bill", "MZ1", doc, "state/settled")
	put(t, s, "person", "MZ1", `{"other":"kind, same id"}`)
	got, err := get(t, s, "bill", "MZ1")
	if err != nil || string(got) != doc {
		t.Fatalf("Get: got %q, %v; want %q", got, err, doc)
	}
	big := bytes.Repeat([]byte(`{"item":"YP0001","qty":"1.00"},`), 2000)
	put(t, s, "bill", "MZ2", string(big))
	if got, err := get(t, s, "bill", "MZ2"); err != nil || !bytes.Equal(got, big) {
		t.Fatalf("Get of a %d-byte document: got %d bytes, %v", len(big), len(got), err)
	}
}

func testGetMissing(t *testing.T, r *rig) {
	s := r.store()
	put(t, s, "bill", "MZ1", `{}`)
	for _, k := range [][2]string{{"bill", "MZ9"}, {"stay", "MZ1"}} {
		if _, err := get(t, s, k[0], k[1]); !errors.Is(err, settle.ErrNotFound) {
			t.Errorf("Get %s %s: got %v; want settle.ErrNotFound", k[0], k[1], err)
		}
	}
}

func testEncodeHides(t *testing.T, r *rig) {
	s := r.store()
	doc := []byte(`{"person":{"psn_name":"张三","certno":"110101199003071234"}}`)
	enc, err := s.Encode("bill", "MZ1", doc)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(enc, []byte("110101199003071234")) {
		t.Errorf("the stored form %q shows the certificate number; want it sealed", enc)
	}
}

func testPutReplacesEntries(t *testing.T, r *rig) {
	s := r.store()
	put(t, s, "bill", "MZ1", `{"v":1}`, "state/queued", "day/2026-11-23", "surprise")
	put(t, s, "bill", "MZ1", `{"v":2}`, "state/settled", "day/2026-11-23")
	same(t, "ids of state/queued", ids(t, s, "bill", "state/queued", "", 10), []string(nil))
	same(t, "ids of surprise", ids(t, s, "bill", "surprise", "", 10), []string(nil))
	same(t, "ids of state/settled", ids(t, s, "bill", "state/settled", "", 10), []string{"MZ1"})
	same(t, "ids of day", ids(t, s, "bill", "day/2026-11-23", "", 10), []string{"MZ1"})
	put(t, s, "bill", "MZ1", `{"v":3}`)
	same(t, "ids of state/settled after a Put without entries", ids(t, s, "bill", "state/settled", "", 10), []string(nil))
	if got, _ := get(t, s, "bill", "MZ1"); string(got) != `{"v":3}` {
		t.Errorf("Get: got %q; want the last Put", got)
	}
}

func testDelete(t *testing.T, r *rig) {
	s := r.store()
	put(t, s, "bill", "MZ1", `{}`, "state/settled", "done/2026-11-23")
	put(t, s, "bill", "MZ2", `{}`, "state/settled")
	if err := s.Update(context.Background(), func(tx workflow.Tx) error { return tx.Delete("bill", "MZ1") }); err != nil {
		t.Fatal(err)
	}
	if _, err := get(t, s, "bill", "MZ1"); !errors.Is(err, settle.ErrNotFound) {
		t.Errorf("Get after Delete: got %v; want settle.ErrNotFound", err)
	}
	same(t, "ids of state/settled", ids(t, s, "bill", "state/settled", "", 10), []string{"MZ2"})
	same(t, "ids of done", ids(t, s, "bill", "done/2026-11-23", "", 10), []string(nil))
	if err := s.Update(context.Background(), func(tx workflow.Tx) error { return tx.Delete("bill", "MZ9") }); err != nil {
		t.Errorf("Delete of a missing document: %v; want nil", err)
	}
}

func testIDsOrder(t *testing.T, r *rig) {
	s := r.store()
	for _, id := range []string{"MZ3", "MZ1", "MZ10", "MZ2"} {
		put(t, s, "bill", id, `{}`, "state/queued")
	}
	put(t, s, "bill", "MZ0", `{}`, "state/queuedx")
	put(t, s, "stay", "MZ5", `{}`, "state/queued")
	same(t, "all", ids(t, s, "bill", "state/queued", "", 100), []string{"MZ1", "MZ10", "MZ2", "MZ3"})
	same(t, "limit 2", ids(t, s, "bill", "state/queued", "", 2), []string{"MZ1", "MZ10"})
	same(t, "after MZ10", ids(t, s, "bill", "state/queued", "MZ10", 100), []string{"MZ2", "MZ3"})
	same(t, "after MZ15 (absent)", ids(t, s, "bill", "state/queued", "MZ15", 1), []string{"MZ2"})
	same(t, "after the last", ids(t, s, "bill", "state/queued", "MZ3", 100), []string(nil))
	same(t, "huge limit", ids(t, s, "bill", "state/queued", "", 1<<30), []string{"MZ1", "MZ10", "MZ2", "MZ3"})
	same(t, "unknown kind", ids(t, s, "fee", "state/queued", "", 10), []string(nil))
}

func testCount(t *testing.T, r *rig) {
	s := r.store()
	for i := range 5 {
		put(t, s, "bill", fmt.Sprintf("MZ%d", i), `{}`, "state/queued")
	}
	put(t, s, "bill", "MZ9", `{}`, "state/queuedx")
	put(t, s, "stay", "ZY1", `{}`, "state/queued")
	view(t, s, func(tx workflow.ReadTx) error {
		same(t, "Count state/queued", tx.Count("bill", "state/queued"), 5)
		same(t, "Count state/settled", tx.Count("bill", "state/settled"), 0)
		same(t, "Count of stays", tx.Count("stay", "state/queued"), 1)
		same(t, "Count of an unknown kind", tx.Count("fee", "state/queued"), 0)
		return nil
	})
}

func testBefore(t *testing.T, r *rig) {
	s := r.store()
	put(t, s, "bill", "B", `{}`, "done/2026-11-20")
	put(t, s, "bill", "A", `{}`, "done/2026-11-21")
	put(t, s, "bill", "C", `{}`, "done/2026-11-20")
	put(t, s, "bill", "D", `{}`, "done/2026-11-22")
	put(t, s, "bill", "E", `{}`, "day/2026-11-01")
	var got []workflow.IndexEntry
	view(t, s, func(tx workflow.ReadTx) (err error) {
		got, err = tx.Before("bill", "done/", "2026-11-22", 10)
		return err
	})
	same(t, "Before 2026-11-22", got, []workflow.IndexEntry{
		{Index: "done/2026-11-20", ID: "B"}, {Index: "done/2026-11-20", ID: "C"}, {Index: "done/2026-11-21", ID: "A"}})
	view(t, s, func(tx workflow.ReadTx) (err error) {
		got, err = tx.Before("bill", "done/", "2026-11-22", 2)
		return err
	})
	same(t, "Before with limit 2", got, []workflow.IndexEntry{{Index: "done/2026-11-20", ID: "B"}, {Index: "done/2026-11-20", ID: "C"}})
	view(t, s, func(tx workflow.ReadTx) (err error) {
		got, err = tx.Before("bill", "done/", "2026-11-01", 10)
		return err
	})
	same(t, "Before a cutoff older than all", got, []workflow.IndexEntry(nil))
}

func testLatest(t *testing.T, r *rig) {
	s := r.store()
	put(t, s, "bill", "A", `{}`, "day/2026-11-20")
	put(t, s, "bill", "B", `{}`, "day/2026-11-22")
	put(t, s, "bill", "C", `{}`, "day/2026-11-21")
	put(t, s, "bill", "D", `{}`, "day/2026-11-22")
	put(t, s, "bill", "Z", `{}`, "state/queued", "dayz")
	var got []string
	view(t, s, func(tx workflow.ReadTx) (err error) {
		got, err = tx.Latest("bill", "day/", 3)
		return err
	})
	same(t, "Latest 3", got, []string{"D", "B", "C"})
	view(t, s, func(tx workflow.ReadTx) (err error) {
		got, err = tx.Latest("bill", "day/", 100)
		return err
	})
	same(t, "Latest 100", got, []string{"D", "B", "C", "A"})
	view(t, s, func(tx workflow.ReadTx) (err error) {
		got, err = tx.Latest("stay", "day/", 100)
		return err
	})
	same(t, "Latest of an empty kind", got, []string(nil))
}

func testForEach(t *testing.T, r *rig) {
	s := r.store()
	want := map[string]string{}
	for i := range 25 {
		id, doc := fmt.Sprintf("K%02d", i), fmt.Sprintf(`{"n":%d}`, i)
		put(t, s, "learned", id, doc)
		want[id] = doc
	}
	put(t, s, "learnedx", "K00", `{"other":true}`)
	got := map[string]string{}
	var order []string
	view(t, s, func(tx workflow.ReadTx) error {
		return tx.ForEach("learned", func(id string, data []byte) error {
			got[id] = string(data)
			order = append(order, id)
			return nil
		})
	})
	same(t, "ForEach", got, want)
	for i := 1; i < len(order); i++ {
		if order[i-1] >= order[i] {
			t.Errorf("ForEach visited %s before %s; want id order", order[i-1], order[i])
		}
	}
	stop := errors.New("stop")
	err := s.View(func(tx workflow.ReadTx) error {
		return tx.ForEach("learned", func(string, []byte) error { return stop })
	})
	if !errors.Is(err, stop) {
		t.Errorf("ForEach whose fn fails: got %v; want fn's error", err)
	}
}

func testMeta(t *testing.T, r *rig) {
	s := r.store()
	view(t, s, func(tx workflow.ReadTx) error {
		same(t, "unset Meta", tx.Meta("outstanding"), "")
		return nil
	})
	if err := s.Update(context.Background(), func(tx workflow.Tx) error {
		if err := tx.SetMeta("outstanding", "12.50"); err != nil {
			return err
		}
		return tx.SetMeta("msgid_reserved", "1790000000")
	}); err != nil {
		t.Fatal(err)
	}
	view(t, s, func(tx workflow.ReadTx) error {
		same(t, "Meta outstanding", tx.Meta("outstanding"), "12.50")
		same(t, "Meta msgid_reserved", tx.Meta("msgid_reserved"), "1790000000")
		return nil
	})
}

func testEntryNUL(t *testing.T, r *rig) {
	s := r.store()
	enc, _ := s.Encode("bill", "MZ1", []byte(`{}`))
	err := s.Update(context.Background(), func(tx workflow.Tx) error {
		return tx.Put("bill", "MZ1", enc, []string{"state/\x00x"})
	})
	if err == nil {
		t.Fatal("Put with an index entry holding a NUL: got nil; want an error")
	}
	if _, err := get(t, s, "bill", "MZ1"); !errors.Is(err, settle.ErrNotFound) {
		t.Errorf("Get after the refused Put: got %v; want settle.ErrNotFound", err)
	}
}

func testUpdateAtomic(t *testing.T, r *rig) {
	s := r.store()
	put(t, s, "bill", "MZ1", `{"v":1}`, "state/queued")
	enc, _ := s.Encode("bill", "MZ1", []byte(`{"v":2}`))
	enc2, _ := s.Encode("bill", "MZ2", []byte(`{"v":1}`))
	boom := errors.New("boom")
	err := s.Update(context.Background(), func(tx workflow.Tx) error {
		if err := tx.Put("bill", "MZ1", enc, []string{"state/settled"}); err != nil {
			return err
		}
		if err := tx.Put("bill", "MZ2", enc2, []string{"state/queued"}); err != nil {
			return err
		}
		if err := tx.SetMeta("outstanding", "99"); err != nil {
			return err
		}
		if _, err := tx.Enqueue("MZ1", []byte(`{"bill_no":"MZ1"}`)); err != nil {
			return err
		}
		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatalf("Update: got %v; want fn's error", err)
	}
	if got, _ := get(t, s, "bill", "MZ1"); string(got) != `{"v":1}` {
		t.Errorf("MZ1 after the failed Update: got %q; want the first version", got)
	}
	if _, err := get(t, s, "bill", "MZ2"); !errors.Is(err, settle.ErrNotFound) {
		t.Errorf("MZ2 after the failed Update: got %v; want not found", err)
	}
	same(t, "ids of state/queued", ids(t, s, "bill", "state/queued", "", 10), []string{"MZ1"})
	same(t, "ids of state/settled", ids(t, s, "bill", "state/settled", "", 10), []string(nil))
	view(t, s, func(tx workflow.ReadTx) error {
		same(t, "Meta outstanding", tx.Meta("outstanding"), "")
		return nil
	})
	if jobs := lease(t, s, 10); len(jobs) != 0 {
		t.Errorf("leased %d jobs after the failed Update; want 0", len(jobs))
	}
}

func testUpdateOwnWrites(t *testing.T, r *rig) {
	s := r.store()
	put(t, s, "bill", "MZ1", `{"v":1}`, "state/queued")
	enc, _ := s.Encode("bill", "MZ1", []byte(`{"v":2}`))
	err := s.Update(context.Background(), func(tx workflow.Tx) error {
		if err := tx.Put("bill", "MZ1", enc, []string{"state/settled"}); err != nil {
			return err
		}
		if err := tx.SetMeta("k", "v"); err != nil {
			return err
		}
		got, err := tx.Get("bill", "MZ1")
		if err != nil || string(got) != `{"v":2}` {
			t.Errorf("Get inside the Update after Put: got %q, %v; want the new version", got, err)
		}
		same(t, "IDs of state/settled inside the Update", must(tx.IDs("bill", "state/settled", "", 10)), []string{"MZ1"})
		same(t, "Count of state/queued inside the Update", tx.Count("bill", "state/queued"), 0)
		same(t, "Meta inside the Update", tx.Meta("k"), "v")
		id, err := tx.Enqueue("MZ1", []byte("p"))
		if err != nil {
			return err
		}
		j, err := tx.Job(id)
		if err != nil || j.State != workflow.JobReady || j.Key != "MZ1" {
			t.Errorf("Job inside the Update after Enqueue: got %+v, %v; want ready for MZ1", j, err)
		}
		if err := tx.Delete("bill", "MZ1"); err != nil {
			return err
		}
		if _, err := tx.Get("bill", "MZ1"); !errors.Is(err, settle.ErrNotFound) {
			t.Errorf("Get inside the Update after Delete: got %v; want not found", err)
		}
		same(t, "IDs of state/settled after Delete inside the Update", must(tx.IDs("bill", "state/settled", "", 10)), []string(nil))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

func testUpdateConcurrent(t *testing.T, r *rig) {
	s := r.store()
	const n = 16
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			enc, err := s.Encode("bill", fmt.Sprintf("C%02d", i), []byte(`{}`))
			if err != nil {
				errs <- err
				return
			}
			errs <- s.Update(context.Background(), func(tx workflow.Tx) error {
				var v int
				if m := tx.Meta("counter"); m != "" {
					fmt.Sscan(m, &v)
				}
				if err := tx.SetMeta("counter", fmt.Sprint(v+1)); err != nil {
					return err
				}
				return tx.Put("bill", fmt.Sprintf("C%02d", i), enc, []string{"state/queued"})
			})
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatalf("Update: %v", err)
		}
	}
	view(t, s, func(tx workflow.ReadTx) error {
		same(t, "counter after 16 concurrent increments", tx.Meta("counter"), fmt.Sprint(n))
		same(t, "documents", tx.Count("bill", "state/queued"), n)
		return nil
	})
}

func testName(t *testing.T, r *rig) {
	s := r.store()
	a, b := s.Name([]byte("110101199003071234")), s.Name([]byte("110101199003071234"))
	c := s.Name([]byte("110101199003071235"))
	if !bytes.Equal(a, b) || bytes.Equal(a, c) || len(a) != 16 {
		t.Errorf("Name: %x, %x, %x; want 16 bytes, equal for equal input, different otherwise", a, b, c)
	}
}
