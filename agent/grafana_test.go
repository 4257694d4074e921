package agent_test

import (
	"encoding/json"
	"io"
	"net/http"
	"os"
	"regexp"
	"sort"
	"strings"
	"testing"
)

// metricName is a metric a dashboard query names (ours, and the Go client's
// process_ and go_ families).
var metricName = regexp.MustCompile(`\b(?:settle_agent|process|go)_[a-z0-9_]+`)

// dashboardMetrics is every metric the panels of the Grafana dashboard at path query.
func dashboardMetrics(t *testing.T, path string) []string {
	t.Helper()
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var d struct {
		Panels []struct {
			Title   string `json:"title"`
			Targets []struct {
				Expr string `json:"expr"`
			} `json:"targets"`
		} `json:"panels"`
	}
	if err := json.Unmarshal(raw, &d); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	seen := map[string]bool{}
	for _, p := range d.Panels {
		if len(p.Targets) == 0 {
			t.Errorf("panel %q queries nothing", p.Title)
		}
		for _, tg := range p.Targets {
			names := metricName.FindAllString(tg.Expr, -1)
			if len(names) == 0 {
				t.Errorf("panel %q: query %q names no metric", p.Title, tg.Expr)
			}
			for _, n := range names {
				seen[n] = true
			}
		}
	}
	var out []string
	for n := range seen {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

// Every metric the shipped Grafana dashboard queries is served at /metrics by a
// real agent that has settled a bill (counters and histograms appear once used).
func TestGrafanaDashboard_QueriesOnlyServedMetrics(t *testing.T) {
	names := dashboardMetrics(t, "../examples/grafana/settle-agent.json")
	if len(names) < 10 {
		t.Fatalf("got %d metrics queried by the dashboard (%v); want at least 10", len(names), names)
	}
	s := MustSystem(t, nil)
	if st, body := s.Do("POST", "/v1/bills", tokW01, newBill(cardLocalEmployee)); st != 201 {
		t.Fatalf("POST /v1/bills: got %d %v; want 201", st, body)
	}
	resp, err := http.Get(s.URL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	served := map[string]bool{}
	for _, line := range strings.Split(string(raw), "\n") {
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		name, _, _ := strings.Cut(line, " ")
		name, _, _ = strings.Cut(name, "{")
		served[name] = true
	}
	for _, n := range names {
		if !served[n] {
			t.Errorf("dashboard queries %s; /metrics does not serve it", n)
		}
	}
}
