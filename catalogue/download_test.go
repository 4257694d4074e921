package catalogue

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/settle-agent/settle-agent/platform"
	"github.com/settle-agent/settle-agent/platform/sim"
)

// download is the real 9102 of the client, with "plc".
func (e *simEnv) download(ctx context.Context, fileQuryNo, filename string) ([]byte, error) {
	m, err := e.meta()
	if err != nil {
		return nil, err
	}
	return e.client.DownloadCatalogueFile(ctx, m, fileQuryNo, filename)
}

func fileKinds(t *testing.T, e *simEnv, s *Store, o SyncOptions) *Syncer {
	t.Helper()
	o.Download = e.download
	if o.Queries == nil {
		o.Queries = []Query{}
	}
	return mustSyncer(t, e, s, o)
}

// TestSyncer_Files downloads the four catalogues from the simulator by version, until
// an answer brings no rows, and keeps every item with its version.
func TestSyncer_Files(t *testing.T) {
	e := mustSimEnv(t)
	s := mustStore(t)
	rep, err := fileKinds(t, e, s, SyncOptions{}).Sync(context.Background())
	if err != nil {
		t.Fatalf("Sync: %v", err)
	}
	for _, r := range rep.Results {
		vs := e.p.CatalogueVersions(r.Infno)
		if r.Chunks != len(vs) || r.Ver != vs[len(vs)-1] {
			t.Errorf("%s: %d chunks up to %s; want %d up to %s", r.Infno, r.Chunks, r.Ver, len(vs), vs[len(vs)-1])
		}
		// One more call each: the one answered data_cnt 0.
		if got := e.p.Stats()[r.Infno]; got != len(vs)+1 {
			t.Errorf("%s calls = %d; want %d", r.Infno, got, len(vs)+1)
		}
	}
	for _, it := range e.p.Fixture().Items {
		got, ok, err := s.Item(it.MedListCodg)
		infno, lt := listTypeOf(it)
		if err != nil || !ok || got.Name != it.Name || got.ListType != lt || got.Infno != infno || got.Begin != 20200101 || got.End != 0 || got.Invalid {
			t.Errorf("item %s = %+v, %v, %v; want %s in %s (%s)", it.MedListCodg, got, ok, err, it.Name, infno, lt)
		}
		if infno == "1301" && got.Class != it.Class {
			t.Errorf("item %s class %q; want %q (1301 column 92)", it.MedListCodg, got.Class, it.Class)
		}
	}
	// Nothing new: one call each, no rows.
	rep, err = fileKinds(t, e, s, SyncOptions{}).Sync(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range rep.Results {
		if r.Rows != 0 || r.Chunks != 0 {
			t.Errorf("second sync of %s: %+v; want nothing", r.Infno, r)
		}
	}
}

// TestSyncer_Files_IncrementalAndExpiry: an item changed at the platform (ended,
// invalid) and a new one come in the next version.
func TestSyncer_Files_IncrementalAndExpiry(t *testing.T) {
	e := mustSimEnv(t)
	s := mustStore(t)
	sy := fileKinds(t, e, s, SyncOptions{})
	if _, err := sy.Sync(context.Background()); err != nil {
		t.Fatal(err)
	}
	old := e.p.Fixture().Items[11] // 硝苯地平缓释片, 1301
	e.p.PublishItem(old, time.Date(2026, 6, 30, 0, 0, 0, 0, beijing), false)
	e.p.PublishItem(sim.CatalogueItem{MedListCodg: "XC08CAA010A001010200099", MedinsListCodg: "YP0099", Name: "硝苯地平控释片",
		Kind: "drug", MedChrgitmType: "09", Class: sim.ClassB, SelfpayProp: mustRatio(t, "0.05")}, time.Time{}, false)
	rep, err := sy.Sync(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if r := rep.Results[0]; r.Infno != "1301" || r.Rows != 2 {
		t.Fatalf("1301 in the second sync: %+v; want the 2 changed rows", r)
	}
	got, _, _ := s.Item(old.MedListCodg)
	if got.End != 20260630 || got.Covers(20261201) || !got.Covers(20260101) {
		t.Errorf("ended item = %+v; want valid to 2026-06-30", got)
	}
	if _, ok, _ := s.Item("XC08CAA010A001010200099"); !ok {
		t.Errorf("the new item was not downloaded")
	}
	st, _ := s.State("1301")
	if st.Rows != 12 {
		t.Errorf("1301 rows held = %d; want 12 (11 + 1 new, upserted by code)", st.Rows)
	}
}

// TestSyncer_Files_Resume: the platform goes away after the first chunk; the next
// sync asks from the version the first chunk brought, not from 0.
func TestSyncer_Files_Resume(t *testing.T) {
	e := mustSimEnv(t)
	s := mustStore(t)
	sy := fileKinds(t, e, s, SyncOptions{Kinds: Kinds[:1], OnProgress: func(p Progress) {
		if p.Infno == "1301" && p.Done == 5 {
			e.p.SetFaults(sim.Faults{Down: true})
		}
	}})
	if _, err := sy.Sync(context.Background()); err == nil {
		t.Fatal("Sync with the platform going down: nil error")
	}
	vs := e.p.CatalogueVersions("1301")
	if st, _ := s.State("1301"); st.Ver != vs[0] || st.Rows != 5 || st.LastError == "" {
		t.Fatalf("state after the failure: %+v; want version %s, 5 rows, the error", st, vs[0])
	}
	e.p.SetFaults(sim.Faults{})
	sy = fileKinds(t, e, s, SyncOptions{Kinds: Kinds[:1]})
	rep, err := sy.Sync(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if r := rep.Results[0]; r.Chunks != len(vs)-1 || r.Rows != 6 {
		t.Errorf("resumed sync: %+v; want %d chunks, 6 rows (the rest)", r, len(vs)-1)
	}
}

// TestSyncer_Files_Plc: the platform gives a catalogue file only to fixmedins_code
// "plc"; the hospital's own code is refused.
func TestSyncer_Files_Plc(t *testing.T) {
	e := mustSimEnv(t)
	m, _ := e.meta()
	out, err := e.client.CatalogueFile(context.Background(), m, "1305", "0")
	if err != nil || out.DataCnt == 0 {
		t.Fatalf("1305 = %+v, %v", out, err)
	}
	m, _ = e.meta()
	if _, _, err := e.client.DownloadFile(context.Background(), m, string(out.FileQuryNo), string(out.Filename)); !errors.Is(err, platform.ErrBusiness) {
		t.Fatalf("9102 with the hospital's code = %v; want refused", err)
	}
	if _, err := e.download(context.Background(), string(out.FileQuryNo), string(out.Filename)); err != nil {
		t.Fatalf("9102 with plc = %v", err)
	}
}

// TestSyncer_Files_Stuck: a platform that answers the same chunk again is an error,
// not an endless loop.
func TestSyncer_Files_Stuck(t *testing.T) {
	e := mustSimEnv(t)
	s := mustStore(t)
	var first []byte
	sy := fileKinds(t, e, s, SyncOptions{Kinds: Kinds[:1]})
	sy.o.Download = func(ctx context.Context, no, name string) ([]byte, error) {
		if first == nil {
			b, err := e.download(ctx, no, name)
			first = b
			return b, err
		}
		return first, nil
	}
	if _, err := sy.Sync(context.Background()); !errors.Is(err, ErrStuck) {
		t.Fatalf("Sync = %v; want ErrStuck", err)
	}
}

// TestSyncer_Files_Large syncs a catalogue of a real one's size from the simulator
// (20,000 rows in chunks of 5,000), by file, in batches.
func TestSyncer_Files_Large(t *testing.T) {
	if testing.Short() {
		t.Skip("large catalogue")
	}
	e := mustSimEnv(t)
	e.p.SetCatalogueChunk(5000)
	e.p.PadCatalogue("1305", 20000)
	s := mustStore(t)
	var progress []Progress
	rep, err := fileKinds(t, e, s, SyncOptions{Kinds: []Kind{Kinds[2]}, OnProgress: func(p Progress) { progress = append(progress, p) }}).Sync(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	want := 20000 + 12
	if r := rep.Results[0]; r.Rows != want || r.Chunks != 5 {
		t.Fatalf("result %+v; want %d rows in 5 chunks", r, want)
	}
	if st, _ := s.State("1305"); st.Rows != want {
		t.Fatalf("rows held = %d; want %d", st.Rows, want)
	}
	batches := 0
	for _, p := range progress {
		if p.Done > 0 && p.Done < want {
			batches++
		}
	}
	if batches < 10 {
		t.Errorf("progress reported %d times within the sync; want one per batch of 2000 rows", batches)
	}
	if _, ok, _ := s.Item("PAD1305000000030"); !ok {
		t.Errorf("a padded row is missing")
	}
}

// BenchmarkSyncer_Files100k syncs a 100,000-row catalogue from the simulator over
// loopback (chunks of 20,000): zip, 9102, parse, upsert in batches, fsync per batch.
func BenchmarkSyncer_Files100k(b *testing.B) {
	const rows = 100000
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		e := mustSimEnv(b)
		e.p.SetCatalogueChunk(20000)
		e.p.PadCatalogue("1301", rows)
		s := mustStore(b)
		o := SyncOptions{Store: s, Platform: e.client, Meta: e.meta, Download: e.download, Kinds: Kinds[:1], Queries: []Query{}}
		sy, err := NewSyncer(o)
		if err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		rep, err := sy.Sync(context.Background())
		if err != nil || rep.Results[0].Rows < rows {
			b.Fatalf("Sync = %+v, %v", rep, err)
		}
		b.ReportMetric(float64(rep.Results[0].Rows)/rep.Took.Seconds(), "rows/s")
	}
}
