package settle

import (
	"fmt"
	"regexp"
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
	return fmt.Errorf("%w: %s must be 1 to 30 letters, digits, '.', '_' or '-', got %q", ErrInvalid, field, value)
}
