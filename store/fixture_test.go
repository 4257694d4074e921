package store

import (
	"compress/gzip"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/settle-agent/settle-agent/workflow"
)

// fixtureStore copies the store written by the build of 2026-12-07 (`bench e2e` with
// 2 windows and a backlog of 12: 38 bills settled, 12 of them through the queue) into
// a temporary folder and returns the folder and its key. A change of the store's
// layout must open it: a migration at Open moves it forward.
func fixtureStore(t *testing.T) (dir, key string) {
	t.Helper()
	src := filepath.Join("testdata", "v2026-12-07")
	k, err := os.ReadFile(filepath.Join(src, KeyFile))
	if err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(filepath.Join(src, File+".gz"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	dir = t.TempDir()
	out, err := os.Create(filepath.Join(dir, File))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(out, zr); err != nil {
		t.Fatal(err)
	}
	if err := out.Close(); err != nil {
		t.Fatal(err)
	}
	return dir, strings.TrimSpace(string(k))
}

// A store written by the build of 2026-12-07 opens, and every bill in it reads back
// settled, with its remembered answer.
func TestOpen_StoreOf20261207(t *testing.T) {
	dir, key := fixtureStore(t)
	s, err := Open(dir, &Options{Key: key})
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	defer s.Close()
	bills, idem := 0, 0
	err = s.View(func(tx workflow.ReadTx) error {
		if err := tx.ForEach(workflow.KindBill, func(id string, data []byte) error {
			var rec workflow.Record
			if err := json.Unmarshal(data, &rec); err != nil {
				t.Errorf("bill %s: %v", id, err)
				return nil
			}
			bills++
			if rec.State != workflow.StateSettled || rec.Settlement == nil || rec.Bill.BillNo != id {
				t.Errorf("bill %s: got state %s, settlement %v, bill_no %s; want settled with a settlement", id, rec.State, rec.Settlement != nil, rec.Bill.BillNo)
			}
			return nil
		}); err != nil {
			return err
		}
		if n := tx.Count(workflow.KindBill, workflow.IndexState+string(workflow.StateSettled)); n != 38 {
			t.Errorf("state index: got %d settled; want 38", n)
		}
		return tx.ForEach(workflow.KindIdem, func(id string, data []byte) error {
			idem++
			return nil
		})
	})
	if err != nil {
		t.Fatal(err)
	}
	if bills != 38 || idem != 38 {
		t.Errorf("got %d bills and %d remembered answers; want 38 and 38", bills, idem)
	}
	st, err := s.Stats()
	if err != nil {
		t.Fatal(err)
	}
	if st.Ready+st.Leased+st.Failed+st.Dead != 0 || st.Done != 12 {
		t.Errorf("queue: got %+v; want nothing waiting and the 12 done jobs", st)
	}
}
