package settle

// The languages of what people read (status page, cashier messages, the commands
// hospital staff run): Chinese unless English was asked for. Logs stay English.
const (
	LangZh = "zh"
	LangEn = "en"
)

// Say picks the sentence for lang: en when lang is "en", zh otherwise.
func Say(lang, en, zh string) string {
	if lang == LangEn {
		return en
	}
	return zh
}
