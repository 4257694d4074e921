package config

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/settle-agent/settle-agent"
)

func TestValidate_Rules(t *testing.T) {
	key32 := NewSecret("MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=")
	tests := []struct {
		name   string
		mutate func(c *Config)
		field  string // the problem wanted; "" for none
		value  string // its Value
	}{
		{"OK", func(c *Config) {}, "", ""},
		{"FixmedinsCodeMissing", func(c *Config) { c.Hospital.FixmedinsCode = "" }, "hospital.fixmedins_code", ""},
		{"FixmedinsCodeShort", func(c *Config) { c.Hospital.FixmedinsCode = "H3301020000" }, "hospital.fixmedins_code", "H3301020000"},
		{"FixmedinsCodeLong", func(c *Config) { c.Hospital.FixmedinsCode = "H330102000011" }, "hospital.fixmedins_code", "H330102000011"},
		{"FixmedinsCodeSpace", func(c *Config) { c.Hospital.FixmedinsCode = "H3301020000 " }, "hospital.fixmedins_code", "H3301020000 "},
		{"AdmdvsLetters", func(c *Config) { c.Hospital.Admdvs = "33010A" }, "hospital.admdvs", "33010A"},
		{"AdmdvsShort", func(c *Config) { c.Hospital.Admdvs = "3301" }, "hospital.admdvs", "3301"},
		{"MsgidNodeHigh", func(c *Config) { c.Hospital.MsgidNode = 10 }, "hospital.msgid_node", "10"},
		{"MsgidNodeLow", func(c *Config) { c.Hospital.MsgidNode = -2 }, "hospital.msgid_node", "-2"},
		{"MsgidNodeDigit", func(c *Config) { c.Hospital.MsgidNode = 9 }, "", ""},
		{"BaseURLMissing", func(c *Config) { c.Platform.BaseURL = "" }, "platform.base_url", ""},
		{"BaseURLNoScheme", func(c *Config) { c.Platform.BaseURL = "10.1.2.3:8080" }, "platform.base_url", "10.1.2.3:8080"},
		{"BaseURLFTP", func(c *Config) { c.Platform.BaseURL = "ftp://10.1.2.3" }, "platform.base_url", "ftp://10.1.2.3"},
		{"BaseURLQuery", func(c *Config) { c.Platform.BaseURL = "https://h/?a=b" }, "platform.base_url", "https://h/?a=b"},
		{"BaseURLHTTPExplicit", func(c *Config) { c.Platform.BaseURL = "http://10.1.2.3:8080" }, "", ""},
		{"PathRelative", func(c *Config) { c.Platform.Path = "fsi/api" }, "platform.path", "fsi/api"},
		{"TimeoutZero", func(c *Config) { c.Platform.Timeout = Duration{} }, "platform.timeout", "0s"},
		{"TimeoutNegative", func(c *Config) { c.Platform.Timeout = Duration{-time.Second} }, "platform.timeout", "-1s"},
		{"TimeoutNoUnit", func(c *Config) { c.Platform.Timeout = Duration{3} }, "platform.timeout", "3ns"},
		{"ProbeIntervalZero", func(c *Config) { c.Platform.ProbeInterval = Duration{} }, "platform.probe_interval", "0s"},
		{"BreakerZero", func(c *Config) { c.Platform.BreakerThreshold = 0 }, "platform.breaker_threshold", "0"},
		{"PaasidWithoutToken", func(c *Config) { c.Platform.Paasid = "p1" }, "platform.token", ""},
		{"PaasidWithToken", func(c *Config) { c.Platform.Paasid = "p1"; c.Platform.Token = NewSecret("s") }, "", ""},
		{"CertWithoutKey", func(c *Config) { c.Platform.CertFile = "c.pem" }, "platform.cert_file", "c.pem"},
		{"RecerSysCodeEmpty", func(c *Config) { c.Platform.RecerSysCode = "" }, "platform.recer_sys_code", ""},
		{"InfverEmpty", func(c *Config) { c.Platform.Infver = "" }, "platform.infver", ""},
		{"ProbeHalf", func(c *Config) { c.Platform.ProbeCertType = "02" }, "platform.probe_cert_type", "02"},
		{"PathsOK", func(c *Config) {
			c.Platform.Paths = map[string]string{"2207": "/fsi/api/outpatientSettleService/saveSettletmentV2"}
		}, "", ""},
		{"PathsBadInfno", func(c *Config) { c.Platform.Paths = map[string]string{"settle": "/x"} }, "platform.paths", "settle"},
		{"PathsRelative", func(c *Config) { c.Platform.Paths = map[string]string{"2207": "fsi/x"} }, "platform.paths.2207", "fsi/x"},
		{"ListenNoPort", func(c *Config) { c.API.Listen = "127.0.0.1" }, "api.listen", "127.0.0.1"},
		{"ListenBadPort", func(c *Config) { c.API.Listen = "127.0.0.1:99999" }, "api.listen", "127.0.0.1:99999"},
		{"ListenAnyHost", func(c *Config) { c.API.Listen = ":8420" }, "", ""},
		{"TLSCertOnly", func(c *Config) { c.API.TLSCert = "cert.pem" }, "api.tls_cert", "cert.pem"},
		{"TLSKeyOnly", func(c *Config) { c.API.TLSKey = "key.pem" }, "api.tls_cert", ""},
		{"ClientCAWithoutTLS", func(c *Config) { c.API.ClientCA = "ca.pem" }, "api.client_ca", "ca.pem"},
		{"MaxBodyTiny", func(c *Config) { c.API.MaxBodyBytes = 10 }, "api.max_body_bytes", "10"},
		{"RateLimitZero", func(c *Config) { c.API.RateLimit = 0 }, "api.rate_limit", "0"},
		{"ReadTimeoutZero", func(c *Config) { c.API.ReadTimeout = Duration{} }, "api.read_timeout", "0s"},
		{"WriteTimeoutZero", func(c *Config) { c.API.WriteTimeout = Duration{} }, "api.write_timeout", "0s"},
		{"IdleTimeoutZero", func(c *Config) { c.API.IdleTimeout = Duration{} }, "api.idle_timeout", "0s"},
		{"AdminTokenSpace", func(c *Config) { c.API.AdminToken = NewSecret("a b") }, "api.admin_token", "inline"},
		{"StoreDirEmpty", func(c *Config) { c.Store.Dir = "" }, "store.dir", ""},
		{"StoreKeyShort", func(c *Config) { c.Store.Key = NewSecret("c2hvcnQ=") }, "store.key", "inline"},
		{"StoreKeyNotBase64", func(c *Config) { c.Store.Key = NewSecret("not base64!") }, "store.key", "inline"},
		{"StoreKeyOK", func(c *Config) { c.Store.Key = key32 }, "", ""},
		{"OldKeyBad", func(c *Config) { c.Store.Key = key32; c.Store.OldKeys = []Secret{NewSecret("x")} }, "store.old_keys[0]", "inline"},
		{"OldKeysWithoutKey", func(c *Config) { c.Store.OldKeys = []Secret{key32} }, "store.key", ""},
		{"RetentionZero", func(c *Config) { c.Store.Retention = Duration{} }, "store.retention", "0s"},
		{"NoWindows", func(c *Config) { c.Windows = nil }, "window", ""},
		{"WindowIDEmpty", func(c *Config) { c.Windows[1].ID = "" }, "window[1].id", ""},
		{"WindowIDBadChars", func(c *Config) { c.Windows[1].ID = "W 2" }, "window[1].id", "W 2"},
		{"WindowIDDuplicate", func(c *Config) { c.Windows[1].ID = "W01" }, "window[1].id", "W01"},
		{"WindowTokenMissing", func(c *Config) { c.Windows[1].Token = Secret{} }, "window[1].token", ""},
		{"WindowTokenDuplicate", func(c *Config) { c.Windows[1].Token = c.Windows[0].Token }, "window[1].token", "inline"},
		{"WindowTokenIsAdmin", func(c *Config) { c.API.AdminToken = c.Windows[0].Token }, "window[0].token", "inline"},
		{"WindowTokenControl", func(c *Config) { c.Windows[0].Token = NewSecret("tok\n") }, "window[0].token", "inline"},
		{"ReaderPortEmpty", func(c *Config) { c.Windows[0].Reader.Port = "" }, "window[0].reader.port", ""},
		{"ReaderBaudZero", func(c *Config) { c.Windows[0].Reader.Baud = 0 }, "window[0].reader.baud", "0"},
		{"ReaderDataBits", func(c *Config) { c.Windows[0].Reader.DataBits = 9 }, "window[0].reader.data_bits", "9"},
		{"ReaderParity", func(c *Config) { c.Windows[0].Reader.Parity = "X" }, "window[0].reader.parity", "X"},
		{"ReaderParityLower", func(c *Config) { c.Windows[0].Reader.Parity = "e" }, "", ""},
		{"ReaderStopBits", func(c *Config) { c.Windows[0].Reader.StopBits = 3 }, "window[0].reader.stop_bits", "3"},
		{"ReaderProtocol", func(c *Config) { c.Windows[0].Reader.Protocol = "vendor" }, "window[0].reader.protocol", "vendor"},
		{"ReaderReadTimeout", func(c *Config) { c.Windows[0].Reader.ReadTimeout = Duration{} }, "window[0].reader.read_timeout", "0s"},
		{"PortShared", func(c *Config) {
			c.Windows[1].Scanner = &Port{Port: "/DEV/ttyUSB0"}
			c.Windows[1].Scanner.fillDefaults("line")
		}, "window[1].scanner.port", "/DEV/ttyUSB0"},
		{"PolicyUnknown", func(c *Config) { c.Offline.Policy = "partial" }, "offline.policy", "partial"},
		{"PolicyEstimate", func(c *Config) { c.Offline.Policy = "estimate" }, "", ""},
		{"PolicyRefuse", func(c *Config) { c.Offline.Policy = "refuse" }, "", ""},
		{"DeadlineZero", func(c *Config) { c.Offline.Deadline = Duration{} }, "offline.deadline", "0s"},
		{"RetryHorizonZero", func(c *Config) { c.Offline.RetryHorizon = Duration{} }, "offline.retry_horizon", "0s"},
		{"MaxBillZero", func(c *Config) { c.Offline.MaxBillAmount = 0 }, "offline.max_bill_amount", "0.00"},
		{"MaxOutstandingNegative", func(c *Config) { c.Offline.MaxOutstandingAmount = -1 }, "offline.max_outstanding_amount", "-0.01"},
		{"MaxOutstandingBelowBill", func(c *Config) { c.Offline.MaxOutstandingAmount = settle.MustMoney("100.00") }, "offline.max_outstanding_amount", "100.00"},
		{"RatioAboveOne", func(c *Config) { c.Offline.DefaultRatio = "1.5" }, "offline.default_ratio", "1.5"},
		{"RatioNotDecimal", func(c *Config) { c.Offline.DefaultRatio = "70%" }, "offline.default_ratio", "70%"},
		{"RatioExponent", func(c *Config) { c.Offline.DefaultRatio = "7e-1" }, "offline.default_ratio", "7e-1"},
		{"SyncConcurrencyZero", func(c *Config) { c.Sync.Concurrency = 0 }, "sync.concurrency", "0"},
		{"SyncConcurrencyHuge", func(c *Config) { c.Sync.Concurrency = 1000 }, "sync.concurrency", "1000"},
		{"SyncRateZero", func(c *Config) { c.Sync.RatePerSecond = 0 }, "sync.rate_per_second", "0"},
		{"HL7ListenBad", func(c *Config) { c.HL7.Listen = "2575" }, "hl7.listen", "2575"},
		{"HL7ListenSameAsAPI", func(c *Config) { c.HL7.Listen = c.API.Listen }, "hl7.listen", "127.0.0.1:8420"},
		{"HL7ListenOK", func(c *Config) { c.HL7.Listen = "0.0.0.0:2575" }, "", ""},
		{"HL7MedTypeEmpty", func(c *Config) { c.HL7.DefaultMedType = "" }, "hl7.default_med_type", ""},
		{"HL7DefaultWindowUnknown", func(c *Config) { c.HL7.DefaultWindow = "W09" }, "hl7.default_window", "W09"},
		{"HL7DefaultWindowKnown", func(c *Config) { c.HL7.DefaultWindow = "W02" }, "", ""},
		{"HL7IdleZero", func(c *Config) { c.HL7.IdleTimeout = Duration{} }, "hl7.idle_timeout", "0s"},
		{"HL7MaxMessageTiny", func(c *Config) { c.HL7.MaxMessageBytes = 1 }, "hl7.max_message_bytes", "1"},
		{"HostNamesOK", func(c *Config) { c.API.HostNames = []string{"settle.hospital.local", "10.1.2.5"} }, "", ""},
		{"HostNamesPort", func(c *Config) { c.API.HostNames = []string{"settle.local:8420"} }, "api.host_names[0]", "settle.local:8420"},
		{"HL7AllowFromOK", func(c *Config) { c.HL7.AllowFrom = []string{"10.1.2.3", "10.1.2.0/24", "::1"} }, "", ""},
		{"HL7AllowFromBad", func(c *Config) { c.HL7.AllowFrom = []string{"his.example"} }, "hl7.allow_from[0]", "his.example"},
		{"HL7WindowsUnknown", func(c *Config) { c.HL7.Windows = []string{"W01", "W09"} }, "hl7.windows[1]", "W09"},
		{"HL7DefaultWindowNotServed", func(c *Config) { c.HL7.Windows = []string{"W01"}; c.HL7.DefaultWindow = "W02" }, "hl7.default_window", "W02"},
		{"HL7TLSCertOnly", func(c *Config) { c.HL7.TLSCert = "c.pem" }, "hl7.tls_cert", "c.pem"},
		{"HL7FrameTimeoutZero", func(c *Config) { c.HL7.FrameTimeout = Duration{} }, "hl7.frame_timeout", "0s"},
		{"HL7MaxConnsZero", func(c *Config) { c.HL7.MaxConns = 0 }, "hl7.max_conns", "0"},
		{"HL7PerHostOverTotal", func(c *Config) { c.HL7.MaxConnsPerHost = 65 }, "hl7.max_conns_per_host", "65"},
		{"HL7MessageRateZero", func(c *Config) { c.HL7.MessageRate = 0 }, "hl7.message_rate", "0"},
		{"DropWindowsUnknown", func(c *Config) { c.DropFolder.Windows = []string{"W09"} }, "dropfolder.windows[0]", "W09"},
		{"DropEncoding", func(c *Config) { c.DropFolder.Encoding = "latin1" }, "dropfolder.encoding", "latin1"},
		{"DropEncodingGBK", func(c *Config) { c.DropFolder.Encoding = "GBK" }, "", ""},
		{"DropQuietZero", func(c *Config) { c.DropFolder.QuietTime = Duration{} }, "dropfolder.quiet_time", "0s"},
		{"DropMaxFileBillsZero", func(c *Config) { c.DropFolder.MaxFileBills = 0 }, "dropfolder.max_file_bills", "0"},
		{"DropPollZero", func(c *Config) { c.DropFolder.PollInterval = Duration{} }, "dropfolder.poll_interval", "0s"},
		{"DropDefaultWindowUnknown", func(c *Config) { c.DropFolder.DefaultWindow = "X" }, "dropfolder.default_window", "X"},
		{"LogLevel", func(c *Config) { c.Log.Level = "verbose" }, "log.level", "verbose"},
		{"LogFormat", func(c *Config) { c.Log.Format = "xml" }, "log.format", "xml"},
		{"LogMaxSize", func(c *Config) { c.Log.MaxSizeMB = 0 }, "log.max_size_mb", "0"},
		{"LogMaxBackups", func(c *Config) { c.Log.MaxBackups = -1 }, "log.max_backups", "-1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := mustParse(t, validTOML, nil)
			tt.mutate(c)
			err := c.Validate()
			if tt.field == "" {
				if err != nil {
					t.Fatalf("got %v; want no error", err)
				}
				return
			}
			ps := problemsOf(t, err)
			if len(ps) != 1 {
				t.Errorf("problems: got %s; want only %s", fields(ps), tt.field)
			}
			p, ok := findProblem(ps, tt.field)
			if !ok {
				t.Fatalf("problems: got %s; want %s", fields(ps), tt.field)
			}
			if p.Value != tt.value {
				t.Errorf("value: got %q; want %q", p.Value, tt.value)
			}
			if p.Reason == "" {
				t.Error("reason: got empty; want what to write instead")
			}
			if !errors.Is(err, settle.ErrInvalid) {
				t.Error("errors.Is(err, settle.ErrInvalid): got false; want true")
			}
		})
	}
}

func TestValidate_EveryProblemAtOnce(t *testing.T) {
	c := Default()
	c.Platform.Timeout = Duration{}
	c.Offline.Policy = "sometimes"
	ps := problemsOf(t, c.Validate())
	want := []string{"hospital.fixmedins_code", "hospital.admdvs", "platform.base_url", "platform.timeout", "window[0].token", "offline.policy"}
	for _, f := range want {
		if _, ok := findProblem(ps, f); !ok {
			t.Errorf("problems: got %s; want %s among them", fields(ps), f)
		}
	}
	if len(ps) != len(want) {
		t.Errorf("problems: got %d (%s); want %d", len(ps), fields(ps), len(want))
	}
}

// TestValidate_LinesInFile checks that problems found after decoding point at the
// line of the bad key, or at its section or window when the key is not written.
func TestValidate_LinesInFile(t *testing.T) {
	data := strings.Replace(validTOML, `base_url = "https://127.0.0.1:8080"`, `base_url = "127.0.0.1:8080"`, 1)
	data = strings.Replace(data, `token = "tok-w02-bbbbbbbb"`, `token = "tok-w01-aaaaaaaa"`, 1)
	data = strings.Replace(data, `reader = { port = "/dev/ttyUSB0" }`, `reader = { port = "/dev/ttyUSB0", baud = 7 }`, 1)
	_, err := Parse([]byte(data), "s.toml", nil)
	got := problemsOf(t, err)
	want := []struct {
		field  string
		line   int
		column int
	}{
		{"platform.base_url", 7, 1},
		{"window[0].reader.baud", 15, 35},
		{"window[1].token", 19, 1},
	}
	if len(got) != len(want) {
		t.Fatalf("problems: got %s; want %d", fields(got), len(want))
	}
	for i, w := range want {
		if got[i].Field != w.field || got[i].Line != w.line || got[i].Column != w.column {
			t.Errorf("problem %d: got %s at %d:%d; want %s at %d:%d", i, got[i].Field, got[i].Line, got[i].Column, w.field, w.line, w.column)
		}
	}
	goldenFile(t, "problems.golden", strings.Join(err.(*ValidationError).Lines(), "\n")+"\n")
}

func TestDefault_OnlyTheSiteSpecificKeysAreMissing(t *testing.T) {
	ps := problemsOf(t, Default().Validate())
	want := "hospital.fixmedins_code, hospital.admdvs, platform.base_url, window[0].token"
	if got := fields(ps); got != want {
		t.Errorf("problems of Default(): got %s; want %s", got, want)
	}
	c := Default()
	c.Hospital.FixmedinsCode, c.Hospital.Admdvs, c.Platform.BaseURL = "H33010200001", "330100", "http://127.0.0.1:1"
	c.Windows[0].Token = NewSecret("demo")
	if err := c.Validate(); err != nil {
		t.Errorf("Default() with the site's keys filled in: got %v; want valid", err)
	}
}

func TestParse_PlatformPaths(t *testing.T) {
	for name, table := range map[string]string{
		"Table":  "\n[platform.paths]\n\"2207\" = \"/fsi/api/outpatientSettleService/saveSettletmentV2\"\n2206 = \"/fsi/api/outpatientSettleService/preSettletment\"\n",
		"Inline": "\n[platform]\npaths = { \"2207\" = \"/fsi/api/outpatientSettleService/saveSettletmentV2\", \"2206\" = \"/fsi/api/outpatientSettleService/preSettletment\" }\n",
	} {
		t.Run(name, func(t *testing.T) {
			data := validTOML + table
			if name == "Inline" {
				data = strings.Replace(validTOML, "[platform]\n", "[platform]\npaths = { \"2207\" = \"/fsi/api/outpatientSettleService/saveSettletmentV2\", \"2206\" = \"/fsi/api/outpatientSettleService/preSettletment\" }\n", 1)
			}
			c, err := Parse([]byte(data), "s.toml", nil)
			if err != nil {
				t.Fatal(err)
			}
			if got := c.Platform.Paths["2207"]; got != "/fsi/api/outpatientSettleService/saveSettletmentV2" || len(c.Platform.Paths) != 2 {
				t.Errorf("platform.paths = %v", c.Platform.Paths)
			}
		})
	}
}

func TestValidate_Language(t *testing.T) {
	for _, tt := range []struct{ in, want string }{{"zh", "zh"}, {"zh-CN", "zh"}, {"EN", "en"}} {
		c := mustParse(t, validTOML+"\n[api]\nlanguage = \""+tt.in+"\"\n", nil)
		if c.API.Language != tt.want {
			t.Errorf("api.language %q: got %q; want %q", tt.in, c.API.Language, tt.want)
		}
	}
	if c := mustParse(t, validTOML, nil); c.API.Language != "zh" {
		t.Errorf("api.language default: got %q; want zh", c.API.Language)
	}
	_, err := Parse([]byte(validTOML+"\n[api]\nlanguage = \"fr\"\n"), "s.toml", nil)
	if _, ok := findProblem(problemsOf(t, err), "api.language"); !ok {
		t.Errorf("api.language fr: got %v; want a problem", err)
	}
}
