package catalogue

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/settle-agent/settle-agent/hisadapter"
	"github.com/settle-agent/settle-agent/platform"
	"github.com/settle-agent/settle-agent/platform/sim"
)

func noDownload(context.Context, string, string) ([]byte, error) {
	return nil, errors.New("no file downloads in this test")
}

func mustSyncer(t *testing.T, e *simEnv, s *Store, o SyncOptions) *Syncer {
	t.Helper()
	o.Store, o.Platform, o.Meta = s, e.client, e.meta
	if o.Download == nil {
		o.Download = noDownload
	}
	if o.Now == nil {
		o.Now = func() time.Time { return testNow }
	}
	sy, err := NewSyncer(o)
	if err != nil {
		t.Fatal(err)
	}
	return sy
}

func TestSyncer_Queries(t *testing.T) {
	e := mustSimEnv(t)
	s := mustStore(t)
	sy := mustSyncer(t, e, s, SyncOptions{Kinds: []Kind{}, PageSize: 7})
	rep, err := sy.Sync(context.Background())
	if err != nil {
		t.Fatalf("Sync: %v (%+v)", err, rep)
	}
	fx := e.p.Fixture()
	rows := map[string]int{}
	for _, r := range rep.Results {
		rows[r.Infno] = r.Rows
	}
	var capped, classB int
	for _, it := range fx.Items {
		if it.PriceCeiling > 0 {
			capped++
		}
		if it.Class == sim.ClassB {
			classB++
		}
	}
	want := map[string]int{"1312": len(fx.Items), "1316": len(fx.Items), "1318": capped, "1319": 2 * classB, "1317": 0}
	for infno, n := range want {
		if rows[infno] != n {
			t.Errorf("rows of %s = %d; want %d", infno, rows[infno], n)
		}
	}
	on := hisadapter.Date(20261201)
	for _, it := range fx.Items {
		terms, err := s.Terms(it.MedListCodg, "330100", "310", on)
		if err != nil {
			t.Fatal(err)
		}
		if terms.Class != it.Class {
			t.Errorf("%s class = %q; want %q", it.MedListCodg, terms.Class, it.Class)
		}
		if terms.HasSelfpay != (it.Class == sim.ClassB) || !terms.SelfpayProp.Equal(it.SelfpayProp.Decimal) {
			t.Errorf("%s selfpay = %v %v; want %v", it.MedListCodg, terms.HasSelfpay, terms.SelfpayProp, it.SelfpayProp)
		}
		if terms.HasCap != (it.PriceCeiling > 0) || terms.Cap != it.PriceCeiling {
			t.Errorf("%s cap = %v %v; want %v", it.MedListCodg, terms.HasCap, terms.Cap, it.PriceCeiling)
		}
	}
	// Another region (Shanghai) holds none of the treatment area's rows.
	if terms, _ := s.Terms(fx.Items[0].MedListCodg, "310100", "", on); terms.Known() {
		t.Errorf("terms in 310100 = %+v; want none (the rows are 330100's)", terms)
	}
	sts, err := s.States()
	if err != nil {
		t.Fatal(err)
	}
	for _, st := range sts {
		if st.Kind == "query" && (st.SyncedAt.IsZero() || st.NextPage != 0 || st.LastError != "") {
			t.Errorf("state %+v; want synced, nothing pending", st)
		}
	}
}

// TestSyncer_Queries_Resume cuts the platform off in the middle of 1312's pages; the
// next sync asks from the page after the last one committed, and ends with every row.
func TestSyncer_Queries_Resume(t *testing.T) {
	e := mustSimEnv(t)
	s := mustStore(t)
	pages := 0
	sy := mustSyncer(t, e, s, SyncOptions{Kinds: []Kind{}, Queries: Queries[:1], PageSize: 5, OnProgress: func(p Progress) {
		if p.Infno == platform.InfnoHilistQuery && p.Chunk > pages {
			pages = p.Chunk
			if pages == 2 {
				e.p.SetFaults(sim.Faults{Down: true})
			}
		}
	}})
	if _, err := sy.Sync(context.Background()); !errors.Is(err, platform.ErrNotSent) && !errors.Is(err, platform.ErrOutcomeUnknown) {
		t.Fatalf("Sync with the platform down = %v; want a transport error", err)
	}
	st, _ := s.State(platform.InfnoHilistQuery)
	if st.NextPage != 3 || st.Rows != 10 || st.LastError == "" || !st.SyncedAt.IsZero() {
		t.Fatalf("state after the failure = %+v; want next page 3, 10 rows, the error, never synced", st)
	}
	e.p.SetFaults(sim.Faults{})
	before := e.p.Stats()[platform.InfnoHilistQuery]
	rep, err := sy.Sync(context.Background())
	if err != nil {
		t.Fatalf("Sync again: %v", err)
	}
	n := len(e.p.Fixture().Items)
	if got := e.p.Stats()[platform.InfnoHilistQuery] - before; got != (n+4)/5-2 {
		t.Errorf("pages asked on resume = %d; want %d (from page 3)", got, (n+4)/5-2)
	}
	st, _ = s.State(platform.InfnoHilistQuery)
	if st.Rows != n || st.NextPage != 0 || st.LastError != "" || st.Since != "2026-11-01" {
		t.Errorf("state after resume = %+v (%+v); want %d rows, nothing pending, since 2026-11-01", st, rep, n)
	}
}

// TestSyncer_Queries_Incremental: a changed item comes in the next sync, by rid, and
// replaces what was held.
func TestSyncer_Queries_Incremental(t *testing.T) {
	e := mustSimEnv(t)
	s := mustStore(t)
	sy := mustSyncer(t, e, s, SyncOptions{Kinds: []Kind{}})
	if _, err := sy.Sync(context.Background()); err != nil {
		t.Fatal(err)
	}
	it := e.p.Fixture().Items[10] // 阿莫西林胶囊, 甲
	it.Class, it.SelfpayProp = sim.ClassB, mustRatio(t, "0.30")
	e.p.PublishItem(it, time.Time{}, false)
	rep, err := sy.Sync(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	// updt_time is a day: the last day seen is asked again (2026-11-01, all of the
	// fixture); from then on only what changed on or after the change's day.
	if _, err := sy.Sync(context.Background()); err != nil {
		t.Fatal(err)
	}
	rep, err = sy.Sync(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range rep.Results {
		if r.Infno == platform.InfnoHilistQuery && r.Rows != 1 {
			t.Errorf("1312 rows in the third sync = %d; want the one changed", r.Rows)
		}
	}
	terms, _ := s.Terms(it.MedListCodg, "330100", "390", 20261201)
	if terms.Class != sim.ClassB || terms.SelfpayProp.String() != "0.3" {
		t.Errorf("terms after the change = %+v; want 乙 0.3", terms)
	}
	st, _ := s.State(platform.InfnoHilistQuery)
	if st.Rows != len(e.p.Fixture().Items) {
		t.Errorf("1312 rows held = %d; want %d (upserted by rid)", st.Rows, len(e.p.Fixture().Items))
	}
}

func mustRatio(t *testing.T, s string) platform.Ratio {
	r, err := platform.ParseRatio(s)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func TestSyncer_ErrBusy(t *testing.T) {
	e := mustSimEnv(t)
	s := mustStore(t)
	var sy *Syncer
	var inner error
	sy = mustSyncer(t, e, s, SyncOptions{Kinds: []Kind{}, Queries: Queries[:1], OnProgress: func(p Progress) {
		if p.Running && inner == nil {
			_, inner = sy.Sync(context.Background())
		}
	}})
	if _, err := sy.Sync(context.Background()); err != nil {
		t.Fatal(err)
	}
	if !errors.Is(inner, ErrBusy) {
		t.Fatalf("a second Sync while one runs = %v; want ErrBusy", inner)
	}
	if sy.Progress().Running {
		t.Fatalf("Progress after the sync says running")
	}
}
