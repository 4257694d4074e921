package cardreader

import (
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/settle-agent/settle-agent"
	"golang.org/x/text/encoding/simplifiedchinese"
)

// basicFields is the number of fields of the national basic-information string:
// region|ssn|card no|card sn|name|reset info|spec version|issue date|expiry|terminal no|device no
const basicFields = 11

// maxBasicLen bounds the string a reader may hand over (a frame holds at most 1023 bytes).
const maxBasicLen = MaxLen

// ParseBasic parses the basic-information string a certified reader yields (already
// decoded from GBK) into a card with CertType "03". A trailing "|" is allowed. It checks
// what the string alone can tell: 11 fields, a 6-digit region code, a social security
// number that passes GB 11643, a card number, and real yyyyMMdd issue and expiry dates.
// Whether the card is expired today is CheckCard's business.
func ParseBasic(s string) (settle.Card, error) {
	if len(s) > maxBasicLen {
		return settle.Card{}, fmt.Errorf("basic information of %d bytes: %w", len(s), ErrBadBasic)
	}
	if !utf8.ValidString(s) {
		return settle.Card{}, fmt.Errorf("basic information is not valid text: %w", ErrBadBasic)
	}
	for _, r := range s {
		if !settle.PlainRune(r) {
			return settle.Card{}, fmt.Errorf("basic information holds control or format character %U: %w", r, ErrBadBasic)
		}
	}
	f := strings.Split(s, "|")
	if len(f) == basicFields+1 && f[basicFields] == "" {
		f = f[:basicFields]
	}
	if len(f) != basicFields {
		return settle.Card{}, fmt.Errorf("basic information has %d fields, want %d: %w", len(f), basicFields, ErrBadBasic)
	}
	for i := range f {
		f[i] = strings.TrimSpace(f[i])
	}
	c := settle.Card{
		CertType:    settle.CertSSCard,
		RegionCode:  f[0],
		SSN:         strings.ToUpper(f[1]),
		CardNo:      f[2],
		CardSN:      f[3],
		Name:        f[4],
		ResetInfo:   f[5],
		SpecVersion: f[6],
		IssueDate:   f[7],
		ExpiryDate:  f[8],
		TerminalNo:  f[9],
		DeviceNo:    f[10],
	}
	if !digits(c.RegionCode, 6) {
		return c, fmt.Errorf("region code %q: %w", truncate(c.RegionCode, 12), ErrBadRegion)
	}
	if !ValidIDNumber(c.SSN) {
		return c, fmt.Errorf("social security number %s: %w", settle.MaskID(c.SSN), ErrBadIDNumber)
	}
	if c.CardNo == "" {
		return c, fmt.Errorf("card number is empty: %w", ErrBadBasic)
	}
	if c.Name == "" {
		return c, fmt.Errorf("name is empty: %w", ErrBadBasic)
	}
	if _, ok := parseDate(c.IssueDate); !ok {
		return c, fmt.Errorf("issue date %q: %w", truncate(c.IssueDate, 12), ErrBadDate)
	}
	if _, ok := parseDate(c.ExpiryDate); !ok {
		return c, fmt.Errorf("expiry date %q: %w", truncate(c.ExpiryDate, 12), ErrBadDate)
	}
	if c.IssueDate > c.ExpiryDate {
		return c, fmt.Errorf("issue date %s is after expiry date %s: %w", c.IssueDate, c.ExpiryDate, ErrBadDate)
	}
	return c, nil
}

// CheckCard checks a parsed card against today's date in now's location: a card is
// good through its expiry date, and its issue date must not be in the future (a
// reader clock or a forged card). E-voucher cards (CertType "01") carry no dates; an
// ID card (02) valid for life ("长期") does not expire.
func CheckCard(c settle.Card, now time.Time) error {
	if c.CertType == settle.CertEVoucher {
		return nil
	}
	today := now.Format("20060102")
	if c.CertType == settle.CertIDNumber && c.ExpiryDate == sfzNoExpiry {
		// valid for life
	} else if c.ExpiryDate < today && c.CertType == settle.CertIDNumber {
		return fmt.Errorf("ID card %s expired on %s: %w", settle.MaskID(c.CardNo), c.ExpiryDate, ErrIDCardExpired)
	} else if c.ExpiryDate < today {
		return fmt.Errorf("card %s expired on %s: %w", settle.MaskID(c.CardNo), c.ExpiryDate, ErrCardExpired)
	}
	if c.IssueDate > today {
		return fmt.Errorf("card %s issued on %s, after today %s: %w", settle.MaskID(c.CardNo), c.IssueDate, today, ErrBadDate)
	}
	return nil
}

// BasicString is the inverse of ParseBasic: the 11 fields of c joined by "|", with the
// trailing "|" readers commonly add.
func BasicString(c settle.Card) string {
	return strings.Join([]string{
		c.RegionCode, c.SSN, c.CardNo, c.CardSN, c.Name, c.ResetInfo,
		c.SpecVersion, c.IssueDate, c.ExpiryDate, c.TerminalNo, c.DeviceNo,
	}, "|") + "|"
}

// idWeights and idCheck are GB 11643-1999's ISO 7064 MOD 11-2 check.
var (
	idWeights = [17]int{7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2}
	idCheck   = "10X98765432"
)

// ValidIDNumber reports whether s is an 18-character citizen ID number (GB 11643):
// 6 digits of region, a real birth date yyyyMMdd from 1900 on, 3 digits of sequence,
// and the check character (a digit or X, x accepted) that ISO 7064 MOD 11-2 demands.
func ValidIDNumber(s string) bool {
	if len(s) != 18 || !digits(s[:17], 17) {
		return false
	}
	if d, ok := parseDate(s[6:14]); !ok || d.Year() < 1900 {
		return false
	}
	sum := 0
	for i, w := range idWeights {
		sum += int(s[i]-'0') * w
	}
	want := idCheck[sum%11]
	got := s[17]
	if got == 'x' {
		got = 'X'
	}
	return got == want
}

func digits(s string, n int) bool {
	if len(s) != n {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// parseDate parses yyyyMMdd and refuses what time.Parse would normalise (20230230).
func parseDate(s string) (time.Time, bool) {
	if !digits(s, 8) {
		return time.Time{}, false
	}
	t, err := time.Parse("20060102", s)
	if err != nil || t.Format("20060102") != s {
		return time.Time{}, false
	}
	return t, true
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + "…"
}

// DecodeGBK turns GBK bytes from the wire into a string.
func DecodeGBK(b []byte) (string, error) {
	s, err := simplifiedchinese.GBK.NewDecoder().Bytes(b)
	if err != nil {
		return "", fmt.Errorf("decode GBK: %w", err)
	}
	return string(s), nil
}

// EncodeGBK turns a string into GBK bytes for the wire; it fails on a character GBK
// does not have.
func EncodeGBK(s string) ([]byte, error) {
	b, err := simplifiedchinese.GBK.NewEncoder().Bytes([]byte(s))
	if err != nil {
		return nil, fmt.Errorf("encode GBK: %w", err)
	}
	return b, nil
}
