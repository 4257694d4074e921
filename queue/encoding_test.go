package queue

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/settle-agent/settle-agent/internal/golden"
)

func TestDecodeRecord_RoundTrip(t *testing.T) {
	r := &stored{id: 7, state: sLeased, due: 5, enq: 1, since: 1, next: 2, leaseUntil: 5, key: "visit-1", reason: "why",
		attempts: []Attempt{{At: fromNanos(3), Cause: "timeout"}}, payload: []byte(`{"a":1}`)}
	got, err := decodeRecord(7, r.encode())
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, r) {
		t.Fatalf("got %+v; want %+v", got, r)
	}
	for _, bad := range []string{"", "\x02r", "\x01z", "\x01r\x00", string(r.encode()) + "x"} {
		if _, err := decodeRecord(1, []byte(bad)); err == nil {
			t.Errorf("decodeRecord(%q) = nil error; want one", bad)
		}
	}
}

func FuzzDecodeRecord(f *testing.F) {
	f.Add((&stored{state: sReady, key: "k", payload: []byte("p")}).encode())
	f.Add((&stored{state: sDead, key: "k", reason: "r", attempts: []Attempt{{Cause: "c"}}}).encode())
	f.Add([]byte{1, 'r', 0x80})
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := decodeRecord(1, b)
		if err != nil {
			return
		}
		again, err := decodeRecord(1, r.encode())
		if err != nil {
			t.Fatalf("re-decode: %v", err)
		}
		if !bytes.Equal(again.encode(), r.encode()) {
			t.Fatalf("encoding not stable")
		}
	})
}

func FuzzRecordJSON(f *testing.F) {
	f.Add(`{"id":1,"key":"k","state":"ready","payload":{"a":1}}`)
	f.Add(`{"id":2,"key":"k","state":"dead","payload_encoding":"base64","payload":"AAE="}`)
	f.Add(`{"id":3,"attempts":[{"at":"2026-03-01T08:00:00Z","cause":"x"}],"enqueued_at":"2026-03-01T08:00:00Z"}`)
	f.Fuzz(func(t *testing.T, s string) {
		var r Record
		if err := json.Unmarshal([]byte(s), &r); err != nil {
			return
		}
		b, err := json.Marshal(&r)
		if err != nil {
			t.Fatalf("marshal: %v", err)
		}
		var again Record
		if err := json.Unmarshal(b, &again); err != nil {
			t.Fatalf("unmarshal %s: %v", b, err)
		}
		b2, _ := json.Marshal(&again)
		if !bytes.Equal(b, b2) {
			t.Fatalf("not stable:\n%s\n%s", b, b2)
		}
	})
}

var testMask = map[string]func(string) string{
	"name":   func(s string) string { return "MASKED" },
	"certno": func(s string) string { return "MASKED" },
}

func TestRedactJSON(t *testing.T) {
	redact := RedactJSON(testMask)
	for _, c := range []struct{ in, want string }{
		{`{"name":"张三","n":1.50}`, `{"n":1.50,"name":"MASKED"}`},
		{`[{"x":{"certno":"110101199001011234"}}]`, `[{"x":{"certno":"MASKED"}}]`},
		{`{"name":{"nested":"kept"}}`, `{"name":{"nested":"kept"}}`},
		{`not json 110101199001011234`, `{"redacted":"payload of 27 bytes is not JSON"}`},
		{`{}}`, `{"redacted":"payload of 3 bytes is not JSON"}`},
		{``, ``},
	} {
		if got := string(redact([]byte(c.in))); got != c.want {
			t.Errorf("redact(%s) = %s; want %s", c.in, got, c.want)
		}
	}
}

func FuzzRedactJSON(f *testing.F) {
	f.Add(`{"name":"张三","certno":"110101199001011234","items":[{"name":"x"}]}`)
	f.Add(`[1,"name",{"name":null}]`)
	f.Add(`"name"`)
	redact := RedactJSON(testMask)
	f.Fuzz(func(t *testing.T, s string) {
		out := redact([]byte(s))
		if len(s) > 0 && !json.Valid(out) {
			t.Fatalf("redact(%q) = %q: not JSON", s, out)
		}
		var check func(v any)
		check = func(v any) {
			switch x := v.(type) {
			case map[string]any:
				for k, e := range x {
					if str, ok := e.(string); ok && testMask[k] != nil && str != "MASKED" {
						t.Fatalf("redact(%q): %s = %q left unmasked", s, k, str)
					}
					check(e)
				}
			case []any:
				for _, e := range x {
					check(e)
				}
			}
		}
		var v any
		if json.Unmarshal(out, &v) == nil {
			check(v)
		}
	})
}

func TestStore_Export_Golden(t *testing.T) {
	clk := newTestClock()
	s := MustOpen(t, "", &Options{Now: clk.Now, MinBackoff: time.Second})
	ctx := t.Context()
	mustEnqueue(t, s, "visit-1", `{"psn_name":"张三","certno":"110101199001011234","amount":"12.50"}`)
	mustEnqueue(t, s, "visit-1", "\x00binary")
	mustEnqueue(t, s, "visit-2", `{"name":"李四"}`)
	clk.Add(time.Second)
	recs := mustLease(t, s, 2)
	s.Ack(ctx, recs[0].ID)
	clk.Add(time.Second)
	s.Nack(ctx, recs[1].ID, "platform timeout")

	var plain, redacted bytes.Buffer
	if err := s.Export(&plain, nil); err != nil {
		t.Fatal(err)
	}
	if err := s.Export(&redacted, RedactJSON(testMask)); err != nil {
		t.Fatal(err)
	}
	// The jittered next_at differs per run: check it, then pin it.
	got := plain.String() + "--- redacted\n" + redacted.String()
	got = pinNextAt(t, got)
	golden.Check(t, filepath.Join("testdata", "export.golden"), []byte(got))
	for line := range strings.SplitSeq(plain.String(), "\n") {
		if line == "" {
			continue
		}
		var r Record
		if err := json.Unmarshal([]byte(line), &r); err != nil {
			t.Fatalf("line %s: %v", line, err)
		}
		orig, _ := s.Get(r.ID)
		if !bytes.Equal(orig.Payload, r.Payload) {
			t.Fatalf("record %d payload %q; exported %q", r.ID, orig.Payload, r.Payload)
		}
	}
}

// pinNextAt replaces next_at values of nacked records (backoff with jitter).
func pinNextAt(t *testing.T, s string) string {
	var out []string
	for line := range strings.SplitSeq(s, "\n") {
		if strings.Contains(line, `"platform timeout"`) {
			var r Record
			if err := json.Unmarshal([]byte(line), &r); err != nil {
				t.Fatal(err)
			}
			d := r.NextAt.Sub(r.Attempts[0].At)
			if d < 500*time.Millisecond || d > time.Second {
				t.Fatalf("backoff %v; want within [0.5s, 1s]", d)
			}
			line = strings.Replace(line, r.NextAt.Format(time.RFC3339Nano), "NEXT_AT", 1)
		}
		out = append(out, line)
	}
	return strings.Join(out, "\n")
}

func TestBoltExtent(t *testing.T) {
	path := filepath.Join(t.TempDir(), "q.db")
	s := MustOpen(t, path, nil)
	mustEnqueue(t, s, "k", "x")
	s.Close()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := boltExtent(b, int64(len(b))); err != nil {
		t.Fatalf("boltExtent(good file) = %v", err)
	}
	if err := boltExtent(b, 4096*2); err == nil {
		t.Fatal("boltExtent(truncated to 2 pages) = nil; want an error")
	}
	if err := boltExtent([]byte("not bolt"), 8); err != nil {
		t.Fatalf("boltExtent(not bolt) = %v; want nil (bbolt reports it)", err)
	}
}

func FuzzBoltExtent(f *testing.F) {
	path := filepath.Join(f.TempDir(), "q.db")
	s, err := Open(path, nil)
	if err != nil {
		f.Fatal(err)
	}
	s.Close()
	b, _ := os.ReadFile(path)
	f.Add(b[:min(len(b), 8192+128)], int64(len(b)))
	f.Add([]byte{}, int64(0))
	f.Fuzz(func(t *testing.T, head []byte, size int64) {
		boltExtent(head, size) // must not panic
	})
}
