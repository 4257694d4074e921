package settle

import "unicode/utf8"

// MaskID keeps the first 6 and last 4 characters of an ID, card or social security
// number and hides the rest with '*'; anything of 10 characters or fewer is hidden whole
// but for its last 2.
func MaskID(s string) string {
	n := len(s)
	switch {
	case n == 0:
		return ""
	case n <= 10:
		if n <= 2 {
			return "**"
		}
		return stars(n-2) + s[n-2:]
	}
	return s[:6] + stars(n-10) + s[n-4:]
}

// MaskName keeps the first character of a name: "张三" → "张*", "王小明" → "王**".
func MaskName(s string) string {
	if s == "" {
		return ""
	}
	r, size := utf8.DecodeRuneInString(s)
	return string(r) + stars(utf8.RuneCountInString(s[size:]))
}

func stars(n int) string {
	b := make([]byte, n)
	for i := range b {
		b[i] = '*'
	}
	return string(b)
}
