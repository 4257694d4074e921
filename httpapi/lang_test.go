package httpapi

import (
	"net/http/httptest"
	"testing"
)

func TestPickLang(t *testing.T) {
	for _, tt := range []struct{ url, accept, def, want string }{
		{"/", "", "zh", "zh"},
		{"/", "", "", "zh"},
		{"/", "", "en", "en"},
		{"/?lang=en", "zh-CN,zh;q=0.9", "zh", "en"},
		{"/?lang=zh", "en-US", "en", "zh"},
		{"/", "en-US,en;q=0.9", "zh", "zh"}, // an English browser on a Chinese desk
		{"/?lang=fr", "", "zh", "zh"},
	} {
		r := httptest.NewRequest("GET", tt.url, nil)
		if tt.accept != "" {
			r.Header.Set("Accept-Language", tt.accept)
		}
		if got := pickLang(r, tt.def); got != tt.want {
			t.Errorf("%s Accept-Language %q default %s: got %s; want %s", tt.url, tt.accept, tt.def, got, tt.want)
		}
	}
}
