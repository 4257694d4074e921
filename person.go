package settle

import "time"

// Person is what the platform knows of an insured person (1101 人员信息获取):
// baseinfo plus the insurance records, with field names as the platform spells them.
type Person struct {
	PsnNo       string     `json:"psn_no"`
	PsnCertType string     `json:"psn_cert_type,omitempty"`
	Certno      string     `json:"certno,omitempty"`
	PsnName     string     `json:"psn_name,omitempty"`
	Gend        string     `json:"gend,omitempty"`
	Naty        string     `json:"naty,omitempty"`
	Brdy        string     `json:"brdy,omitempty"`
	Age         string     `json:"age,omitempty"`
	Insuinfo    []InsuInfo `json:"insuinfo"`
	Idetinfo    []IdetInfo `json:"idetinfo,omitempty"`
}

// InsuInfo is one insurance record of a person: which fund, where insured, balance.
type InsuInfo struct {
	Balc          Money  `json:"balc"`
	Insutype      string `json:"insutype"`
	PsnType       string `json:"psn_type,omitempty"`
	PsnInsuStas   string `json:"psn_insu_stas,omitempty"`
	PsnInsuDate   string `json:"psn_insu_date,omitempty"`
	InsuplcAdmdvs string `json:"insuplc_admdvs"`
	Emp           string `json:"emp_name,omitempty"`
}

// IdetInfo is one special identity record (low-income, veteran, …).
type IdetInfo struct {
	PsnIdetType string `json:"psn_idet_type"`
	Begntime    string `json:"begntime,omitempty"`
	Endtime     string `json:"endtime,omitempty"`
}

// Primary returns the insurance record that settles a bill: the first active one,
// else the first one; ok is false when the person has none.
func (p *Person) Primary() (InsuInfo, bool) {
	for _, in := range p.Insuinfo {
		if in.PsnInsuStas == "" || in.PsnInsuStas == "1" {
			return in, true
		}
	}
	if len(p.Insuinfo) > 0 {
		return p.Insuinfo[0], true
	}
	return InsuInfo{}, false
}

// Masked returns a copy fit for a log line or a window that must not see it all.
func (p Person) Masked() Person {
	p.Certno = MaskID(p.Certno)
	p.PsnName = MaskName(p.PsnName)
	return p
}

// Card is what a social security card reader yields (the national ReadCardBas string,
// serial-reader.md), a resident ID card (CertType 02, CardNo and SSN the ID number), or
// an e-voucher (CertType 01, CardNo the ecToken once decoded, SSN the holder's
// certificate number and PsnCertType its type).
type Card struct {
	CertType    string `json:"mdtrt_cert_type"`         // 03 social security card, 02 ID card, 01 e-voucher
	PsnCertType string `json:"psn_cert_type,omitempty"` // e-voucher: the holder's certificate type
	RegionCode  string `json:"region_code,omitempty"`
	SSN         string `json:"ssn,omitempty"`
	CardNo      string `json:"card_no"`
	CardSN      string `json:"card_sn,omitempty"`
	Name        string `json:"name,omitempty"`
	ResetInfo   string `json:"reset_info,omitempty"`
	SpecVersion string `json:"spec_version,omitempty"`
	IssueDate   string `json:"issue_date,omitempty"`
	ExpiryDate  string `json:"expiry_date,omitempty"`
	TerminalNo  string `json:"terminal_no,omitempty"`
	DeviceNo    string `json:"device_no,omitempty"`
}

// Masked returns the card with its social security number masked except for the
// first 6 and last 4 characters, as the window API shows it (the cashier needs the name).
func (c Card) Masked() Card {
	c.SSN = MaskID(c.SSN)
	return c
}

// Patient returns the certificate that identifies the card's holder in a bill and in 1101.
func (c Card) Patient() Patient {
	switch c.CertType {
	case CertEVoucher:
		return Patient{MdtrtCertType: CertEVoucher, MdtrtCertNo: c.CardNo, PsnName: c.Name, PsnCertType: c.PsnCertType, Certno: c.SSN}
	case CertIDNumber:
		return Patient{MdtrtCertType: CertIDNumber, MdtrtCertNo: c.CardNo, PsnName: c.Name}
	}
	return Patient{MdtrtCertType: CertSSCard, MdtrtCertNo: c.CardNo, CardSN: c.CardSN, PsnName: c.Name}
}

// CardRead is one read at one window: the card, when it was read, or why it failed.
type CardRead struct {
	Window string    `json:"window"`
	Card   Card      `json:"card"`
	At     time.Time `json:"at"`
	Err    error     `json:"-"`
}
