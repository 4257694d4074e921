package doctor

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/http"
	neturl "net/url"
	"os"
	"strings"
	"time"

	settle "github.com/settle-agent/settle-agent"
	"github.com/settle-agent/settle-agent/config"
	"github.com/settle-agent/settle-agent/platform"
	"github.com/settle-agent/settle-agent/platform/gmcodec"
)

// doctorOpter is the operator number doctor signs in as, so the platform's log
// tells its sign-ins from the agent's.
const doctorOpter = "doctor"

// doctorMsgid is the msgid of doctor's n-th call (n = 0, 1) in the second of now:
// the hospital code, the second in Beijing time, and a sequence counted down from
// the top of this node's range (9999 without a node, node*1000+999 with one).
//
// Why it never repeats one of the agent's: the agent's generator counts each
// second's sequences up from the bottom of the same range and never issues a
// second before the wall clock, so it reaches the top only after 1000 (10000
// without a node) msgids in that one second. Why it never repeats one of an
// earlier doctor run: Doctor waits for the wall clock to leave that second before
// it returns (see waitPastSecond). Two doctor runs started in the same second on
// one machine are the one case left; do not run doctor in a loop.
func doctorMsgid(code string, node int, now time.Time, n int) string {
	top := 9999
	if node >= 0 && node <= 9 {
		top = node*1000 + 999
	}
	return fmt.Sprintf("%s%s%04d", code, now.In(settle.Beijing).Format("20060102150405"), top-n)
}

// signIn is what the platform check learned, for the clock check.
type signIn struct {
	resp *platform.Response // the 9001 answer's envelope, nil when none came
	at   time.Time          // local time in the middle of the call
}

// platform signs in to the platform with 9001 (and out again with 9002) as
// operator "doctor", and reports the latency.
func (d *doctor) platform(ctx context.Context, cfg *config.Config) signIn {
	const name = "platform"
	if cfg.Platform.BaseURL == "" {
		d.fail(name, "[platform] base_url is empty", "set [platform] base_url to the platform's address on the 金保 line").
			zh("[platform] base_url 未填写", "请把 [platform] base_url 设为医保平台在金保专线上的地址")
		return signIn{}
	}
	if d.o.PlatformOptions == nil {
		d.fail(name, "doctor was built without the agent's platform options", "a build problem: tell the vendor (doctor.Options.PlatformOptions)").
			zh("doctor 构建时缺少 agent 的平台选项", "这是构建问题：请告知厂商（doctor.Options.PlatformOptions）")
		return signIn{}
	}
	po := d.o.PlatformOptions(cfg)
	po.Now, po.Logger, po.MaxIdleConnsPerHost = d.o.Now, d.log, 1
	client, err := platform.NewClient(po)
	if err != nil {
		fix, fixZh := "check [platform] base_url, ca_file, cert_file and key_file", "请检查 [platform] base_url、ca_file、cert_file 和 key_file"
		if errors.Is(err, gmcodec.ErrSettings) {
			fix = "fix the [platform.crypto] keys named (settle-agent config check names each); use what the province issued"
			fixZh = "请改正所指的 [platform.crypto] 各项（settle-agent config check 会逐项列出），使用省平台下发的值"
		}
		d.fail(name, err.Error(), fix).zh("无法建立平台客户端："+err.Error(), fixZh)
		return signIn{}
	}
	defer client.Close()

	start := d.o.Now()
	defer d.waitPastSecond(ctx, start)
	var out platform.SignInOutput
	in := platform.SignInInput{SignIn: platform.SignInData{OpterNo: doctorOpter, Mac: "", IP: localIP(cfg.Platform.BaseURL)}}
	resp, err := client.Call(ctx, platform.InfnoSignIn, platform.Meta{Msgid: doctorMsgid(cfg.Hospital.FixmedinsCode, cfg.Hospital.MsgidNode, start, 0)}, in, &out)
	end := d.o.Now()
	latency := end.Sub(start).Round(time.Millisecond)
	at := start.Add(end.Sub(start) / 2)
	if err != nil {
		detail, fix, fixZh := explainPlatformErr(cfg, err)
		d.fail(name, fmt.Sprintf("sign-in (9001) to %s failed after %v: %s", cfg.Platform.BaseURL, latency, detail), fix).
			zh(fmt.Sprintf("签到（9001）%s 失败，耗时 %v：%s", cfg.Platform.BaseURL, latency, detail), fixZh)
		return signIn{resp: resp, at: at}
	}
	signedOut, signedOutZh := "signed out again", "已签退"
	client.SetSignNo(out.Signinoutb.SignNo)
	if _, err := client.Call(ctx, platform.InfnoSignOut, platform.Meta{Msgid: doctorMsgid(cfg.Hospital.FixmedinsCode, cfg.Hospital.MsgidNode, start, 1)},
		platform.SignOutInput{SignOut: platform.SignOutData{SignNo: out.Signinoutb.SignNo, OpterNo: doctorOpter}}, nil); err != nil {
		signedOut = "sign-out (9002) failed: " + err.Error()
		signedOutZh = "签退（9002）失败：" + err.Error()
	}
	if d.agentHoldsStore {
		if r, err := d.agentReadyz(ctx, cfg); err == nil && !r.Online {
			signedOut += "; the running agent still works offline: it tries again every [platform] probe_interval"
			signedOutZh += "；运行中的 agent 仍处于离线状态：每隔 [platform] probe_interval 重试"
		}
	}
	envelope, envelopeZh := "", ""
	if cfg.Platform.Crypto.Mode != "" || cfg.Platform.Crypto.Sign != "" {
		envelope = fmt.Sprintf(" with 国密 envelopes (mode %q, sign %q)", cfg.Platform.Crypto.Mode, cfg.Platform.Crypto.Sign)
		envelopeZh = fmt.Sprintf("，使用国密信封（mode %q，sign %q）", cfg.Platform.Crypto.Mode, cfg.Platform.Crypto.Sign)
	}
	d.ok(name, fmt.Sprintf("signed in to %s as %s%s in %v (sign_no %s; %s)", cfg.Platform.BaseURL,
		cfg.Hospital.FixmedinsCode, envelope, latency, out.Signinoutb.SignNo, signedOut)).
		zh(fmt.Sprintf("已以 %s 签到 %s%s，耗时 %v（sign_no %s；%s）", cfg.Hospital.FixmedinsCode, cfg.Platform.BaseURL,
			envelopeZh, latency, out.Signinoutb.SignNo, signedOutZh), "")
	return signIn{resp: resp, at: at}
}

// explainPlatformErr turns a failed call into what happened and what to do, in
// English and in Chinese.
func explainPlatformErr(cfg *config.Config, err error) (detail, fix, fixZh string) {
	detail = err.Error()
	line := "check [platform] base_url and the 金保 line (is the front-end machine's route to the platform up?)"
	lineZh := "请检查 [platform] base_url 和金保专线（前置机到医保平台的线路是否通？）"
	var refusal *platform.EnvelopeRefusal
	switch {
	case errors.As(err, &refusal):
		return detail, "the platform could not decrypt or verify doctor's envelope: " + refusal.Settings(),
			"医保平台无法解密或验证 doctor 的信封：" + refusal.Settings()
	case errors.Is(err, platform.ErrBadResponse) && strings.Contains(detail, "[platform.crypto]"):
		return detail, "the platform's answer could not be opened or its signature does not verify: check the [platform.crypto] keys the error names against what the province issued",
			"医保平台的应答无法解开或签名验证不通过：请按省平台下发的值核对错误中所指的 [platform.crypto] 各项"
	case errors.Is(err, platform.ErrUnauthorized):
		if cfg.Platform.Paasid == "" {
			return detail, "the gateway wants signed calls: set [platform] paasid and token to what the platform issued for this hospital",
				"网关要求签名调用：请把 [platform] paasid 和 token 设为平台为本院下发的值"
		}
		return detail, "the gateway refused the signature: check [platform] paasid and token (the pair the platform issued), and this machine's clock (see clock skew)",
			"网关拒绝了签名：请核对 [platform] paasid 和 token（平台下发的那一对），并检查本机时钟（见时钟偏差）"
	case errors.Is(err, platform.ErrBusiness):
		return detail, "the platform refused the sign-in: check [hospital] fixmedins_code and admdvs with the platform's operator",
			"医保平台拒绝签到：请与平台运维核对 [hospital] fixmedins_code 和 admdvs"
	case strings.Contains(detail, "certificate") || strings.Contains(detail, "x509") || strings.Contains(detail, "tls:"):
		if cfg.Platform.CAFile == "" {
			return detail, "the platform's TLS certificate is not trusted: set [platform] ca_file to the 金保 network's CA bundle (PEM)",
				"不信任医保平台的 TLS 证书：请把 [platform] ca_file 设为金保网的 CA 证书包（PEM）"
		}
		return detail, fmt.Sprintf("the platform's TLS certificate is not trusted by [platform] ca_file %s: get the right CA bundle from the platform's operator; check the machine's date too", cfg.Platform.CAFile),
			fmt.Sprintf("[platform] ca_file %s 不信任医保平台的 TLS 证书：请向平台运维索取正确的 CA 证书包；也请检查本机日期", cfg.Platform.CAFile)
	case errors.Is(err, platform.ErrNotSent):
		return detail, line, lineZh
	case errors.Is(err, platform.ErrOutcomeUnknown):
		return detail, "the platform took the call but did not answer properly: " + line + "; if it persists, ask the platform's operator",
			"医保平台收到了调用但未正常应答：" + lineZh + "；若持续如此，请联系平台运维"
	}
	return detail, line, lineZh
}

// localIP is this machine's address on the route to the platform ("" when unknown),
// the ip of 9001. No packet is sent: a UDP "connection" only picks a route.
func localIP(baseURL string) string {
	host := baseURL
	if i := strings.Index(host, "://"); i >= 0 {
		host = host[i+3:]
	}
	host, _, _ = strings.Cut(host, "/")
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	c, err := net.Dial("udp", net.JoinHostPort(strings.Trim(host, "[]"), "9"))
	if err != nil {
		return ""
	}
	defer c.Close()
	if a, ok := c.LocalAddr().(*net.UDPAddr); ok {
		return a.IP.String()
	}
	return ""
}

// waitPastSecond returns once the local clock has left the second of t, so a
// later doctor run cannot issue doctor's msgids of that second again. It waits
// at most one second.
func (d *doctor) waitPastSecond(ctx context.Context, t time.Time) {
	wait := t.Truncate(time.Second).Add(time.Second).Sub(d.o.Now())
	if wait <= 0 || wait > time.Second {
		return
	}
	tm := time.NewTimer(wait)
	defer tm.Stop()
	select {
	case <-ctx.Done():
	case <-tm.C:
	}
}

// platformTLS is the TLS configuration the platform client uses, for the clock
// check's own request.
func platformTLS(p config.Platform) (*tls.Config, error) {
	conf := &tls.Config{MinVersion: tls.VersionTLS12, InsecureSkipVerify: p.InsecureSkipVerify} //nolint:gosec // configurable, as for the agent
	if p.CAFile != "" {
		pem, err := os.ReadFile(p.CAFile)
		if err != nil {
			return nil, fmt.Errorf("platform ca_file: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("platform ca_file %s holds no PEM certificate", p.CAFile)
		}
		conf.RootCAs = pool
	}
	if p.CertFile != "" || p.KeyFile != "" {
		cert, err := tls.LoadX509KeyPair(p.CertFile, p.KeyFile)
		if err != nil {
			return nil, fmt.Errorf("platform client certificate: %w", err)
		}
		conf.Certificates = []tls.Certificate{cert}
	}
	return conf, nil
}

// Clock skew thresholds: the gateway refuses signatures more than
// platform.DefaultMaxSkew (300 s) off.
const (
	skewWarn = 30 * time.Second
	skewFail = platform.DefaultMaxSkew
)

// clockSkew compares this machine's clock with the platform's: the HTTP Date
// header of a HEAD request to the platform, or, when that gives nothing, the
// respond_time of the sign-in answer.
func (d *doctor) clockSkew(ctx context.Context, cfg *config.Config, si signIn) {
	const name = "clock skew"
	fix := "set this machine's clock: Linux 'timedatectl set-ntp true' with the hospital's NTP server; Windows 'w32tm /resync'; " +
		"the platform's gateway refuses calls more than 300 s off"
	fixZh := "请校准本机时钟：Linux 用 'timedatectl set-ntp true' 并指向医院的 NTP 服务器；Windows 用 'w32tm /resync'；" +
		"时间偏差超过 300 s 时平台网关拒绝调用"
	if cfg.Platform.BaseURL == "" {
		d.warn(name, "not measured: no platform to compare with", "set [platform] base_url").zh("未测量：没有可比对的医保平台", "请设置 [platform] base_url")
		return
	}
	skew, source, err := d.headSkew(ctx, cfg)
	if err != nil && si.resp != nil && si.resp.RespondTime != "" {
		if t, perr := platform.ParseTime(si.resp.RespondTime); perr == nil { // 17 digits yyyyMMddHHmmssSSS, or older forms
			skew, source, err = t.Add(500*time.Millisecond).Sub(si.at), "respond_time of the sign-in answer", nil
		}
	}
	if err != nil {
		d.warn(name, "not measured: "+err.Error(), "get the platform check to pass first").zh("未测量："+err.Error(), "请先让医保平台检查通过")
		return
	}
	skew = skew.Round(time.Second)
	detail := fmt.Sprintf("the platform's clock is %s this machine's (%s)", describeSkew(skew), source)
	detailZh := fmt.Sprintf("医保平台时钟%s（%s）", describeSkewZh(skew), sourceZh[source])
	switch abs := max(skew, -skew); {
	case abs > skewFail:
		d.fail(name, detail+"; over 300 s every signed call is refused", fix).zh(detailZh+"；超过 300 s 时每个签名调用都会被拒绝", fixZh)
	case abs > skewWarn:
		d.warn(name, detail+"; over 30 s", fix).zh(detailZh+"；超过 30 s", fixZh)
	default:
		d.ok(name, detail).zh(detailZh, "")
	}
}

// sourceZh is where the platform's time was read, in Chinese.
var sourceZh = map[string]string{
	"respond_time of the sign-in answer": "取自签到应答的 respond_time",
	"HTTP Date of the platform's answer": "取自平台应答的 HTTP Date",
}

func describeSkewZh(s time.Duration) string {
	switch {
	case s > 0:
		return "比本机快 " + s.String()
	case s < 0:
		return "比本机慢 " + (-s).String()
	}
	return "与本机相差不到 1s"
}

func describeSkew(s time.Duration) string {
	switch {
	case s > 0:
		return s.String() + " ahead of"
	case s < 0:
		return (-s).String() + " behind"
	}
	return "within 1s of"
}

// headSkew asks the platform's address with HEAD and compares its Date header
// with the local time in the middle of the request.
func (d *doctor) headSkew(ctx context.Context, cfg *config.Config) (time.Duration, string, error) {
	tlsConf, err := platformTLS(cfg.Platform)
	if err != nil {
		return 0, "", err
	}
	timeout := cfg.Platform.Timeout.Duration
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	tr := &http.Transport{Proxy: nil, TLSClientConfig: tlsConf, DisableKeepAlives: true}
	defer tr.CloseIdleConnections()
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	url := strings.TrimSuffix(cfg.Platform.BaseURL, "/") + "/" + strings.TrimPrefix(cfg.Platform.Path, "/")
	req, err := http.NewRequestWithContext(ctx, http.MethodHead, url, nil)
	if err != nil {
		return 0, "", err
	}
	t0 := d.o.Now()
	resp, err := (&http.Client{Transport: tr}).Do(req)
	t1 := d.o.Now()
	if err != nil {
		var ue *neturl.Error
		if errors.As(err, &ue) {
			err = ue.Err // without the URL again
		}
		return 0, "", fmt.Errorf("HEAD %s: %w", url, err)
	}
	resp.Body.Close()
	date, err := http.ParseTime(resp.Header.Get("Date"))
	if err != nil {
		return 0, "", fmt.Errorf("HEAD %s: no usable Date header (%q)", url, resp.Header.Get("Date"))
	}
	// Date is truncated to the second: the platform's time was within the second after it.
	mid := t0.Add(t1.Sub(t0) / 2)
	return date.Add(500 * time.Millisecond).Sub(mid), "HTTP Date of the platform's answer", nil
}
