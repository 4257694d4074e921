package adminclient

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/settle-agent/settle-agent/queue"
)

const token = "admin-token"

// agentAPI is an HTTP server on loopback answering as the agent's admin API does:
// the error body {"error":{"code","message"}}, reports with 422, 409 for a sync
// running, and a proxy's plain-text 502.
func agentAPI(t *testing.T) *httptest.Server {
	t.Helper()
	mux := http.NewServeMux()
	fail := func(w http.ResponseWriter, status int, code, msg string) {
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
		w.WriteHeader(status)
		fmt.Fprintf(w, `{"error":{"code":%q,"message":%q}}`+"\n", code, msg)
	}
	mux.HandleFunc("GET /v1/queue/{id}", func(w http.ResponseWriter, r *http.Request) {
		if r.PathValue("id") != "7" {
			fail(w, http.StatusNotFound, "not_found", "queue record "+r.PathValue("id")+": not found")
			return
		}
		fmt.Fprintln(w, `{"ID":7,"Key":"B1","State":"dead"}`)
	})
	mux.HandleFunc("POST /v1/queue/{id}/retry", func(w http.ResponseWriter, r *http.Request) {
		fail(w, http.StatusConflict, "wrong_state", "queue record 7 is done, not failed or dead")
	})
	mux.HandleFunc("GET /v1/queue", func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Query().Get("state") != "dead" || r.URL.Query().Get("limit") != "5" {
			fail(w, http.StatusBadRequest, "bad_request", "unexpected query "+r.URL.RawQuery)
			return
		}
		fmt.Fprintln(w, `{"records":[{"ID":7,"Key":"B1","State":"dead"}]}`)
	})
	mux.HandleFunc("POST /v1/catalogue/sync", func(w http.ResponseWriter, r *http.Request) {
		fail(w, http.StatusConflict, "sync_running", "a catalogue sync is running: follow it with GET /v1/catalogue")
	})
	mux.HandleFunc("POST /v1/mapping/check", func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusUnprocessableEntity)
		fmt.Fprintln(w, `{"file_problems":[{"line":2,"problem":"no national code"}]}`)
	})
	mux.HandleFunc("POST /v1/mapping/upload", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain")
		w.WriteHeader(http.StatusBadGateway)
		fmt.Fprintln(w, "upstream connect error")
	})
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		fail(w, http.StatusNotFound, "not_found", "no such endpoint; see /v1/openapi.json")
	})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer "+token {
			fail(w, http.StatusUnauthorized, "unauthorized", "unknown token: check the window's token in the configuration")
			return
		}
		mux.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	return srv
}

// A record is decoded; a record the agent lacks is queue.ErrNotFound and says the
// agent's own sentence, not its raw JSON.
func TestClient_QueueRecord_NotFoundSaysAgentsMessage(t *testing.T) {
	c := New(agentAPI(t).URL, token, Options{})
	r, err := c.QueueRecord(context.Background(), 7)
	if err != nil || r.ID != 7 || r.State != queue.StateDead {
		t.Fatalf("record 7: got %+v, %v; want record 7 dead", r, err)
	}
	_, err = c.QueueRecord(context.Background(), 9)
	if !errors.Is(err, queue.ErrNotFound) || !errors.Is(err, ErrNotFound) {
		t.Errorf("record 9: got %v; want queue.ErrNotFound and ErrNotFound", err)
	}
	if err == nil || !strings.Contains(err.Error(), "HTTP 404 not_found: queue record 9: not found") || strings.Contains(err.Error(), "{") {
		t.Errorf("record 9: got %q; want the code and message, no JSON", err)
	}
}

// An error body's code and message reach the caller as an *Error.
func TestClient_ErrorBodyDecoded(t *testing.T) {
	c := New(agentAPI(t).URL, token, Options{})
	_, err := c.RetryQueueRecord(context.Background(), 7)
	var e *Error
	if !errors.As(err, &e) || e.Status != http.StatusConflict || e.Code != "wrong_state" || e.Message != "queue record 7 is done, not failed or dead" {
		t.Fatalf("got %#v; want 409 wrong_state with the agent's message", err)
	}
	recs, err := c.Queue(context.Background(), queue.Filter{State: queue.StateDead, Limit: 5})
	if err != nil || len(recs) != 1 || recs[0].Key != "B1" {
		t.Errorf("list: got %v, %v; want the one dead record", recs, err)
	}
}

// A wrong token is ErrUnauthorized.
func TestClient_WrongToken_ErrUnauthorized(t *testing.T) {
	c := New(agentAPI(t).URL, "wrong", Options{})
	if _, err := c.CatalogueStatus(context.Background()); !errors.Is(err, ErrUnauthorized) {
		t.Errorf("got %v; want ErrUnauthorized", err)
	}
}

// A sync already running is joined, not an error.
func TestClient_StartCatalogueSync_RunningIsJoined(t *testing.T) {
	c := New(agentAPI(t).URL, token, Options{})
	running, err := c.StartCatalogueSync(context.Background())
	if err != nil || !running {
		t.Errorf("got running %v, %v; want running true, no error", running, err)
	}
}

// A refused mapping check answers its report (422), not an error.
func TestClient_CheckMapping_RefusedIsReport(t *testing.T) {
	c := New(agentAPI(t).URL, token, Options{})
	rep, err := c.CheckMapping(context.Background(), []byte("a,b\n"))
	if err != nil || rep == nil || rep.OK() {
		t.Errorf("got %+v, %v; want a report that is not OK", rep, err)
	}
}

// An answer that is not the agent's error body (a proxy's) is quoted as text; an
// endpoint an older agent lacks says so.
func TestClient_NonJSONAndMissingEndpoint(t *testing.T) {
	c := New(agentAPI(t).URL, token, Options{})
	_, err := c.UploadMapping(context.Background(), false)
	if err == nil || !strings.Contains(err.Error(), "HTTP 502: upstream connect error") {
		t.Errorf("proxy 502: got %v; want the body quoted", err)
	}
	_, err = c.do(context.Background(), http.MethodGet, "/v1/nothing", "", nil, nil)
	if !errors.Is(err, ErrNotFound) || !strings.Contains(err.Error(), "older version") {
		t.Errorf("missing endpoint: got %v; want ErrNotFound saying the agent is older", err)
	}
}
