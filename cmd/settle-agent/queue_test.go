package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	settle "github.com/settle-agent/settle-agent"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/settle-agent/settle-agent/queue"
)

// mustQueueDir makes a data folder holding a store with three records: 1 done,
// 2 ready (same key as 1), 3 failed.
func mustQueueDir(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	s, err := queue.Open(filepath.Join(dir, storeFile), nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	for _, p := range []struct{ key, payload string }{
		{"visit-1", `{"psn_name":"张三","certno":"110101199001011234","amount":"12.50"}`},
		{"visit-1", `{"n":2}`},
		{"visit-2", `{"name":"李四"}`},
	} {
		if _, err := s.Enqueue(ctx, p.key, []byte(p.payload)); err != nil {
			t.Fatal(err)
		}
	}
	recs, err := s.Lease(ctx, 10)
	if err != nil || len(recs) != 2 {
		t.Fatalf("Lease = %d, %v", len(recs), err)
	}
	if err := s.Ack(ctx, 1); err != nil {
		t.Fatal(err)
	}
	if err := s.Fail(ctx, 3, "1101: not insured"); err != nil {
		t.Fatal(err)
	}
	s.Close()
	return dir
}

func runQueueCmd(t *testing.T, args ...string) (string, string, error) {
	t.Helper()
	var out, errOut bytes.Buffer
	env := &cmdEnv{stdout: &out, stderr: &errOut, getenv: func(string) string { return "" }}
	err := runQueue(context.Background(), env, args)
	return out.String(), errOut.String(), err
}

func TestRunQueue_File(t *testing.T) {
	dir := mustQueueDir(t)
	t.Run("Ls", func(t *testing.T) {
		out, _, err := runQueueCmd(t, "ls", "--store", dir, "--state", "failed")
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(out, "1101: not insured") || strings.Contains(out, "visit-1") {
			t.Fatalf("ls --state failed:\n%s", out)
		}
	})
	t.Run("ShowRedacts", func(t *testing.T) {
		out, _, err := runQueueCmd(t, "show", "1", "--store", dir)
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(out, "张三") || strings.Contains(out, "199001011234") || !strings.Contains(out, `"张*"`) {
			t.Fatalf("show 1 not redacted:\n%s", out)
		}
	})
	t.Run("ExportRedacts", func(t *testing.T) {
		out, _, err := runQueueCmd(t, "export", "--store", dir)
		if err != nil {
			t.Fatal(err)
		}
		lines := strings.Split(strings.TrimSpace(out), "\n")
		if len(lines) != 3 || strings.Contains(out, "李四") || strings.Contains(out, "110101199001011234") {
			t.Fatalf("export:\n%s", out)
		}
		out, _, _ = runQueueCmd(t, "export", "--unredacted", "--store", dir)
		if !strings.Contains(out, "110101199001011234") {
			t.Fatalf("export --unredacted masked:\n%s", out)
		}
	})
	t.Run("Retry", func(t *testing.T) {
		if _, _, err := runQueueCmd(t, "retry", "3", "--store", dir); err != nil {
			t.Fatal(err)
		}
		if _, _, err := runQueueCmd(t, "retry", "3", "--store", dir); !errors.Is(err, queue.ErrWrongState) {
			t.Fatalf("second retry = %v; want ErrWrongState", err)
		}
	})
	t.Run("Usage", func(t *testing.T) {
		for _, args := range [][]string{{}, {"nope"}, {"show", "--store", dir}, {"show", "x", "--store", dir}, {"ls"}, {"ls", "--state", "odd", "--store", dir}} {
			if _, _, err := runQueueCmd(t, args...); !errors.Is(err, errUsage) {
				t.Errorf("queue %q = %v; want a usage error", args, err)
			}
		}
	})
	t.Run("NoStore", func(t *testing.T) {
		_, _, err := runQueueCmd(t, "ls", "--store", t.TempDir())
		if err == nil || !strings.Contains(err.Error(), "no queue store") {
			t.Fatalf("ls of an empty folder = %v; want 'no queue store'", err)
		}
	})
	t.Run("Locked", func(t *testing.T) {
		s, err := queue.Open(filepath.Join(dir, storeFile), nil)
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		_, _, err = runQueueCmd(t, "ls", "--store", dir)
		if err == nil || !strings.Contains(err.Error(), "give --config FILE") {
			t.Fatalf("ls while the agent holds the store = %v; want the hint to use --config", err)
		}
	})
}

// fakeAdminAPI serves GET /v1/queue, GET /v1/queue/{id} and POST /v1/queue/{id}/retry
// from a real store, as the agent's admin API does.
func fakeAdminAPI(t *testing.T, s *queue.Store, token string) *httptest.Server {
	mux := http.NewServeMux()
	auth := func(h http.HandlerFunc) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			if r.Header.Get("Authorization") != "Bearer "+token {
				http.Error(w, `{"error":"bad token"}`, http.StatusUnauthorized)
				return
			}
			h(w, r)
		}
	}
	mux.HandleFunc("GET /v1/queue", auth(func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		after, _ := strconv.ParseUint(q.Get("after"), 10, 64)
		limit, _ := strconv.Atoi(q.Get("limit"))
		recs, err := s.List(queue.Filter{State: queue.State(q.Get("state")), Key: q.Get("key"), After: after, Limit: limit})
		if err != nil {
			http.Error(w, err.Error(), 500)
			return
		}
		json.NewEncoder(w).Encode(map[string]any{"records": recs})
	}))
	mux.HandleFunc("GET /v1/queue/{id}", auth(func(w http.ResponseWriter, r *http.Request) {
		id, _ := strconv.ParseUint(r.PathValue("id"), 10, 64)
		rec, err := s.Get(id)
		if err != nil {
			http.Error(w, `{"error":"no such record"}`, http.StatusNotFound)
			return
		}
		json.NewEncoder(w).Encode(rec)
	}))
	mux.HandleFunc("POST /v1/queue/{id}/retry", auth(func(w http.ResponseWriter, r *http.Request) {
		id, _ := strconv.ParseUint(r.PathValue("id"), 10, 64)
		if err := s.Retry(r.Context(), id); err != nil {
			http.Error(w, `{"error":"`+err.Error()+`"}`, http.StatusConflict)
			return
		}
		rec, _ := s.Get(id)
		json.NewEncoder(w).Encode(rec)
	}))
	srv := httptest.NewServer(mux) // listens on 127.0.0.1
	t.Cleanup(srv.Close)
	return srv
}

func TestRunQueue_API(t *testing.T) {
	dir := mustQueueDir(t)
	s, err := queue.Open(filepath.Join(dir, storeFile), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	srv := fakeAdminAPI(t, s, "secret")
	api := []string{"--api", srv.URL, "--token", "secret"}

	out, _, err := runQueueCmd(t, append([]string{"ls", "--json"}, api...)...)
	if err != nil {
		t.Fatal(err)
	}
	var list struct{ Records []*queue.Record }
	if err := json.Unmarshal([]byte(out), &list); err != nil || len(list.Records) != 3 {
		t.Fatalf("ls --json over the API = %s (%v); want 3 records", out, err)
	}
	out, _, err = runQueueCmd(t, append([]string{"show", "3"}, api...)...)
	if err != nil || !strings.Contains(out, `"failed"`) || strings.Contains(out, "李四") {
		t.Fatalf("show 3 over the API = %s, %v", out, err)
	}
	if _, _, err := runQueueCmd(t, append([]string{"retry", "3"}, api...)...); err != nil {
		t.Fatal(err)
	}
	if r, _ := s.Get(3); r.State != queue.StateReady {
		t.Fatalf("after retry over the API: state %s; want ready", r.State)
	}
	out, _, err = runQueueCmd(t, append([]string{"export"}, api...)...)
	if err != nil || strings.Count(out, "\n") != 3 || strings.Contains(out, "张三") {
		t.Fatalf("export over the API = %s, %v", out, err)
	}
	if _, _, err := runQueueCmd(t, append([]string{"show", "99"}, api...)...); !errors.Is(err, queue.ErrNotFound) {
		t.Fatalf("show 99 = %v; want ErrNotFound", err)
	}
	_, _, err = runQueueCmd(t, "ls", "--api", srv.URL, "--token", "wrong")
	if err == nil || !strings.Contains(err.Error(), "token") {
		t.Fatalf("wrong token = %v; want it to say so", err)
	}
}

func TestBenchQueue_JSON(t *testing.T) {
	var out bytes.Buffer
	env := &cmdEnv{stdout: &out, stderr: &out, getenv: func(string) string { return "" }}
	if err := benchQueue(context.Background(), env, []string{"--json", "--dir", t.TempDir(), "--records", "500"}); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	var got map[string]float64
	if err := json.Unmarshal([]byte(lines[len(lines)-1]), &got); err != nil {
		t.Fatalf("last line %q: %v", lines[len(lines)-1], err)
	}
	for _, k := range []string{"fsync_per_s", "enqueue_per_s", "enqueue_vs_fsync", "enqueue_p99_ms", "dequeue_ack_per_s", "records", "file_bytes"} {
		if got[k] <= 0 {
			t.Errorf("%s = %v; want > 0", k, got[k])
		}
	}
	if got["records"] != 500 {
		t.Errorf("records = %v; want 500", got["records"])
	}
}

// With --config, a running agent (the store locked) is asked through the API the
// configuration names, with its admin token from a file: no token on the command line.
func TestRunQueue_ConfigWhileAgentRuns(t *testing.T) {
	dir := mustQueueDir(t)
	s, err := queue.Open(filepath.Join(dir, storeFile), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	srv := fakeAdminAPI(t, s, "secret-from-file")
	conf := t.TempDir()
	if err := os.WriteFile(filepath.Join(conf, "admin.token"), []byte("secret-from-file\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	text := strings.Replace(minimalConfig(t, conf), `admin_token = "admin-token-0123456789"`, `admin_token = "file:admin.token"`, 1)
	text = strings.Replace(text, `listen = "127.0.0.1:8420"`, `listen = "`+srv.Listener.Addr().String()+`"`, 1)
	text = strings.Replace(text, `dir = "`+filepath.ToSlash(filepath.Join(conf, "store"))+`"`, `dir = "`+filepath.ToSlash(dir)+`"`, 1)
	path := filepath.Join(conf, "settle-agent.toml")
	if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	out, _, err := runQueueCmd(t, "ls", "--config", path)
	if err != nil {
		t.Fatalf("ls --config while the agent runs: %v", err)
	}
	if !strings.Contains(out, "1101: not insured") || !strings.Contains(out, "visit-2") {
		t.Errorf("ls --config over the API:\n%s", out)
	}
	t.Run("TokenFromFile", func(t *testing.T) {
		out, _, err := runQueueCmd(t, "ls", "--api", srv.URL, "--token", "file:"+filepath.Join(conf, "admin.token"))
		if err != nil || !strings.Contains(out, "visit-2") {
			t.Fatalf("ls --token file:...: %v\n%s", err, out)
		}
	})
}

// The table shows Beijing time, says so, in Chinese unless English is asked for, and
// a finished record's old failure is not its reason.
func TestPrintRecords_BeijingTime_DoneWithoutReason(t *testing.T) {
	at := time.Date(2026, 12, 1, 16, 30, 0, 0, time.UTC) // 00:30 the next day in Beijing
	recs := []*queue.Record{
		{ID: 1, Key: "MZ1", State: queue.StateDone, Reason: "connection refused", EnqueuedAt: at, DoneAt: at.Add(time.Minute)},
		{ID: 2, Key: "MZ2", State: queue.StateFailed, Reason: "参保人未备案", EnqueuedAt: at},
		{ID: 3, Key: "MZ3", State: queue.StateReady, EnqueuedAt: at, NextAt: at},
	}
	for lang, wants := range map[string][]string{
		"en": {"STATE", "2026-12-02 00:30:00 (Beijing time)", "done 2026-12-02 00:31:00 (Beijing time)", "参保人未备案", "failed"},
		"zh": {"状态", "2026-12-02 00:30:00 北京时间", "完成于 2026-12-02 00:31:00 北京时间", "参保人未备案", "失败", "待发送"},
	} {
		var b bytes.Buffer
		printRecords(&b, recs, lang)
		out := b.String()
		for _, want := range wants {
			if !strings.Contains(out, want) {
				t.Errorf("%s table lacks %q:\n%s", lang, want, out)
			}
		}
		if got := settle.StrayTimes(out); len(got) != 0 {
			t.Errorf("%s table says times %q; want each as settle.BeijingTime says it", lang, got)
		}
		if strings.Contains(out, "connection refused") {
			t.Errorf("a done record shows its old failure:\n%s", out)
		}
	}
}
