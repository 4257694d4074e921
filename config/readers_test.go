package config

import (
	"strings"
	"testing"
)

func TestParse_LibraryAndRemoteReaders(t *testing.T) {
	data := strings.Replace(validTOML, `reader = { port = "/dev/ttyUSB0" }`,
		`reader = { library = "/opt/vendor/libHeaSecReadInfo.so", interface = "HeaSec", init = { IP = "10.1.2.3", PORT = 7020, TIMEOUT = 6 }, poll = "250ms" }`, 1)
	data = strings.Replace(data, `token = "tok-w02-bbbbbbbb"`, "token = \"tok-w02-bbbbbbbb\"\nreader = { remote = true }", 1)
	data += "\n[evoucher]\nmode = \"http\"\nurl = \"http://127.0.0.1:9/ec\"\n"
	c := mustParse(t, data, nil)
	r := c.Windows[0].Reader
	if !r.IsLibrary() || r.Interface != "heasec" || r.Init.IP != "10.1.2.3" || r.Init.PORT != 7020 || r.Poll.Duration.String() != "250ms" {
		t.Errorf("library reader = %+v; want heasec with its Init values", r)
	}
	if w := c.Windows[1].Reader; w == nil || !w.Remote {
		t.Errorf("remote reader = %+v; want remote", w)
	}
	if c.EVoucher.Mode != "http" {
		t.Errorf("evoucher mode = %q; want http", c.EVoucher.Mode)
	}
}

func TestParse_LibraryReaderErrors(t *testing.T) {
	for name, tc := range map[string]struct{ reader, want string }{
		"bad interface":    {`reader = { library = "x.so", interface = "serial" }`, "interface"},
		"library and port": {`reader = { library = "x.so", interface = "sscard", port = "COM3" }`, "library reader has no port"},
		"remote and port":  {`reader = { remote = true, port = "COM3" }`, "remote"},
		"bad card type":    {`reader = { library = "x.so", interface = "sscard", card_type = 7 }`, "card_type"},
	} {
		data := strings.Replace(validTOML, `reader = { port = "/dev/ttyUSB0" }`, tc.reader, 1)
		if msg := mustFail(t, data); !strings.Contains(msg, tc.want) {
			t.Errorf("%s: error %q does not mention %q", name, msg, tc.want)
		}
	}
	if msg := mustFail(t, validTOML+"\n[evoucher]\nmode = \"http\"\nurl = \"ftp://x\"\n"); !strings.Contains(msg, "evoucher.url") {
		t.Errorf("bad evoucher url: %q does not name evoucher.url", msg)
	}
}

func TestParse_EVoucherInferred(t *testing.T) {
	c := mustParse(t, validTOML+"\n[evoucher]\nbase_url = \"http://127.0.0.1:9/\"\n", nil)
	if c.EVoucher.Mode != "http" || c.EVoucher.URL != "http://127.0.0.1:9/localcfc/api/hsecfc/localQrCodeQuery" {
		t.Errorf("evoucher from base_url = %+v; want http to the ec.query path", c.EVoucher)
	}
	c = mustParse(t, validTOML+"\n[evoucher]\nlibrary = \"/opt/p/libNationECCode.so\"\nbase_url = \"http://ec\"\n", nil)
	if c.EVoucher.Mode != "library" || c.EVoucher.URL != "http://ec" {
		t.Errorf("evoucher from library = %+v; want library with base_url as NationEcTrans's url", c.EVoucher)
	}
}

func TestParse_InitJSON(t *testing.T) {
	bad := strings.Replace(validTOML, `reader = { port = "/dev/ttyUSB0" }`, `reader = { library = "x.so", interface = "heasec", init_json = "[1" }`, 1)
	if msg := mustFail(t, bad); !strings.Contains(msg, "init_json") {
		t.Errorf("bad init_json: %q does not name it", msg)
	}
	good := strings.Replace(validTOML, `reader = { port = "/dev/ttyUSB0" }`, `reader = { library = "x.so", interface = "heasec", init_json = '{"EC_URL":"http://ec"}' }`, 1)
	if c := mustParse(t, good, nil); c.Windows[0].Reader.InitJSON == "" {
		t.Errorf("init_json lost")
	}
}
