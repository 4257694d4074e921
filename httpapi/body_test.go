package httpapi

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	settle "github.com/settle-agent/settle-agent"
)

// bodyServer is the API's body handling on loopback: the limits middleware and
// decodeBody of a bill, as POST /v1/bills has them.
func bodyServer(t *testing.T, limit int64) *httptest.Server {
	t.Helper()
	s := &Server{o: Options{MaxBodyBytes: limit}, now: time.Now}
	srv := httptest.NewServer(s.limits(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var b settle.Bill
		if decodeBody(w, r, &b) {
			writeJSON(w, http.StatusCreated, map[string]string{"bill_no": b.BillNo})
		}
	})))
	t.Cleanup(srv.Close)
	return srv
}

// unsized hides a reader's length, so the client sends it chunked.
type unsized struct{ io.Reader }

// A plain HTTP client sending a body over the limit reads the 413 and its
// sentence, whether it announced the length or sent the body chunked.
func TestLimits_TooLarge_ClientReads413(t *testing.T) {
	const limit = 1 << 20
	srv := bodyServer(t, limit)
	big := bytes.Repeat([]byte("x"), 3<<20)
	for _, tt := range []struct {
		name string
		body io.Reader
	}{{"ContentLength", bytes.NewReader(big)}, {"Chunked", unsized{bytes.NewReader(big)}}} {
		t.Run(tt.name, func(t *testing.T) {
			resp, err := http.Post(srv.URL, "application/json", tt.body)
			if err != nil {
				t.Fatalf("POST 3 MiB: %v; want the 413 answer, not a reset", err)
			}
			defer resp.Body.Close()
			var e map[string]apiError
			if err := json.NewDecoder(resp.Body).Decode(&e); err != nil || resp.StatusCode != 413 {
				t.Fatalf("got %d %v (%v); want 413 with a JSON error", resp.StatusCode, e, err)
			}
			if msg := e["error"].Message; !strings.Contains(msg, "max_body_bytes") {
				t.Errorf("message %q; want it to name [api] max_body_bytes", msg)
			}
		})
	}
}

// A JSON number for money is refused naming the member and what to send instead, in
// the same answer as every other broken rule (here the missing window).
func TestDecodeBody_FloatMoney_NamesTheField(t *testing.T) {
	srv := bodyServer(t, 1<<20)
	body := `{"bill_no":"MZ1","items":[{"line":1,"his_code":"ZL0001","name":"x","qty":"1","unit_price":"25.00","amount":"25.00"},{"line":2,"his_code":"YP0001","name":"y","qty":"1","unit_price":"0.35","amount":0.35}],"total":"25.35"}`
	resp, err := http.Post(srv.URL, "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var e struct {
		Error struct {
			Code    string              `json:"code"`
			Message string              `json:"message"`
			Details []settle.FieldError `json:"details"`
		} `json:"error"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&e); err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != 422 || !strings.HasPrefix(e.Error.Message, "items[1].amount: ") || len(e.Error.Details) == 0 ||
		e.Error.Details[0].Field != "items[1].amount" || !strings.Contains(e.Error.Details[0].Reason, `send it as a string: "0.35"`) {
		t.Errorf("got %d %+v; want 422 naming items[1].amount and saying to send \"0.35\"", resp.StatusCode, e.Error)
	}
	named := map[string]bool{}
	for _, f := range e.Error.Details {
		named[f.Field] = true
	}
	if !named["window"] || named["total"] {
		t.Errorf("details %+v: want the missing window named too, and no sum judged on an unreadable amount", e.Error.Details)
	}
}
