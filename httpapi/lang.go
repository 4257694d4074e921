package httpapi

import "net/http"

// The languages of the status page. Chinese unless asked otherwise.
const (
	langZh = "zh"
	langEn = "en"
)

// pickLang is the language of one answer: ?lang=zh|en, else def ([api] language,
// "zh" unless configured). The browser's Accept-Language is not followed: the
// front-end machine's and many cashier PCs' browsers say en-US while the people
// at them read Chinese, which is what the page had wrong before.
func pickLang(r *http.Request, def string) string {
	switch r.URL.Query().Get("lang") {
	case "zh", "zh-CN", "cn":
		return langZh
	case "en":
		return langEn
	}
	if def == langEn {
		return langEn
	}
	return langZh
}
