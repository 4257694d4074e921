package agent_test

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// checkAnswer asserts what every API answer must be, whatever the body: never a
// server error, always JSON, and every 4xx a JSON error with a code and a message.
func checkAnswer(t *testing.T, what string, rec *httptest.ResponseRecorder) {
	t.Helper()
	if rec.Code >= 500 {
		t.Fatalf("%s: got %d %s; want no server error", what, rec.Code, rec.Body.Bytes())
	}
	if ct := rec.Header().Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Fatalf("%s: got %d with Content-Type %q; want application/json", what, rec.Code, ct)
	}
	var m map[string]any
	if err := json.Unmarshal(rec.Body.Bytes(), &m); err != nil {
		t.Fatalf("%s: got %d and a body that is not a JSON object (%v): %q", what, rec.Code, err, rec.Body.Bytes())
	}
	if rec.Code >= 400 && (str(m, "error", "code") == "" || str(m, "error", "message") == "") {
		t.Fatalf("%s: got %d without error.code and error.message: %s", what, rec.Code, rec.Body.Bytes())
	}
}

// serve sends one request straight to the agent's handler.
func serve(h http.Handler, method, path, token string, body []byte) *httptest.ResponseRecorder {
	req := httptest.NewRequest(method, path, bytes.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "application/json")
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}

// FuzzCreateBill posts arbitrary bodies to POST /v1/bills. The agent (with the real
// simulator behind it) is built once per fuzz process.
func FuzzCreateBill(f *testing.F) {
	s := MustSystem(f, nil)
	h := s.Agent.Handler()
	good, err := json.Marshal(newBill(cardLocalEmployee))
	if err != nil {
		f.Fatal(err)
	}
	f.Add(good)
	f.Add(bytes.Replace(good, []byte(`"W01"`), []byte(`"W02"`), 1))
	f.Add(bytes.Replace(good, []byte(`"25.00"`), []byte(`"-25.00"`), 1))
	f.Add(bytes.Replace(good, []byte(`"25.00"`), []byte(`25.0`), 1))
	f.Add(bytes.Replace(good, []byte(`"ZL0001"`), []byte(`"NOSUCH"`), 1))
	f.Add(bytes.Replace(good, []byte(cardLocalEmployee), []byte(cardUnfiled), 1))
	f.Add([]byte(`{"bill_no":"MZ1","window":"W01","items":[{"line":1,"qty":"1e400","unit_price":"1","amount":"1"}],"total":"1"}`))
	f.Add([]byte(`{"bill_no":"","window":"W01","items":[],"total":"0"}`))
	f.Add([]byte(`{"bill_no":"MZ1","window":"W01","total":"99999999999999999999.99"}`))
	f.Add([]byte(`{"bill_no":"MZ\u0000/../x","window":"W01"}`))
	f.Add([]byte(`{"patient":{"mdtrt_cert_type":"02","mdtrt_cert_no":"` + strings.Repeat("9", 600) + `"}}`))
	f.Add([]byte(`{`))
	f.Add([]byte(`null`))
	f.Add([]byte(`[]`))
	f.Add([]byte(`{} {}`))
	f.Add([]byte(``))
	f.Fuzz(func(t *testing.T, body []byte) {
		checkAnswer(t, "POST /v1/bills", serve(h, "POST", "/v1/bills", tokW01, body))
	})
}

// FuzzLookup posts arbitrary bodies to POST /v1/persons/lookup.
func FuzzLookup(f *testing.F) {
	s := MustSystem(f, nil)
	h := s.Agent.Handler()
	for _, seed := range []string{
		`{"mdtrt_cert_type":"03","mdtrt_cert_no":"` + cardLocalEmployee + `"}`,
		`{"mdtrt_cert_type":"03","mdtrt_cert_no":"` + cardUnfiled + `","card_sn":"320100D156000005000004","psn_name":"刘芳"}`,
		`{"mdtrt_cert_type":"02","mdtrt_cert_no":"330102198005120011","psn_name":"张伟"}`,
		`{"mdtrt_cert_type":"01","mdtrt_cert_no":"EC330100000000000000000000000001"}`,
		`{"mdtrt_cert_type":"03","mdtrt_cert_no":"Z99999999"}`,
		`{"mdtrt_cert_type":"04","mdtrt_cert_no":"x"}`,
		`{"mdtrt_cert_type":"03","mdtrt_cert_no":"   "}`,
		`{"mdtrt_cert_type":3,"mdtrt_cert_no":null}`,
		`{"mdtrt_cert_type":"03","extra":1}`,
		`{"mdtrt_cert_type":"03","mdtrt_cert_no":"\ud800"}`,
		`{`, ``, `"03"`,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		checkAnswer(t, "POST /v1/persons/lookup", serve(h, "POST", "/v1/persons/lookup", tokW01, body))
	})
}
