package config

import "testing"

func TestAPI_LoopbackURL(t *testing.T) {
	for _, tt := range []struct {
		a    API
		want string
	}{
		{API{Listen: "127.0.0.1:8420"}, "http://127.0.0.1:8420"},
		{API{Listen: "0.0.0.0:8420"}, "http://127.0.0.1:8420"},
		{API{Listen: ":8420"}, "http://127.0.0.1:8420"},
		{API{Listen: "[::]:8420"}, "http://[::1]:8420"},
		{API{Listen: "10.1.2.3:8443", TLSCert: "c.pem"}, "https://10.1.2.3:8443"},
	} {
		if got, err := tt.a.LoopbackURL(); err != nil || got != tt.want {
			t.Errorf("%+v: got %q, %v; want %q", tt.a, got, err, tt.want)
		}
	}
	for _, listen := range []string{"nonsense", "8420", ""} {
		if _, err := (API{Listen: listen}).LoopbackURL(); err == nil {
			t.Errorf("listen %q: got no error; want one", listen)
		}
	}
}
