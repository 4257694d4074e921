package cardreader

import (
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/settle-agent/settle-agent"
)

// Carriers: what the patient showed at the window, as the card endpoint names it.
const (
	CarrierSSCard   = "sscard"   // 社会保障卡 (mdtrt_cert_type 03)
	CarrierIDCard   = "idcard"   // 居民身份证 (02)
	CarrierEVoucher = "evoucher" // 医保电子凭证 (01)
)

// Carrier names what c was read from, from its certificate type.
func Carrier(c settle.Card) string {
	switch c.CertType {
	case settle.CertEVoucher:
		return CarrierEVoucher
	case settle.CertIDNumber:
		return CarrierIDCard
	}
	return CarrierSSCard
}

// sfzFields is the number of fields of heasec's ReadSFZ output:
// name|gender|ethnicity|birth|address|ID number|issuer|valid from|valid to
const sfzFields = 9

// sfzNoExpiry is how an ID card valid for life (长期) writes its end date.
const sfzNoExpiry = "长期"

// ParseSFZ parses heasec's ReadSFZ output (already decoded from GBK) into a card with
// CertType "02": CardNo and SSN the ID number, IssueDate and ExpiryDate the card's
// validity ("长期" for life). A trailing "|" is allowed. It checks 9 fields, a name, an
// ID number that passes GB 11643 and whose birth date is the card's, and real dates.
func ParseSFZ(s string) (settle.Card, error) {
	if len(s) > maxBasicLen {
		return settle.Card{}, fmt.Errorf("ID card data of %d bytes: %w", len(s), ErrBadIDCard)
	}
	if !utf8.ValidString(s) {
		return settle.Card{}, fmt.Errorf("ID card data is not valid text: %w", ErrBadIDCard)
	}
	for _, r := range s {
		if !settle.PlainRune(r) {
			return settle.Card{}, fmt.Errorf("ID card data holds control or format character %U: %w", r, ErrBadIDCard)
		}
	}
	f := strings.Split(s, "|")
	if len(f) == sfzFields+1 && f[sfzFields] == "" {
		f = f[:sfzFields]
	}
	if len(f) != sfzFields {
		return settle.Card{}, fmt.Errorf("ID card data has %d fields, want %d: %w", len(f), sfzFields, ErrBadIDCard)
	}
	for i := range f {
		f[i] = strings.TrimSpace(f[i])
	}
	id := strings.ToUpper(f[5])
	c := settle.Card{
		CertType:   settle.CertIDNumber,
		SSN:        id,
		CardNo:     id,
		Name:       f[0],
		IssueDate:  f[7],
		ExpiryDate: f[8],
	}
	if c.Name == "" {
		return c, fmt.Errorf("name is empty: %w", ErrBadIDCard)
	}
	if !ValidIDNumber(id) {
		return c, fmt.Errorf("ID number %s: %w", settle.MaskID(id), ErrBadIDNumber)
	}
	if f[3] != id[6:14] {
		return c, fmt.Errorf("birth date %q is not the ID number's: %w", truncate(f[3], 12), ErrBadIDCard)
	}
	if _, ok := parseDate(c.IssueDate); !ok {
		return c, fmt.Errorf("valid-from date %q: %w", truncate(c.IssueDate, 12), ErrBadDate)
	}
	if c.ExpiryDate != sfzNoExpiry {
		if _, ok := parseDate(c.ExpiryDate); !ok {
			return c, fmt.Errorf("valid-to date %q: %w", truncate(c.ExpiryDate, 12), ErrBadDate)
		}
		if c.IssueDate > c.ExpiryDate {
			return c, fmt.Errorf("valid from %s after valid to %s: %w", c.IssueDate, c.ExpiryDate, ErrBadDate)
		}
	}
	return c, nil
}

// SFZString is the inverse of ParseSFZ for the fields a card keeps; gender, ethnicity,
// address and issuer are given.
func SFZString(c settle.Card, gender, ethnicity, address, issuer string) string {
	birth := ""
	if len(c.SSN) == 18 {
		birth = c.SSN[6:14]
	}
	return strings.Join([]string{c.Name, gender, ethnicity, birth, address, c.SSN, issuer, c.IssueDate, c.ExpiryDate}, "|")
}
