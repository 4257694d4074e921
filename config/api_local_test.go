package config

import "testing"

func TestAPI_LocalURL(t *testing.T) {
	for _, c := range []struct {
		listen, cert, want string
	}{
		{"127.0.0.1:8420", "", "http://127.0.0.1:8420"},
		{"0.0.0.0:8420", "", "http://127.0.0.1:8420"},
		{":8420", "cert.pem", "https://127.0.0.1:8420"},
		{"[::]:8420", "", "http://[::1]:8420"},
		{"10.1.2.3:9000", "", "http://10.1.2.3:9000"},
	} {
		got, err := API{Listen: c.listen, TLSCert: c.cert}.LocalURL()
		if err != nil || got != c.want {
			t.Errorf("LocalURL(%q) = %q, %v; want %q", c.listen, got, err, c.want)
		}
	}
	if _, err := (API{Listen: "8420"}).LocalURL(); err == nil {
		t.Error("listen without a host: nil error")
	}
}
