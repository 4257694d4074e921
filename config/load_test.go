package config

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/settle-agent/settle-agent/internal/golden"

	"github.com/settle-agent/settle-agent"
)

func TestParse_Valid(t *testing.T) {
	c := mustParse(t, validTOML, nil)
	if got, want := len(c.Windows), 2; got != want {
		t.Fatalf("windows: got %d; want %d", got, want)
	}
	r := c.Windows[0].Reader
	if r == nil {
		t.Fatal("window W01 reader: got nil; want the inline table")
	}
	want := Port{Port: "/dev/ttyUSB0", Baud: 9600, DataBits: 8, Parity: "N", StopBits: 1, Protocol: "frame", ReadTimeout: Duration{500 * time.Millisecond}}
	if *r != want {
		t.Errorf("reader: got %+v; want %+v", *r, want)
	}
	if c.Windows[1].Reader != nil || c.Windows[1].Scanner != nil {
		t.Errorf("window W02 devices: got %v %v; want none", c.Windows[1].Reader, c.Windows[1].Scanner)
	}
	if got, want := c.Offline.Policy, "full"; got != want {
		t.Errorf("offline.policy default: got %q; want %q", got, want)
	}
	if got, want := c.Offline.MaxBillAmount, settle.MustMoney("2000.00"); got != want {
		t.Errorf("offline.max_bill_amount default: got %v; want %v", got, want)
	}
	if got, want := c.Platform.Timeout.Duration, 3*time.Second; got != want {
		t.Errorf("platform.timeout default: got %v; want %v", got, want)
	}
	if got, want := c.Hospital.MsgidNode, -1; got != want {
		t.Errorf("hospital.msgid_node default: got %d; want %d", got, want)
	}
}

// TestParse_CLIExample parses cli.md's configuration block as written there, with its
// secret files in a temporary folder.
func TestParse_CLIExample(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, dir, "admin.token", "admin-secret-1\n", 0o600)
	writeFile(t, dir, "w01.token", "window-secret-1\r\n", 0o600)
	writeFile(t, dir, "mapping.csv", "his_code,med_list_codg,medins_list_codg,name,valid_from,valid_to\n", 0o600)
	data, err := os.ReadFile(filepath.Join("testdata", "cli.toml"))
	if err != nil {
		t.Fatal(err)
	}
	text := strings.ReplaceAll(string(data), "/etc/settle-agent", filepath.ToSlash(dir))
	path := writeFile(t, dir, "settle-agent.toml", text, 0o600)
	c, err := Load(path, envMap(map[string]string{"SETTLE_AGENT_PLATFORM_TOKEN": "platform-secret-1"}))
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	checks := []struct{ name, got, want string }{
		{"path", c.Path, path},
		{"hospital.fixmedins_code", c.Hospital.FixmedinsCode, "H33010200001"},
		{"platform.base_url", c.Platform.BaseURL, "https://10.1.2.3:8080"},
		{"platform.token", c.Platform.Token.Value(), "platform-secret-1"},
		{"platform.token ref", c.Platform.Token.Ref(), "env:SETTLE_AGENT_PLATFORM_TOKEN"},
		{"api.admin_token", c.API.AdminToken.Value(), "admin-secret-1"},
		{"window[0].token", c.Windows[0].Token.Value(), "window-secret-1"},
		{"window[0].reader.port", c.Windows[0].Reader.Port, "/dev/ttyUSB0"},
		{"window[0].scanner.protocol", c.Windows[0].Scanner.Protocol, "line"},
		{"offline.max_outstanding_amount", c.Offline.MaxOutstandingAmount.String(), "50000.00"},
		{"offline.retry_horizon", c.Offline.RetryHorizon.String(), "168h0m0s"},
		{"mapping.file", c.Mapping.File, filepath.ToSlash(dir) + "/mapping.csv"},
	}
	for _, ch := range checks {
		if ch.got != ch.want {
			t.Errorf("%s: got %q; want %q", ch.name, ch.got, ch.want)
		}
	}
}

func TestParse_UnknownKey(t *testing.T) {
	data := "[hospital]\nfixmedins_code = \"H33010200001\"\n\n[platform]\ntiemout = \"3s\"\n\n[[window]]\nid = \"W01\"\ntokn = \"x\"\n[bogus]\na = 1\n"
	_, err := Parse([]byte(data), "settle-agent.toml", nil)
	if !errors.Is(err, ErrUnknownKey) || !errors.Is(err, settle.ErrInvalid) {
		t.Fatalf("got %v; want ErrUnknownKey and settle.ErrInvalid", err)
	}
	for _, want := range []string{
		"settle-agent.toml:5:1: unknown key platform.tiemout (did you mean platform.timeout?)",
		"settle-agent.toml:9:1: unknown key window[0].tokn (did you mean window[0].token?)",
		"settle-agent.toml:10:2: unknown key bogus",
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q\ndoes not contain %q", err, want)
		}
	}
	// The rest is still validated, in the same error.
	if _, ok := findProblem(problemsOf(t, err), "platform.base_url"); !ok {
		t.Errorf("problems %s: want platform.base_url too", fields(problemsOf(t, err)))
	}
}

func TestParse_DecodeErrors(t *testing.T) {
	tests := []struct {
		name, data, want string
	}{
		{"Syntax", "[platform\n", "settle-agent.toml:1:"},
		{"BadDuration", "[platform]\n\ntimeout = \"3x\"\n", `settle-agent.toml:3:11: platform.timeout: "3x" is not a duration`},
		{"DurationNumber", "[offline]\ndeadline = 3\n", `settle-agent.toml:2:1: offline.deadline = "3": write a duration as a string`},
		{"SecretNumber", "[api]\nadmin_token = 1234\n", `settle-agent.toml:2:1: api.admin_token = "<redacted>": write a secret as a string`},
		{"WrongTypeInline", "[[window]]\nid = \"W01\"\nreader = { port = \"COM3\", baud = \"fast\" }\n", "settle-agent.toml:3:34: window[0].reader.baud: must be a whole number, without quotes, not a TOML string"},
		{"WrongTypeTable", "[[window]]\nid = \"W01\"\n[window.reader]\nport = \"COM3\"\nbaud = \"fast\"\n", "settle-agent.toml:5:8: window[0].reader.baud: must be a whole number"},
		{"StringForNumber", "[api]\nrate_limit = \"50\"\n", "settle-agent.toml:2:14: api.rate_limit: must be a number, without quotes, not a TOML string"},
		{"NumberForString", "[api]\nlisten = 8420\n", "settle-agent.toml:2:10: api.listen: must be a string in quotes, not a TOML integer"},
		{"NotAList", "window = 5\n", "settle-agent.toml:1:10: window: must be a list [ ... ], not a TOML integer"},
		{"MoneyNumber", "[offline]\nmax_bill_amount = 2000\n", `settle-agent.toml:2:1: offline.max_bill_amount = "2000": write money as a decimal string`},
		{"MoneyBad", "[offline]\nmax_bill_amount = \"20.001\"\n", "settle-agent.toml:2:"},
		{"Duplicate", "[api]\nlisten = \"127.0.0.1:1\"\nlisten = \"127.0.0.1:2\"\n", "settle-agent.toml:3:"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse([]byte(tt.data), "settle-agent.toml", nil)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("got %v; want an error containing %q", err, tt.want)
			}
			if !errors.Is(err, settle.ErrInvalid) {
				t.Errorf("errors.Is(err, settle.ErrInvalid): got false; want true")
			}
		})
	}
}

func TestParse_WindowForms(t *testing.T) {
	tests := []struct{ name, data string }{
		{"SubTable", "[[window]]\nid = \"W01\"\ntoken = \"t1\"\n[window.reader]\nport = \"COM3\"\nbaud = 115200\n"},
		{"DottedKeys", "[[window]]\nid = \"W01\"\ntoken = \"t1\"\nreader.port = \"COM3\"\nreader.baud = 115200\n"},
		{"InlineArray", "window = [{ id = \"W01\", token = \"t1\", reader = { port = \"COM3\", baud = 115200 } }]\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := Parse([]byte(tt.data), "x.toml", nil)
			ps := problemsOf(t, err) // hospital and platform are missing
			for _, p := range ps {
				if strings.HasPrefix(p.Field, "window") {
					t.Errorf("unexpected problem %v", p)
				}
			}
			if len(c.Windows) != 1 || c.Windows[0].Reader == nil {
				t.Fatalf("windows: got %+v; want one with a reader", c.Windows)
			}
			if got := *c.Windows[0].Reader; got.Port != "COM3" || got.Baud != 115200 || got.Protocol != "frame" {
				t.Errorf("reader: got %+v; want COM3 at 115200, protocol frame", got)
			}
		})
	}
}

func TestParse_NoWindowsMeansDefaultWindow(t *testing.T) {
	data := strings.Split(validTOML, "[[window]]")[0]
	_, err := Parse([]byte(data), "x.toml", nil)
	ps := problemsOf(t, err)
	p, ok := findProblem(ps, "window[0].token")
	if !ok || len(ps) != 1 {
		t.Fatalf("problems: got %s; want only window[0].token (the default W01 needs a token)", fields(ps))
	}
	if !strings.Contains(p.Reason, "required") {
		t.Errorf("reason: got %q; want it to say the token is required", p.Reason)
	}
}

func TestLoad_Errors(t *testing.T) {
	t.Run("Missing", func(t *testing.T) {
		_, err := Load(filepath.Join(t.TempDir(), "nope.toml"), nil)
		if !errors.Is(err, os.ErrNotExist) {
			t.Errorf("got %v; want os.ErrNotExist", err)
		}
	})
	t.Run("TooLarge", func(t *testing.T) {
		p := writeFile(t, t.TempDir(), "big.toml", strings.Repeat("#\n", MaxFileBytes), 0o600)
		if _, err := Load(p, nil); err == nil || !strings.Contains(err.Error(), "larger than") {
			t.Errorf("got %v; want a too-large error", err)
		}
	})
	t.Run("ProblemsNameTheFile", func(t *testing.T) {
		p := writeFile(t, t.TempDir(), "settle-agent.toml", "[platform]\ntiemout = \"1s\"\n", 0o600)
		_, err := Load(p, nil)
		if want := p + ":2:1: unknown key platform.tiemout"; err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("got %v; want it to contain %q", err, want)
		}
	})
}

func TestExample_Parses(t *testing.T) {
	env := map[string]string{
		"SETTLE_AGENT_PLATFORM_TOKEN": "p-secret",
		"SETTLE_AGENT_ADMIN_TOKEN":    "a-secret",
		"SETTLE_AGENT_W01_TOKEN":      "w-secret",
	}
	c := mustParse(t, Example(), env)
	if got, want := c.Windows[0].Token.Ref(), "env:SETTLE_AGENT_W01_TOKEN"; got != want {
		t.Errorf("window token ref: got %q; want %q", got, want)
	}
	// Uncommenting every commented-out default keeps it valid: the comments are true.
	var lines []string
	for _, l := range strings.Split(Example(), "\n") {
		if m := strings.TrimPrefix(l, "# "); m != l && (strings.HasPrefix(m, "[") || strings.Contains(m, " = ")) && !strings.HasPrefix(m, "Port keys") && !strings.HasPrefix(m, "protocol =") && !strings.HasPrefix(m, "e.g. ") && !strings.HasPrefix(m, "[[window]]") {
			l = m
		}
		lines = append(lines, l)
	}
	all := strings.Join(lines, "\n")
	all = strings.Replace(all, `key = "file:/etc/settle-agent/store.key"`, `key = "env:STORE_KEY"`, 1)
	all = strings.Replace(all, `scanner = { port = "/dev/ttyACM0"`, `scanner = { port = "/dev/ttyACM9"`, 1)
	env["STORE_KEY"] = "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY="
	full := mustParse(t, all, env)
	if d := Default(); full.Sync != d.Sync || full.Log != d.Log || fmt.Sprint(full.HL7) != fmt.Sprint(d.HL7) || fmt.Sprint(full.DropFolder) != fmt.Sprint(d.DropFolder) { // Sprint: an empty list is nil
		t.Errorf("commented defaults differ from Default():\n got %+v %+v %+v %+v\nwant %+v %+v %+v %+v",
			full.Sync, full.Log, full.HL7, full.DropFolder, d.Sync, d.Log, d.HL7, d.DropFolder)
	}
	// Every key the configuration has is in the example, set or commented.
	for _, k := range knownKeys() {
		name := k[strings.LastIndex(k, ".")+1:]
		if k == name || k == "window.reader" || k == "window.scanner" {
			continue
		}
		if !strings.Contains(Example(), name+" = ") && !strings.Contains(Example(), name+",") {
			t.Errorf("example lacks key %s", k)
		}
	}
}

func TestExample_Golden(t *testing.T) {
	got := strings.NewReplacer(DefaultDataDir(), "{{DATA}}", DefaultPath(), "{{CONF}}", DefaultReaderPort(), "{{READER}}").Replace(Example())
	goldenFile(t, "example.golden", got)
}

// goldenFile compares got with testdata/name, rewriting it with -update.
func goldenFile(t *testing.T, name, got string) {
	t.Helper()
	golden.Check(t, filepath.Join("testdata", name), []byte(got))
}

func TestParse_ManyUnknownKeys(t *testing.T) {
	var b strings.Builder
	b.WriteString("[platform]\n")
	for i := range 30 {
		fmt.Fprintf(&b, "k%d = 1\n", i)
	}
	_, err := Parse([]byte(b.String()), "x.toml", nil)
	ps := problemsOf(t, err)
	if len(ps) != maxUnknownKeys+1 {
		t.Fatalf("problems: got %d; want %d unknown keys and a summary", len(ps), maxUnknownKeys+1)
	}
	if got, want := ps[0].String(), "line:2:1: unknown key platform.k0"; got != want {
		t.Errorf("first: got %q; want %q", got, want)
	}
	if got, want := ps[len(ps)-1].Reason, "and 10 more unknown keys"; !strings.HasPrefix(got, want) {
		t.Errorf("last: got %q; want it to start with %q", got, want)
	}
}

// A type error stops the decode, but the unknown keys elsewhere in the file are still
// named (with their lines), so IT fixes them in one edit rather than one per run.
func TestParse_TypeError_StillNamesUnknownKeys(t *testing.T) {
	data := validTOML + "\n[offline]\ndeadline = 3\n\n[dropfolder]\npathh = \"/x\"\n"
	_, err := Parse([]byte(data), "s.toml", nil)
	ps := problemsOf(t, err)
	if _, ok := findProblem(ps, "offline.deadline"); !ok {
		t.Errorf("problems %v; want offline.deadline's type error", ps)
	}
	p, ok := findProblem(ps, "dropfolder.pathh")
	if !ok || p.Line == 0 {
		t.Errorf("problems %v; want the unknown key dropfolder.pathh with its line", ps)
	}
}
