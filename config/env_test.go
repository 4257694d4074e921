package config

import (
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/settle-agent/settle-agent"
)

func TestEnv_Overrides(t *testing.T) {
	env := map[string]string{
		"SETTLE_AGENT_PLATFORM_BASE_URL":             "http://127.0.0.1:9999",
		"SETTLE_AGENT_PLATFORM_TIMEOUT":              "7s",
		"SETTLE_AGENT_PLATFORM_INSECURE_SKIP_VERIFY": "true",
		"SETTLE_AGENT_API_LISTEN":                    "127.0.0.1:0",
		"SETTLE_AGENT_API_RATE_LIMIT":                "12.5",
		"SETTLE_AGENT_API_MAX_BODY_BYTES":            "4096",
		"SETTLE_AGENT_OFFLINE_POLICY":                "refuse",
		"SETTLE_AGENT_OFFLINE_MAX_BILL_AMOUNT":       "100.50",
		"SETTLE_AGENT_STORE_DIR":                     "/srv/data",
		"SETTLE_AGENT_HOSPITAL_MSGID_NODE":           "3",
		"SETTLE_AGENT_API_ADMIN_TOKEN":               "admin-from-env",
		"SETTLE_AGENT_SYNC_CONCURRENCY":              "",
	}
	c := mustParse(t, validTOML, env)
	checks := []struct {
		name string
		got  any
		want any
	}{
		{"platform.base_url", c.Platform.BaseURL, "http://127.0.0.1:9999"},
		{"platform.timeout", c.Platform.Timeout.Duration, 7 * time.Second},
		{"platform.insecure_skip_verify", c.Platform.InsecureSkipVerify, true},
		{"api.listen", c.API.Listen, "127.0.0.1:0"},
		{"api.rate_limit", c.API.RateLimit, 12.5},
		{"api.max_body_bytes", c.API.MaxBodyBytes, int64(4096)},
		{"offline.policy", c.Offline.Policy, "refuse"},
		{"offline.max_bill_amount", c.Offline.MaxBillAmount, settle.MustMoney("100.50")},
		{"store.dir", c.Store.Dir, "/srv/data"},
		{"hospital.msgid_node", c.Hospital.MsgidNode, 3},
		{"api.admin_token", c.API.AdminToken.Value(), "admin-from-env"},
		{"api.admin_token ref", c.API.AdminToken.Ref(), "env:SETTLE_AGENT_API_ADMIN_TOKEN"},
		{"sync.concurrency (empty variable: unset)", c.Sync.Concurrency, 8},
	}
	for _, ch := range checks {
		if ch.got != ch.want {
			t.Errorf("%s: got %v; want %v", ch.name, ch.got, ch.want)
		}
	}
}

func TestEnv_BadValueNamesTheVariable(t *testing.T) {
	tests := []struct{ env, value, want string }{
		{"SETTLE_AGENT_PLATFORM_TIMEOUT", "soon", `SETTLE_AGENT_PLATFORM_TIMEOUT: platform.timeout = "soon": "soon" is not a duration`},
		{"SETTLE_AGENT_API_RATE_LIMIT", "fast", `SETTLE_AGENT_API_RATE_LIMIT: api.rate_limit = "fast": must be a number`},
		{"SETTLE_AGENT_SYNC_CONCURRENCY", "1.5", `SETTLE_AGENT_SYNC_CONCURRENCY: sync.concurrency = "1.5": must be a whole number`},
		{"SETTLE_AGENT_PLATFORM_INSECURE_SKIP_VERIFY", "maybe", `SETTLE_AGENT_PLATFORM_INSECURE_SKIP_VERIFY: platform.insecure_skip_verify = "maybe": must be true or false`},
		{"SETTLE_AGENT_OFFLINE_MAX_BILL_AMOUNT", "1.234", `SETTLE_AGENT_OFFLINE_MAX_BILL_AMOUNT: offline.max_bill_amount = "1.234"`},
		// Valid syntax, broken rule: Validate names the variable, not the file.
		{"SETTLE_AGENT_OFFLINE_POLICY", "sometimes", `SETTLE_AGENT_OFFLINE_POLICY: offline.policy = "sometimes": must be full, estimate or refuse`},
		{"SETTLE_AGENT_API_LISTEN", "nowhere", `SETTLE_AGENT_API_LISTEN: api.listen = "nowhere": must be host:port`},
	}
	for _, tt := range tests {
		t.Run(tt.env, func(t *testing.T) {
			_, err := Parse([]byte(validTOML), "s.toml", envMap(map[string]string{tt.env: tt.value}))
			ps := problemsOf(t, err)
			if len(ps) != 1 || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("got %v; want one problem containing %q", err, tt.want)
			}
		})
	}
}

// TestEnv_EveryScalarKey sets every overridable key through its variable and checks
// that it landed, so a new key cannot be forgotten.
func TestEnv_EveryScalarKey(t *testing.T) {
	fs := Default().envFields()
	want := 0
	for _, k := range knownKeys() {
		if strings.Count(k, ".") == 1 && !strings.HasPrefix(k, "window.") && k != "store.old_keys" && k != "platform.paths" && k != "platform.phrases" && k != "platform.crypto" &&
			k != "hl7.allow_from" && k != "hl7.windows" && k != "dropfolder.windows" && k != "api.host_names" && // lists: the file only
			!strings.HasPrefix(k, "cluster.") { // an optional section: only when the file has it
			want++
		}
	}
	if len(fs) != want || want < 50 {
		t.Fatalf("overridable keys: got %d; want every scalar key of the single-table sections (%d)", len(fs), want)
	}
	env := map[string]string{}
	values := map[string]string{}
	for _, f := range fs {
		var val string
		switch f.v.Interface().(type) {
		case Duration:
			val = "17s"
		case settle.Money:
			val = "17.00"
		case Secret:
			val = "secret-17"
		default:
			switch f.v.Kind() {
			case reflect.String:
				val = "v17"
			case reflect.Bool:
				val = "true"
			default:
				val = "17"
			}
		}
		env[EnvVar(f.key)] = val
		values[f.key] = val
	}
	c, _ := Parse([]byte(validTOML), "s.toml", envMap(env)) // the values break rules; only landing matters
	for _, f := range c.envFields() {
		var got string
		switch x := f.v.Interface().(type) {
		case Secret:
			got = x.Value()
		case fmt.Stringer:
			got = x.String()
		default:
			got = fmt.Sprint(x)
		}
		if w := values[f.key]; got != w {
			t.Errorf("%s from %s: got %q; want %q", f.key, EnvVar(f.key), got, w)
		}
	}
}

func TestEnvVar(t *testing.T) {
	if got, want := EnvVar("platform.base_url"), "SETTLE_AGENT_PLATFORM_BASE_URL"; got != want {
		t.Errorf("got %q; want %q", got, want)
	}
}
