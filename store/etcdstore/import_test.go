package etcdstore_test

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/settle-agent/settle-agent/queue"
	"github.com/settle-agent/settle-agent/store"
	"github.com/settle-agent/settle-agent/store/etcdstore"
	"github.com/settle-agent/settle-agent/store/storetest"
	"github.com/settle-agent/settle-agent/workflow"
)

// oneMachine is a bbolt store as a single machine leaves it: documents of three
// kinds with index entries, named values, a msgid reservation, and queue jobs in
// every state — one acknowledged and removed, one leased by the run that stopped,
// one failed blocking its key behind it, one waiting out a backoff.
type oneMachine struct {
	dir     string
	st      *store.Store
	clock   *storetest.Clock
	q       queue.Options
	ids     map[string]uint64
	removed uint64
}

func buildOneMachine(t *testing.T) *oneMachine {
	t.Helper()
	m := &oneMachine{dir: t.TempDir(), clock: storetest.NewClock(), ids: map[string]uint64{}}
	m.q = queue.Options{Now: m.clock.Now, MinBackoff: 10 * time.Second, MaxBackoff: time.Minute, LeaseTime: 30 * time.Second,
		Horizon: time.Hour, NoSweep: true, RemoveDone: true, Jitter: func(n time.Duration) time.Duration { return n - 1 }}
	st, err := store.Open(m.dir, &store.Options{Key: testKey, Queue: m.q})
	if err != nil {
		t.Fatal(err)
	}
	m.st = st
	ctx := context.Background()
	up := func(what string, fn func(tx workflow.Tx) error) {
		t.Helper()
		if err := st.Update(ctx, fn); err != nil {
			t.Fatalf("%s: %v", what, err)
		}
	}
	doc := func(kind, id, data string, index ...string) {
		t.Helper()
		enc, err := st.Encode(kind, id, []byte(data))
		if err != nil {
			t.Fatal(err)
		}
		up("put "+id, func(tx workflow.Tx) error { return tx.Put(kind, id, enc, index) })
	}
	for i := range 7 {
		no := fmt.Sprintf("MZ%03d", i)
		doc(workflow.KindBill, no, fmt.Sprintf(`{"bill_no":%q,"n":%d}`, no, i), "state/queued", "day/2026-11-23", "visit/V"+no)
	}
	doc(workflow.KindBill, "MZ900", `{"bill_no":"MZ900"}`, "state/settled", "day/2026-11-22")
	doc(workflow.KindStay, "ZY1", `{"ipt_no":"ZY1"}`, "state/admitted")
	doc(workflow.KindIdem, "k1", `{"answer":1}`)
	up("meta", func(tx workflow.Tx) error { return tx.SetMeta("outstanding", "120.50") })
	if err := st.ReserveMsgids(m.clock.Now().Add(10 * time.Second)); err != nil {
		t.Fatal(err)
	}
	enq := func(name, key string) {
		t.Helper()
		up("enqueue "+name, func(tx workflow.Tx) error {
			id, err := tx.Enqueue(key, []byte(`{"bill_no":"`+name+`"}`))
			m.ids[name] = id
			return err
		})
	}
	for _, n := range []string{"acked", "leased", "failed", "behindFailed", "backoff", "ready1", "ready2"} {
		enq(n, "V"+n)
	}
	enq("behindFailed2", "Vfailed") // waits behind the failed job of its key
	enq("second", "Vready1")        // waits behind ready1
	lease := func() []workflow.Job {
		t.Helper()
		jobs, err := st.Lease(ctx, 3)
		if err != nil {
			t.Fatal(err)
		}
		return jobs
	}
	got := lease() // acked, leased, failed: the first three of their keys
	if len(got) != 3 {
		t.Fatalf("leased %d jobs; want 3", len(got))
	}
	up("ack", func(tx workflow.Tx) error { return tx.Ack(m.ids["acked"]) })
	up("fail", func(tx workflow.Tx) error { return tx.Fail(m.ids["failed"], "refused: 2207 ...") })
	m.removed = m.ids["acked"]
	got = lease() // behindFailed, backoff, ready1
	up("nack", func(tx workflow.Tx) error { _, err := tx.Nack(m.ids["backoff"], "platform down"); return err })
	up("nack", func(tx workflow.Tx) error { _, err := tx.Nack(m.ids["behindFailed"], "platform down"); return err })
	up("nack", func(tx workflow.Tx) error { _, err := tx.Nack(m.ids["ready1"], "platform down"); return err })
	_ = got
	// The machine stops with "leased" still leased; the bbolt store releases such
	// leases when it opens, as the import does.
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	if m.st, err = store.Open(m.dir, &store.Options{Key: testKey, Queue: m.q}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.st.Close() })
	return m
}

// importInto moves m's store into the etcd store dst.
func importInto(t *testing.T, m *oneMachine, dst *etcdstore.Store) (*etcdstore.Importer, error) {
	t.Helper()
	id, err := m.st.ExportID()
	if err != nil {
		t.Fatal(err)
	}
	im, err := dst.Import(context.Background(), m.dir, id)
	if err != nil {
		return nil, err
	}
	if !im.AlreadyDone {
		if err := m.st.Export(im); err != nil {
			return im, err
		}
	}
	return im, im.Finish()
}

// readAll is what the engine can read of a store: every document of the kinds, its
// listings by the entries, the named values and jobs by id.
func readAll(t *testing.T, s workflow.Store, jobIDs []uint64) map[string]any {
	t.Helper()
	out := map[string]any{}
	err := s.View(func(tx workflow.ReadTx) error {
		for _, kind := range []string{workflow.KindBill, workflow.KindStay, workflow.KindIdem} {
			err := tx.ForEach(kind, func(id string, data []byte) error {
				out["doc "+kind+"/"+id] = string(data)
				return nil
			})
			if err != nil {
				return err
			}
		}
		for _, e := range []string{"state/queued", "state/settled", "day/2026-11-23", "visit/VMZ003", "state/admitted"} {
			for _, kind := range []string{workflow.KindBill, workflow.KindStay} {
				ids, err := tx.IDs(kind, e, "", 100)
				if err != nil {
					return err
				}
				out["ids "+kind+" "+e] = fmt.Sprint(ids, tx.Count(kind, e))
			}
		}
		before, err := tx.Before(workflow.KindBill, "day/", "2026-11-23", 100)
		if err != nil {
			return err
		}
		out["before"] = fmt.Sprint(before)
		out["meta outstanding"] = tx.Meta("outstanding")
		for _, id := range jobIDs {
			j, err := tx.Job(id)
			if err != nil {
				return fmt.Errorf("job %d: %w", id, err)
			}
			out[fmt.Sprintf("job %d", id)] = fmt.Sprintf("%s %s %s %q", j.State, j.Key, j.Payload, j.Reason)
		}
		return nil
	})
	if err != nil {
		t.Fatalf("read the store: %v", err)
	}
	return out
}

// TestImport_GroupReadsAndLeasesWhatTheMachineHad: a single machine's bbolt store
// imported into an empty store on etcd reads the same (documents, listings, named
// values, jobs — a removed one as done), hands out the same jobs at the same times,
// issues job ids after the machine's, keeps the machine's msgid reservation, and a
// second import is refused.
func TestImport_GroupReadsAndLeasesWhatTheMachineHad(t *testing.T) {
	m := buildOneMachine(t)
	dst := openStore(t, shared.cli, newPrefix(), m.q)
	if _, err := importInto(t, m, dst); err != nil {
		t.Fatalf("import: %v", err)
	}
	var jobIDs []uint64
	for _, id := range m.ids {
		jobIDs = append(jobIDs, id)
	}
	slices.Sort(jobIDs)
	want, got := readAll(t, m.st, jobIDs), readAll(t, dst, jobIDs)
	for k, w := range want {
		if !reflect.DeepEqual(got[k], w) {
			t.Errorf("%s: got %v; want %v", k, got[k], w)
		}
	}
	if len(got) != len(want) || len(want) < 20 {
		t.Errorf("read %d things from the group, %d from the machine; want the same, at least 20", len(got), len(want))
	}
	if s := fmt.Sprint(got[fmt.Sprintf("job %d", m.removed)]); s[:4] != "done" {
		t.Errorf("the job the machine removed once done: got %s; want done", s)
	}

	// Both hand out the same jobs as time passes (the released lease at once, the
	// backoffs when they end, nothing behind a failed job).
	handedOut := 0
	for step := range 4 {
		a, err := m.st.Lease(context.Background(), 20)
		if err != nil {
			t.Fatal(err)
		}
		b, err := dst.Lease(context.Background(), 20)
		if err != nil {
			t.Fatal(err)
		}
		if fmt.Sprint(leasedIDs(a)) != fmt.Sprint(leasedIDs(b)) {
			t.Errorf("lease at step %d: group gave %v; the machine %v", step, leasedIDs(b), leasedIDs(a))
		}
		handedOut += len(a)
		m.clock.Advance(20 * time.Second)
	}
	if handedOut < 5 {
		t.Errorf("the machine handed out %d jobs over the four steps; want at least 5 (the comparison proves little)", handedOut)
	}

	mark, err := m.st.MsgidReservation()
	if err != nil {
		t.Fatal(err)
	}
	if r, err := dst.MsgidReservation(); err != nil || r.Before(mark) {
		t.Errorf("group's msgid reservation: got %v, %v; want at least the machine's %v", r, err, mark)
	}
	var next uint64
	if err := dst.Update(context.Background(), func(tx workflow.Tx) error {
		var err error
		next, err = tx.Enqueue("Vnew", []byte(`{}`))
		return err
	}); err != nil {
		t.Fatal(err)
	}
	if next <= slices.Max(jobIDs) {
		t.Errorf("first job id issued by the group: got %d; want after the machine's last, %d", next, slices.Max(jobIDs))
	}

	// The same store again: nothing to do. Another store: refused.
	im, err := importInto(t, m, dst)
	if err != nil || !im.AlreadyDone {
		t.Errorf("importing the same store again: got %v (already done %v); want nothing done, no error", err, im != nil && im.AlreadyDone)
	}
	other := buildOneMachine(t)
	if _, err := importInto(t, other, dst); !errors.Is(err, etcdstore.ErrNotEmpty) {
		t.Errorf("importing another store into the group: got %v; want ErrNotEmpty", err)
	}
}

// TestImport_RefusedIntoAGroupInUse: a group that holds a bill of its own takes no
// import, and nothing of the machine lands in it.
func TestImport_RefusedIntoAGroupInUse(t *testing.T) {
	m := buildOneMachine(t)
	dst := openStore(t, shared.cli, newPrefix(), m.q)
	enc, _ := dst.Encode(workflow.KindBill, "MZ-GROUP", []byte(`{}`))
	if err := dst.Update(context.Background(), func(tx workflow.Tx) error {
		return tx.Put(workflow.KindBill, "MZ-GROUP", enc, []string{"state/new"})
	}); err != nil {
		t.Fatal(err)
	}
	if _, err := importInto(t, m, dst); !errors.Is(err, etcdstore.ErrNotEmpty) {
		t.Fatalf("import into a group in use: got %v; want ErrNotEmpty", err)
	}
	if err := dst.View(func(tx workflow.ReadTx) error { _, err := tx.Get(workflow.KindBill, "MZ000"); return err }); err == nil {
		t.Error("a bill of the machine landed in the group after a refused import")
	}
}

// TestImport_MovedStoreDoesNotOpen: once marked moved, the machine's store does not
// open for an agent (its queued bills would be settled twice), nor for a second move.
func TestImport_MovedStoreDoesNotOpen(t *testing.T) {
	m := buildOneMachine(t)
	if err := m.st.MarkMoved("etcd cluster 1", m.clock.Now()); err != nil {
		t.Fatal(err)
	}
	m.st.Close()
	if _, err := store.Open(m.dir, &store.Options{Key: testKey}); !errors.Is(err, store.ErrMoved) {
		t.Errorf("open a moved store: got %v; want ErrMoved", err)
	}
	if _, err := store.OpenToMove(m.dir, &store.Options{Key: testKey}); !errors.Is(err, store.ErrMoved) {
		t.Errorf("move a moved store again: got %v; want ErrMoved", err)
	}
	if _, err := store.OpenToMove(t.TempDir(), &store.Options{Key: testKey}); !errors.Is(err, store.ErrNoStore) {
		t.Errorf("move a folder without a store: got %v; want ErrNoStore", err)
	}
}

func leasedIDs(jobs []workflow.Job) []uint64 {
	var out []uint64
	for _, j := range jobs {
		out = append(out, j.ID)
	}
	slices.Sort(out)
	return out
}
