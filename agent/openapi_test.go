package agent_test

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"
)

// openAPIDoc is the part of the OpenAPI document the tests look at.
type openAPIDoc struct {
	OpenAPI    string                                `json:"openapi"`
	Info       struct{ Title, Version string }       `json:"info"`
	Security   []map[string][]string                 `json:"security"`
	Paths      map[string]map[string]json.RawMessage `json:"paths"`
	Components struct {
		Schemas         map[string]json.RawMessage `json:"schemas"`
		SecuritySchemes map[string]json.RawMessage `json:"securitySchemes"`
	} `json:"components"`
}

// openAPIOp is one operation of the document.
type openAPIOp struct {
	OperationID string                     `json:"operationId"`
	Tags        []string                   `json:"tags"`
	Security    *[]map[string][]string     `json:"security"`
	Responses   map[string]json.RawMessage `json:"responses"`
	Parameters  []struct {
		Name string `json:"name"`
		In   string `json:"in"`
	} `json:"parameters"`
}

// httpMethods are the keys of an OpenAPI path item that are operations.
var httpMethods = []string{"get", "put", "post", "delete", "options", "head", "patch", "trace"}

func mustOpenAPI(t *testing.T) (*openAPIDoc, []byte) {
	t.Helper()
	raw, err := os.ReadFile("../httpapi/openapi.json")
	if err != nil {
		t.Fatal(err)
	}
	var doc openAPIDoc
	if err := json.Unmarshal(raw, &doc); err != nil {
		t.Fatalf("openapi.json is not valid JSON: %v", err)
	}
	return &doc, raw
}

// ops returns every operation as "METHOD /path" with its decoded body.
func (d *openAPIDoc) ops(t *testing.T) map[string]openAPIOp {
	t.Helper()
	out := map[string]openAPIOp{}
	for path, item := range d.Paths {
		for method, raw := range item {
			if !slices.Contains(httpMethods, method) {
				continue
			}
			var op openAPIOp
			if err := json.Unmarshal(raw, &op); err != nil {
				t.Fatalf("%s %s: %v", method, path, err)
			}
			out[strings.ToUpper(method)+" "+path] = op
		}
	}
	return out
}

// routePattern matches a route registration in routes() and debugRoutes():
// mux.Handle("GET /v1/bills", ...) or mux.HandleFunc("GET /healthz", ...).
var routePattern = regexp.MustCompile(`mux\.Handle(?:Func)?\("([A-Z]+) (/[^"]*)"`)

// registeredRoutes reads the route patterns from the source files that register them,
// so that a route added without documentation fails this test.
func registeredRoutes(t *testing.T) []string {
	t.Helper()
	var out []string
	for _, file := range []string{"api.go", "debug.go"} {
		src, err := os.ReadFile(filepath.Join("../httpapi", file))
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range routePattern.FindAllStringSubmatch(string(src), -1) {
			// "/{$}" is the exact root in ServeMux syntax; OpenAPI writes it "/".
			out = append(out, m[1]+" "+strings.TrimSuffix(m[2], "{$}"))
		}
	}
	if len(out) < 15 {
		t.Fatalf("found %d route registrations in api.go and debug.go; the pattern %s no longer matches how routes are registered", len(out), routePattern)
	}
	sort.Strings(out)
	return out
}

func TestOpenAPI_Valid(t *testing.T) {
	doc, raw := mustOpenAPI(t)
	if !strings.HasPrefix(doc.OpenAPI, "3.") {
		t.Errorf("openapi = %q; want 3.x", doc.OpenAPI)
	}
	if doc.Info.Title == "" || doc.Info.Version == "" {
		t.Errorf("info.title %q, info.version %q; want both", doc.Info.Title, doc.Info.Version)
	}
	if _, ok := doc.Components.SecuritySchemes["bearer"]; !ok || len(doc.Security) == 0 {
		t.Errorf("bearer security scheme missing or not the default")
	}
	t.Run("RefsResolve", func(t *testing.T) {
		refs := regexp.MustCompile(`"\$ref":\s*"([^"]*)"`).FindAllSubmatch(raw, -1)
		if len(refs) == 0 {
			t.Fatal("no $ref at all; the schemas are not used")
		}
		for _, m := range refs {
			name, ok := strings.CutPrefix(string(m[1]), "#/components/schemas/")
			if !ok {
				t.Errorf("$ref %s: only #/components/schemas/ references are used here", m[1])
				continue
			}
			if _, ok := doc.Components.Schemas[name]; !ok {
				t.Errorf("$ref %s: no such schema", m[1])
			}
		}
	})
	t.Run("Operations", func(t *testing.T) {
		ids := map[string]string{}
		pathParam := regexp.MustCompile(`\{([^}]+)\}`)
		for key, op := range doc.ops(t) {
			if op.OperationID == "" {
				t.Errorf("%s: no operationId", key)
			} else if other, dup := ids[op.OperationID]; dup {
				t.Errorf("%s: operationId %q already used by %s", key, op.OperationID, other)
			}
			ids[op.OperationID] = key
			if len(op.Responses) == 0 {
				t.Errorf("%s: no responses", key)
			}
			for code := range op.Responses {
				if len(code) != 3 || code[0] < '1' || code[0] > '5' {
					t.Errorf("%s: response %q is not an HTTP status", key, code)
				}
			}
			for _, m := range pathParam.FindAllStringSubmatch(key, -1) {
				found := false
				for _, p := range op.Parameters {
					found = found || (p.In == "path" && p.Name == m[1])
				}
				if !found {
					t.Errorf("%s: path parameter %s not declared", key, m[1])
				}
			}
		}
	})
}

func TestOpenAPI_ListsEveryRoute(t *testing.T) {
	doc, _ := mustOpenAPI(t)
	routes := registeredRoutes(t)
	ops := doc.ops(t)
	for _, r := range routes {
		if _, ok := ops[r]; !ok {
			t.Errorf("route %s is registered in routes() but not documented: add it to httpapi/openapi.json paths and to docs/api.md", r)
		}
	}
	for key := range ops {
		if !slices.Contains(routes, key) {
			t.Errorf("openapi.json documents %s, which routes() does not register", key)
		}
	}
	t.Run("DocsAPI", func(t *testing.T) {
		md, err := os.ReadFile("../docs/api.md")
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range routes {
			if strings.HasPrefix(r, "GET /debug/pprof/") {
				r = "GET /debug/pprof/" // documented together
			}
			if !bytes.Contains(md, []byte(r)) {
				t.Errorf("docs/api.md does not mention %s", r)
			}
		}
	})
}

// errorCodePattern finds the codes the API answers with: errorBody("code", ...) and
// the bill's own error codes (rec.ErrCode = "code").
var errorCodePattern = regexp.MustCompile(`(?:errorBody\(|ErrCode(?:, rec\.ErrMsg)? = |Code: )"([a-z_]+)"`)

func TestOpenAPI_ErrorCodes(t *testing.T) {
	doc, _ := mustOpenAPI(t)
	var schema struct {
		Enum []string `json:"enum"`
	}
	if err := json.Unmarshal(doc.Components.Schemas["ErrorCode"], &schema); err != nil || len(schema.Enum) == 0 {
		t.Fatalf("components.schemas.ErrorCode has no enum (%v)", err)
	}
	var all bytes.Buffer
	for _, dir := range []string{"../httpapi", "../workflow"} {
		files, err := os.ReadDir(dir)
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range files {
			if !strings.HasSuffix(f.Name(), ".go") || strings.HasSuffix(f.Name(), "_test.go") {
				continue
			}
			src, err := os.ReadFile(filepath.Join(dir, f.Name()))
			if err != nil {
				t.Fatal(err)
			}
			all.Write(src)
		}
	}
	used := map[string]bool{}
	for _, m := range errorCodePattern.FindAllSubmatch(all.Bytes(), -1) {
		used[string(m[1])] = true
	}
	// settleBill answers "bill_"+state for a cancelled or dead bill.
	if !bytes.Contains(all.Bytes(), []byte(`Code: "bill_" + string(rec.State)`)) {
		t.Errorf("settleBill no longer answers bill_<state>; update this test and the ErrorCode enum")
	}
	delete(used, "bill_")
	used["bill_cancelled"], used["bill_dead"] = true, true
	if len(used) < 10 {
		t.Fatalf("found only %d error codes in the source; the pattern %s no longer matches", len(used), errorCodePattern)
	}
	for code := range used {
		if code == "dead" || code == "not_qualified" || code == "offline_refused" || code == "platform_refused" {
			// Bill error codes (Bill.error.code) are documented in BillError as well.
			continue
		}
		if !slices.Contains(schema.Enum, code) {
			t.Errorf("error code %q is answered by the agent but not documented: add it to components.schemas.ErrorCode in httpapi/openapi.json and to the error table of docs/api.md", code)
		}
	}
	for _, code := range schema.Enum {
		if !used[code] {
			t.Errorf("ErrorCode %q is documented but the agent never answers it", code)
		}
	}
}

// TestOpenAPI_Served checks the document the agent serves, and that what it says about
// tokens is what the running router does.
func TestOpenAPI_Served(t *testing.T) {
	s := MustSystem(t, nil)
	doc, raw := mustOpenAPI(t)
	resp, err := client.Get(s.URL + "/v1/openapi.json")
	if err != nil {
		t.Fatal(err)
	}
	served, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !bytes.Equal(served, raw) {
		t.Fatalf("GET /v1/openapi.json: status %d, %d bytes; want 200 and the %d bytes of openapi.json", resp.StatusCode, len(served), len(raw))
	}
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Errorf("Content-Type %q; want application/json", ct)
	}
	fill := strings.NewReplacer("{window}", "W01", "{bill_no}", "MZNOSUCHBILL", "{id}", "999999", "{ipt_no}", "ZYNOSUCHSTAY", "{batch_no}", "B1")
	for key, op := range doc.ops(t) {
		method, path, _ := strings.Cut(key, " ")
		if strings.HasPrefix(path, "/debug/pprof/") && path != "/debug/pprof/" {
			// The profile and trace handlers would run for their default 30 s and 1 s.
			continue
		}
		open := op.Security != nil && len(*op.Security) == 0
		adminOnly := slices.Contains(op.Tags, "admin") || slices.Contains(op.Tags, "debug")
		t.Run(key, func(t *testing.T) {
			url := s.URL + fill.Replace(path)
			if strings.Contains(path, "/card") {
				url += "?wait=0s"
			}
			st := status(t, method, url, "")
			switch {
			case open && st == http.StatusUnauthorized:
				t.Errorf("without a token: got 401; the document says no token is needed")
			case !open && st != http.StatusUnauthorized:
				t.Errorf("without a token: got %d; want 401 (the document says a token is needed)", st)
			}
			if adminOnly {
				if st := status(t, method, url, tokW01); st != http.StatusForbidden {
					t.Errorf("with a window token: got %d; want 403 (documented as admin only)", st)
				}
			}
			if _, ok := op.Responses["401"]; !open && !ok {
				t.Errorf("needs a token but documents no 401 answer")
			}
		})
	}
}

func status(t *testing.T, method, url, token string) int {
	t.Helper()
	req, err := http.NewRequest(method, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode
}
