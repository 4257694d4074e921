package agent_test

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/settle-agent/settle-agent/agent"
	"github.com/settle-agent/settle-agent/platform"
)

// A province that gives some services their own path ([platform.paths]) gets each
// infno on its path and every other one on the default path.
func TestAgent_PlatformPaths_PerInfno(t *testing.T) {
	_, simURL := MustSim(t)
	target, err := url.Parse(simURL)
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	seen := map[string]map[string]bool{} // infno -> paths
	proxy := httputil.NewSingleHostReverseProxy(target)
	rec := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		r.Body = io.NopCloser(strings.NewReader(string(body)))
		var env struct {
			Infno string `json:"infno"`
		}
		if json.Unmarshal(body, &env) == nil && env.Infno != "" {
			mu.Lock()
			if seen[env.Infno] == nil {
				seen[env.Infno] = map[string]bool{}
			}
			seen[env.Infno][r.URL.Path] = true
			mu.Unlock()
		}
		proxy.ServeHTTP(w, r)
	}))
	t.Cleanup(rec.Close)

	const settlePath = "/fsi/api/outpatientSettleService/saveSettletmentV2"
	const prePath = "/fsi/api/outpatientSettleService/preSettletment"
	s := &testSystem{tb: t, SimURL: rec.URL}
	s.Cfg = MustConfig(t, rec.URL, t.TempDir())
	s.Cfg.Platform.Paths = map[string]string{"2207": settlePath, "2206": prePath}
	if err := s.Cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	s.Start()
	t.Cleanup(s.Stop)

	b := newBill(cardLocalEmployee)
	if st, body := s.Do("POST", "/v1/bills", tokW01, b); st != 201 {
		t.Fatalf("POST /v1/bills: got %d %v; want 201", st, body)
	}
	if st, body := s.Do("POST", "/v1/bills/"+b.BillNo+"/settle", tokW01, map[string]string{"acct_used_flag": "1", "psn_setlway": "01"}); st != 200 {
		t.Fatalf("settle: got %d %v; want 200", st, body)
	}
	mu.Lock()
	defer mu.Unlock()
	for infno, want := range map[string]string{"2207": settlePath, "2206": prePath, "2201": "/fsi/api/rsfComIfsService/callService", "2204": "/fsi/api/rsfComIfsService/callService"} {
		if paths := seen[infno]; len(paths) != 1 || !paths[want] {
			t.Errorf("infno %s went to %v; want only %s", infno, paths, want)
		}
	}
}

// A province's own wording of a refusal ([platform.phrases]) is what the client
// recognises; a kind left out keeps the defaults, and [platform] file_in_array reaches
// the client too.
func TestPlatformOptions_PhrasesAndFileInArray(t *testing.T) {
	cfg := MustConfig(t, "http://127.0.0.1:1", t.TempDir())
	cfg.Platform.Phrases.OriginalNotFound = []string{"未找到该笔原始交易"}
	cfg.Platform.FileInArray = true
	po := agent.PlatformOptions(cfg)
	if !po.FileInArray {
		t.Errorf("FileInArray: got false; want true")
	}
	if got := po.Phrases.Kind(platform.InfnoReversal, "冲正失败：未找到该笔原始交易"); !errors.Is(got, platform.ErrOriginalNotFound) {
		t.Errorf("the configured wording: got %v; want ErrOriginalNotFound", got)
	}
	if po.Phrases.AlreadySettled != nil {
		// nil is what makes the client use DefaultPhrases for that kind.
		t.Errorf("a kind left out: got %v; want nil (the defaults)", po.Phrases.AlreadySettled)
	}
}
