package config

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net"
	"net/url"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/shopspring/decimal"
)

// Validate checks every rule and names every bad field, its value and what to write
// instead, at once, in a *ValidationError. Secret values never appear in it. It also
// normalises spellings it accepts: parity to upper case, "utf8"/"gb18030" encodings
// to "utf-8"/"gbk".
func (c *Config) Validate() error {
	name := c.src.name
	if c.Path != "" {
		name = c.Path
	}
	v := &ValidationError{Name: name}
	c.validate(v)
	if len(v.Problems) == 0 {
		return nil
	}
	v.sort()
	return v
}

// problem records one problem about key, with where it was set.
func (c *Config) problem(v *ValidationError, key, value, reason string) {
	p := Problem{Field: key, Value: value, Reason: reason}
	if env, ok := c.src.env[key]; ok {
		p.Env = env
	} else if pos := c.src.where(key); pos.line > 0 {
		p.Line, p.Column = pos.line, pos.column
	}
	v.Problems = append(v.Problems, p)
}

var (
	admdvsRe   = regexp.MustCompile(`^[0-9]{6}$`)
	windowIDRe = regexp.MustCompile(`^[A-Za-z0-9_-]{1,16}$`)
	medTypeRe  = regexp.MustCompile(`^[0-9A-Za-z]{1,6}$`)
)

func (c *Config) validate(v *ValidationError) {
	c.validateHospital(v)
	c.validatePlatform(v)
	c.validateCrypto(v)
	c.validateAPI(v)
	c.validateStore(v)
	c.validateWindows(v)
	c.validateOffline(v)
	c.validateEVoucher(v)
	c.validateRest(v)
	c.validateCatalogue(v)
	c.validateCluster(v)
	c.validateFiles(v)
}

func (c *Config) validateHospital(v *ValidationError) {
	h := c.Hospital
	switch {
	case h.FixmedinsCode == "":
		c.problem(v, "hospital.fixmedins_code", h.FixmedinsCode, "required: the 12-character institution code the platform gave the hospital, e.g. \"H33010200001\"")
	case len(h.FixmedinsCode) != 12 || !printableASCII(h.FixmedinsCode):
		c.problem(v, "hospital.fixmedins_code", h.FixmedinsCode, fmt.Sprintf("must be exactly 12 letters and digits, not %d characters", len([]rune(h.FixmedinsCode))))
	}
	if !admdvsRe.MatchString(h.Admdvs) {
		c.problem(v, "hospital.admdvs", h.Admdvs, "must be the 6-digit administrative division code of the treatment area, e.g. \"330100\"")
	}
	if h.MsgidNode < -1 || h.MsgidNode > 9 {
		c.problem(v, "hospital.msgid_node", strconv.Itoa(h.MsgidNode), "must be -1 (none) or one digit 0-9")
	}
}

func (c *Config) validatePlatform(v *ValidationError) {
	p := c.Platform
	if p.BaseURL == "" {
		c.problem(v, "platform.base_url", p.BaseURL, "required: the provincial platform's address, e.g. \"https://10.1.2.3:8080\"")
	} else if u, err := url.Parse(p.BaseURL); err != nil || u.Host == "" || (u.Scheme != "https" && u.Scheme != "http") {
		c.problem(v, "platform.base_url", p.BaseURL, "must be a URL starting with https:// (or http:// when the link has no TLS), e.g. \"https://10.1.2.3:8080\"")
	} else if u.RawQuery != "" || u.Fragment != "" || u.User != nil {
		c.problem(v, "platform.base_url", p.BaseURL, "must not carry a query, fragment or user name; put the service path in platform.path")
	}
	if !strings.HasPrefix(p.Path, "/") {
		c.problem(v, "platform.path", p.Path, "must start with /, e.g. \""+DefaultPlatformPath+"\"")
	}
	c.positive(v, "platform.timeout", p.Timeout)
	c.positive(v, "platform.probe_interval", p.ProbeInterval)
	if p.BreakerThreshold < 1 {
		c.problem(v, "platform.breaker_threshold", strconv.Itoa(p.BreakerThreshold), "must be at least 1 (failed calls before the agent goes offline)")
	}
	if p.Paasid != "" && !p.Token.IsSet() {
		c.problem(v, "platform.token", "", "required with platform.paasid: the signing token, e.g. \"env:SETTLE_AGENT_PLATFORM_TOKEN\"")
	}
	if (p.CertFile == "") != (p.KeyFile == "") {
		c.problem(v, "platform.cert_file", p.CertFile, "platform.cert_file and platform.key_file go together (client certificate and its key)")
	}
	if p.RecerSysCode == "" {
		c.problem(v, "platform.recer_sys_code", "", "required, e.g. \"YBXT\"")
	}
	if p.Infver == "" {
		c.problem(v, "platform.infver", "", "required, e.g. \"V1.0\"")
	}
	for _, infno := range sortedKeys(p.Paths) {
		if len(infno) != 4 || strings.Trim(infno, "0123456789") != "" {
			c.problem(v, "platform.paths", infno, "keys are 4-digit transaction numbers (infno), e.g. \"2207\"")
		} else if path := p.Paths[infno]; !strings.HasPrefix(path, "/") {
			c.problem(v, "platform.paths."+infno, path, "must start with /, e.g. \"/fsi/api/outpatientSettleService/saveSettletmentV2\"")
		}
	}
	if (p.ProbeCertType == "") != (p.ProbeCertNo == "") {
		c.problem(v, "platform.probe_cert_type", p.ProbeCertType, "platform.probe_cert_type and platform.probe_cert_no go together (the 1101 test person); leave both empty to probe with 9001")
	}
}

func (c *Config) validateAPI(v *ValidationError) {
	a := c.API
	c.hostPort(v, "api.listen", a.Listen)
	for i, h := range a.HostNames {
		if h == "" || strings.ContainsAny(h, " /\\:@[]") {
			c.problem(v, fmt.Sprintf("api.host_names[%d]", i), h, "must be a host name or an IP address, without a port")
		}
	}
	if (a.TLSCert == "") != (a.TLSKey == "") {
		c.problem(v, "api.tls_cert", a.TLSCert, "api.tls_cert and api.tls_key go together")
	}
	if a.ClientCA != "" && a.TLSCert == "" {
		c.problem(v, "api.client_ca", a.ClientCA, "needs api.tls_cert and api.tls_key: client certificates only work over TLS")
	}
	if a.MaxBodyBytes < 1024 {
		c.problem(v, "api.max_body_bytes", strconv.FormatInt(a.MaxBodyBytes, 10), "must be at least 1024")
	}
	if !(a.RateLimit > 0) {
		c.problem(v, "api.rate_limit", strconv.FormatFloat(a.RateLimit, 'g', -1, 64), "must be more than 0 requests per second")
	}
	c.positive(v, "api.read_timeout", a.ReadTimeout)
	c.positive(v, "api.write_timeout", a.WriteTimeout)
	c.positive(v, "api.idle_timeout", a.IdleTimeout)
	c.tokenChars(v, "api.admin_token", a.AdminToken)
	switch strings.ToLower(a.Language) {
	case "zh", "zh-cn", "zh-hans", "cn":
		c.API.Language = "zh"
	case "en", "en-us", "en-gb":
		c.API.Language = "en"
	default:
		c.problem(v, "api.language", a.Language, "must be \"zh\" (中文, the default) or \"en\" (English)")
	}
}

func (c *Config) validateStore(v *ValidationError) {
	s := c.Store
	if s.Dir == "" {
		c.problem(v, "store.dir", "", "required: the data folder, e.g. \""+DefaultDataDir()+"\"")
	}
	c.aesKey(v, "store.key", s.Key)
	for i, k := range s.OldKeys {
		c.aesKey(v, fmt.Sprintf("store.old_keys[%d]", i), k)
	}
	if len(s.OldKeys) > 0 && !s.Key.IsSet() {
		c.problem(v, "store.key", "", "required with store.old_keys: the current key")
	}
	c.positive(v, "store.retention", s.Retention)
}

func (c *Config) aesKey(v *ValidationError, key string, s Secret) {
	if !s.IsSet() || s.Value() == "" {
		return
	}
	b, err := base64.StdEncoding.DecodeString(strings.TrimSpace(s.Value()))
	if err != nil || len(b) != 32 {
		c.problem(v, key, s.Ref(), "must be 32 random bytes in base64 (44 characters), e.g. from: openssl rand -base64 32")
	}
}

func (c *Config) validateWindows(v *ValidationError) {
	if len(c.Windows) == 0 {
		c.problem(v, "window", "", "at least one [[window]] is required")
	}
	ids := map[string]int{}
	tokens := map[string]int{}
	ports := map[string]string{}
	for i := range c.Windows {
		w := &c.Windows[i]
		key := fmt.Sprintf("window[%d]", i)
		if !windowIDRe.MatchString(w.ID) {
			c.problem(v, key+".id", w.ID, "required: 1-16 letters, digits, - or _, e.g. \"W01\"")
		} else if j, dup := ids[w.ID]; dup {
			c.problem(v, key+".id", w.ID, fmt.Sprintf("window[%d] has the same id; each window needs its own", j))
		} else {
			ids[w.ID] = i
		}
		switch {
		case !w.Token.IsSet() || w.Token.Value() == "":
			if w.Token.Ref() == "" {
				c.problem(v, key+".token", "", "required: each window needs its own token, e.g. token = \"file:/etc/settle-agent/"+strings.ToLower(w.ID)+".token\"")
			}
		default:
			c.tokenChars(v, key+".token", w.Token)
			if j, dup := tokens[w.Token.Value()]; dup {
				c.problem(v, key+".token", w.Token.Ref(), fmt.Sprintf("same token as window[%d]; each window needs its own", j))
			} else {
				tokens[w.Token.Value()] = i
			}
			if c.API.AdminToken.Value() != "" && c.API.AdminToken.Equal(w.Token.Value()) {
				c.problem(v, key+".token", w.Token.Ref(), "same as api.admin_token; the admin token must differ from every window's")
			}
		}
		for _, d := range []struct {
			name string
			p    *Port
		}{{"reader", w.Reader}, {"scanner", w.Scanner}} {
			if d.p == nil {
				continue
			}
			pk := key + "." + d.name
			c.validatePort(v, pk, d.p)
			if d.p.Port != "" {
				norm := strings.ToLower(d.p.Port)
				if other, dup := ports[norm]; dup {
					c.problem(v, pk+".port", d.p.Port, "already used by "+other+"; one device per port")
				} else {
					ports[norm] = pk
				}
			}
		}
	}
}

func (c *Config) validatePort(v *ValidationError, key string, p *Port) {
	if p.Remote || p.IsLibrary() {
		c.validateLibraryPort(v, key, p)
		return
	}
	if p.Port == "" {
		c.problem(v, key+".port", "", "required: the serial device, e.g. \""+DefaultReaderPort()+"\"")
	}
	if !standardBaud(p.Baud) {
		c.problem(v, key+".baud", strconv.Itoa(p.Baud), "must be a standard baud rate such as 9600 or 115200")
	}
	if p.DataBits < 5 || p.DataBits > 8 {
		c.problem(v, key+".data_bits", strconv.Itoa(p.DataBits), "must be 5, 6, 7 or 8")
	}
	switch strings.ToUpper(p.Parity) {
	case "N", "E", "O", "M", "S":
		p.Parity = strings.ToUpper(p.Parity)
	default:
		c.problem(v, key+".parity", p.Parity, "must be N, E, O, M or S")
	}
	if p.StopBits != 1 && p.StopBits != 2 {
		c.problem(v, key+".stop_bits", strconv.Itoa(p.StopBits), "must be 1 or 2")
	}
	if p.Protocol != "frame" && p.Protocol != "line" {
		c.problem(v, key+".protocol", p.Protocol, "must be \"frame\" (card reader) or \"line\" (QR scanner)")
	}
	c.positive(v, key+".read_timeout", p.ReadTimeout)
}

func (c *Config) validateOffline(v *ValidationError) {
	o := c.Offline
	switch o.Policy {
	case "full", "estimate", "refuse":
	default:
		c.problem(v, "offline.policy", o.Policy, "must be full, estimate or refuse")
	}
	switch o.Inpatient {
	case "", "defer", "refuse":
	default:
		c.problem(v, "offline.inpatient", o.Inpatient, "must be defer or refuse")
	}
	c.positive(v, "offline.deadline", o.Deadline)
	c.positive(v, "offline.retry_horizon", o.RetryHorizon)
	if o.MaxBillAmount <= 0 {
		c.problem(v, "offline.max_bill_amount", o.MaxBillAmount.String(), "must be more than 0.00")
	}
	if o.MaxOutstandingAmount <= 0 {
		c.problem(v, "offline.max_outstanding_amount", o.MaxOutstandingAmount.String(), "must be more than 0.00")
	} else if o.MaxOutstandingAmount < o.MaxBillAmount {
		c.problem(v, "offline.max_outstanding_amount", o.MaxOutstandingAmount.String(), "must be at least offline.max_bill_amount ("+o.MaxBillAmount.String()+")")
	}
	if d, err := decimal.NewFromString(o.DefaultRatio); err != nil || d.IsNegative() || d.GreaterThan(decimal.NewFromInt(1)) || strings.ContainsAny(o.DefaultRatio, "eE") {
		c.problem(v, "offline.default_ratio", o.DefaultRatio, "must be a decimal from 0 to 1, e.g. \"0.70\"")
	}
}

func (c *Config) validateRest(v *ValidationError) {
	if c.Sync.Concurrency < 1 || c.Sync.Concurrency > 256 {
		c.problem(v, "sync.concurrency", strconv.Itoa(c.Sync.Concurrency), "must be from 1 to 256")
	}
	if !(c.Sync.RatePerSecond > 0) {
		c.problem(v, "sync.rate_per_second", strconv.FormatFloat(c.Sync.RatePerSecond, 'g', -1, 64), "must be more than 0")
	}
	h := c.HL7
	if h.Listen != "" {
		c.hostPort(v, "hl7.listen", h.Listen)
		if h.Listen == c.API.Listen {
			c.problem(v, "hl7.listen", h.Listen, "same address as api.listen")
		}
	}
	if !medTypeRe.MatchString(h.DefaultMedType) {
		c.problem(v, "hl7.default_med_type", h.DefaultMedType, "must be a med_type code such as \"11\" (general outpatient)")
	}
	c.windowRef(v, "hl7.default_window", h.DefaultWindow)
	c.windowRef(v, "hl7.inpatient_window", h.InpatientWindow)
	c.positive(v, "hl7.idle_timeout", h.IdleTimeout)
	if h.MaxMessageBytes < 1024 {
		c.problem(v, "hl7.max_message_bytes", strconv.FormatInt(h.MaxMessageBytes, 10), "must be at least 1024")
	}
	for i, s := range h.AllowFrom {
		if _, err := parseAllow(s); err != nil {
			c.problem(v, fmt.Sprintf("hl7.allow_from[%d]", i), s, "must be an IP address or a network such as \"10.1.2.0/24\"")
		}
	}
	for i, w := range h.Windows {
		c.windowRef(v, fmt.Sprintf("hl7.windows[%d]", i), w)
	}
	if h.DefaultWindow != "" && len(h.Windows) > 0 && !slices.Contains(h.Windows, h.DefaultWindow) {
		c.problem(v, "hl7.default_window", h.DefaultWindow, "is not one of hl7.windows")
	}
	if (h.TLSCert == "") != (h.TLSKey == "") {
		c.problem(v, "hl7.tls_cert", h.TLSCert, "hl7.tls_cert and hl7.tls_key go together")
	}
	c.positive(v, "hl7.frame_timeout", h.FrameTimeout)
	if h.MaxConns < 1 {
		c.problem(v, "hl7.max_conns", strconv.Itoa(h.MaxConns), "must be at least 1")
	}
	if h.MaxConnsPerHost < 1 || h.MaxConns >= 1 && h.MaxConnsPerHost > h.MaxConns {
		c.problem(v, "hl7.max_conns_per_host", strconv.Itoa(h.MaxConnsPerHost), "must be from 1 to hl7.max_conns")
	}
	if !(h.MessageRate > 0) {
		c.problem(v, "hl7.message_rate", strconv.FormatFloat(h.MessageRate, 'g', -1, 64), "must be more than 0 bills a second")
	}
	d := &c.DropFolder
	switch strings.ToLower(strings.ReplaceAll(d.Encoding, "_", "-")) {
	case "utf-8", "utf8":
		d.Encoding = "utf-8"
	case "gbk", "gb18030", "gb2312":
		d.Encoding = "gbk"
	default:
		c.problem(v, "dropfolder.encoding", d.Encoding, "must be utf-8 or gbk")
	}
	c.positive(v, "dropfolder.quiet_time", d.QuietTime)
	c.positive(v, "dropfolder.poll_interval", d.PollInterval)
	if d.MaxFileBills < 1 {
		c.problem(v, "dropfolder.max_file_bills", strconv.Itoa(d.MaxFileBills), "must be at least 1 bill")
	}
	c.windowRef(v, "dropfolder.default_window", d.DefaultWindow)
	for i, w := range d.Windows {
		c.windowRef(v, fmt.Sprintf("dropfolder.windows[%d]", i), w)
	}
	if d.DefaultWindow != "" && len(d.Windows) > 0 && !slices.Contains(d.Windows, d.DefaultWindow) {
		c.problem(v, "dropfolder.default_window", d.DefaultWindow, "is not one of dropfolder.windows")
	}
	l := c.Log
	switch l.Level {
	case "debug", "info", "warn", "error":
	default:
		c.problem(v, "log.level", l.Level, "must be debug, info, warn or error")
	}
	if l.Format != "text" && l.Format != "json" {
		c.problem(v, "log.format", l.Format, "must be text or json")
	}
	if l.MaxSizeMB < 1 {
		c.problem(v, "log.max_size_mb", strconv.Itoa(l.MaxSizeMB), "must be at least 1")
	}
	if l.MaxBackups < 0 {
		c.problem(v, "log.max_backups", strconv.Itoa(l.MaxBackups), "must be 0 or more")
	}
}

func (c *Config) positive(v *ValidationError, key string, d Duration) {
	if d.Duration <= 0 {
		c.problem(v, key, d.Duration.String(), "must be more than zero, e.g. \"3s\"")
	} else if d.Duration < time.Millisecond {
		c.problem(v, key, d.Duration.String(), "is less than a millisecond; did you forget the unit? e.g. \"3s\"")
	}
}

func (c *Config) hostPort(v *ValidationError, key, addr string) {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		c.problem(v, key, addr, "must be host:port, e.g. \"127.0.0.1:8420\"")
		return
	}
	if n, err := strconv.Atoi(port); err != nil || n < 0 || n > 65535 {
		c.problem(v, key, addr, "port must be a number from 0 to 65535")
	}
	if host != "" && host != "localhost" && net.ParseIP(host) == nil {
		if strings.ContainsAny(host, " /\\") {
			c.problem(v, key, addr, "host must be an IP address or a host name")
		}
	}
}

func (c *Config) windowRef(v *ValidationError, key, id string) {
	if id == "" {
		return
	}
	if _, ok := c.Window(id); !ok {
		c.problem(v, key, id, "names no [[window]]; use one of the window ids")
	}
}

// tokenChars refuses tokens that cannot travel in an Authorization header.
func (c *Config) tokenChars(v *ValidationError, key string, s Secret) {
	val := s.Value()
	if val == "" {
		return
	}
	for i := 0; i < len(val); i++ {
		if val[i] <= ' ' || val[i] >= 0x7f {
			c.problem(v, key, s.Ref(), "must be printable ASCII without spaces (it travels in an HTTP header)")
			return
		}
	}
}

func printableASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] <= ' ' || s[i] >= 0x7f {
			return false
		}
	}
	return true
}

// sortedKeys returns m's keys in order, so problems are reported in a stable order.
func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// standardBaud reports whether b is one of the standard serial rates (those the
// serial driver can set on Linux; Windows takes any). It is the same list as
// cardreader.StandardBaud, kept here so that config depends on no device package;
// TestStandardBaud_MatchesCardreader keeps the two equal.
func standardBaud(b int) bool {
	switch b {
	case 50, 75, 110, 134, 150, 200, 300, 600, 1200, 1800, 2400, 4800, 9600, 19200, 38400,
		57600, 115200, 230400, 460800, 500000, 576000, 921600, 1000000, 1152000, 1500000,
		2000000, 2500000, 3000000, 3500000, 4000000:
		return true
	}
	return false
}

// validateLibraryPort checks a library or remote reader (serial-reader.md).
func (c *Config) validateLibraryPort(v *ValidationError, key string, p *Port) {
	if p.Remote && (p.IsLibrary() || p.Port != "") {
		c.problem(v, key+".remote", "true", "a remote reader names no port or library here: they are reader-host's flags on the cashier PC")
	}
	if p.IsLibrary() {
		if p.Port != "" {
			c.problem(v, key+".port", p.Port, "a library reader has no port: remove port or library")
		}
		switch strings.ToLower(p.Interface) {
		case "heasec", "sscard":
			p.Interface = strings.ToLower(p.Interface)
		default:
			c.problem(v, key+".interface", p.Interface, "must be \"heasec\" (HeaSecReadInfo) or \"sscard\" (SSCardDriver)")
		}
		if p.InitJSON != "" {
			var m map[string]any
			if err := json.Unmarshal([]byte(p.InitJSON), &m); err != nil {
				c.problem(v, key+".init_json", p.InitJSON, "must be a JSON object of more Init values: "+err.Error())
			}
		}
		if p.CardType < 0 || p.CardType > 4 {
			c.problem(v, key+".card_type", strconv.Itoa(p.CardType), "must be 1 (contact), 2 (contactless), 3 or 4 (automatic)")
		}
	}
	if p.Poll.Duration < 0 {
		c.problem(v, key+".poll", p.Poll.String(), "must not be negative")
	}
	if p.Deadline.Duration < 0 {
		c.problem(v, key+".deadline", p.Deadline.String(), "must not be negative")
	}
}

// ecQueryPath is where the e-voucher service answers ec.query below its base URL
// (serial-reader.md).
const ecQueryPath = "/localcfc/api/hsecfc/localQrCodeQuery"

// validateEVoucher checks the e-voucher decode service settings and infers what they
// leave out: the mode from url, base_url or library, url from base_url.
func (c *Config) validateEVoucher(v *ValidationError) {
	e := &c.EVoucher
	if e.Mode == "" { // a service named is a service meant
		switch {
		case e.Library != "":
			e.Mode = "library"
		case e.URL != "" || e.BaseURL != "":
			e.Mode = "http"
		}
	}
	if e.URL == "" && e.BaseURL != "" {
		e.URL = strings.TrimRight(e.BaseURL, "/")
		if e.Mode == "http" {
			e.URL += ecQueryPath
		}
	}
	switch e.Mode {
	case "":
	case "http":
		if u, err := url.Parse(e.URL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			c.problem(v, "evoucher.url", e.URL, "must be the decode service's http(s) URL, e.g. https://ec.example/localcfc/api/hsecfc/localQrCodeQuery")
		}
	case "library":
		if e.Library == "" {
			c.problem(v, "evoucher.library", "", "required with mode library: the NationECCode library's path")
		}
	default:
		c.problem(v, "evoucher.mode", e.Mode, "must be \"\" (off), \"http\" or \"library\"")
	}
	if e.Timeout.Duration < 0 {
		c.problem(v, "evoucher.timeout", e.Timeout.String(), "must not be negative")
	}
}
