package settle

import (
	"fmt"
	"regexp"
	"unicode"
	"unicode/utf8"
)

// identifierPattern is the one rule for every identifier the hospital gives the agent
// (bill_no, ipt_no, batch_no, window ids): letters, digits, '.', '_' and '-', 1 to 30
// characters. Nothing else reaches a key, a log line, a CSV cell or a platform message.
var identifierPattern = regexp.MustCompile(`^[A-Za-z0-9._-]{1,30}$`)

// ValidIdentifier reports whether s follows the identifier rule.
func ValidIdentifier(s string) bool { return identifierPattern.MatchString(s) }

// CheckIdentifier returns an ErrInvalid error naming field when value breaks the
// identifier rule, and nil otherwise.
func CheckIdentifier(field, value string) error {
	if ValidIdentifier(value) {
		return nil
	}
	return fmt.Errorf("%w: %s %s", ErrInvalid, field, identifierReason(value))
}

// identifierReason says why value is not an identifier, quoting at most 40 bytes of
// it with every control or format character escaped (%q).
func identifierReason(value string) string {
	if value == "" {
		return "is required"
	}
	return fmt.Sprintf("must be 1 to 30 letters, digits, '.', '_' or '-', got %q", truncate(value, 40))
}

// PlainText reports whether s is valid UTF-8 holding no control character (C0, DEL,
// C1), no format character (bidi overrides such as U+202E, zero-width marks, the byte
// order mark) and no line or paragraph separator (U+2028, U+2029). Names, codes and
// every other free text the HIS sends must be plain text: such characters make a log
// line, a receipt or a spreadsheet show something other than what is stored.
func PlainText(s string) bool {
	if !utf8.ValidString(s) {
		return false
	}
	for _, r := range s {
		if !PlainRune(r) {
			return false
		}
	}
	return true
}

// PlainRune reports whether r may appear in plain text (see PlainText): not a control
// (C0, DEL, C1 such as U+0085), not a format character (bidi controls U+202A–U+202E,
// U+2066–U+2069, zero-width marks) and not a line or paragraph separator.
func PlainRune(r rune) bool {
	return !unicode.IsControl(r) && !unicode.In(r, unicode.Cf, unicode.Zl, unicode.Zp)
}

// CleanText is s made plain text for showing, for text the agent only displays (a
// reader host's error, firmware or port): invalid UTF-8, U+FFFD and every character
// PlainText refuses are dropped, and the rest is cut to at most maxBytes on a character boundary.
func CleanText(s string, maxBytes int) string {
	var b []byte
	for _, r := range s {
		if r == utf8.RuneError || !PlainRune(r) {
			continue
		}
		if len(b)+utf8.RuneLen(r) > maxBytes {
			break
		}
		b = utf8.AppendRune(b, r)
	}
	return string(b)
}
