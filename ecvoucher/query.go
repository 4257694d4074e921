package ecvoucher

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/settle-agent/settle-agent"
)

// TransType is the decode call's transType.
const TransType = "ec.query"

// BusinessType is the businessType of a decode for 1101 (人员信息获取).
const BusinessType = "01101"

// Query is the fixed part of every decode: who asks (the hospital and its window).
type Query struct {
	OrgID        string `json:"orgId"` // fixmedins_code
	OperatorID   string `json:"operatorId"`
	OperatorName string `json:"operatorName"`
	OfficeID     string `json:"officeId"`
	OfficeName   string `json:"officeName"`
	DeviceType   string `json:"deviceType"`
}

// request is the ec.query input.
type request struct {
	Data      requestData `json:"data"`
	TransType string      `json:"transType"`
	OrgID     string      `json:"orgId"`
}

type requestData struct {
	OrgID        string `json:"orgId"`
	BusinessType string `json:"businessType"`
	OperatorID   string `json:"operatorId"`
	OperatorName string `json:"operatorName"`
	OfficeID     string `json:"officeId"`
	OfficeName   string `json:"officeName"`
	DeviceType   string `json:"deviceType"`
	ECQrCode     string `json:"ecQrCode"`
}

// Request returns the ec.query input for the scanned code.
func Request(q Query, code string) ([]byte, error) {
	return json.Marshal(request{
		Data: requestData{
			OrgID: q.OrgID, BusinessType: BusinessType, OperatorID: q.OperatorID, OperatorName: q.OperatorName,
			OfficeID: q.OfficeID, OfficeName: q.OfficeName, DeviceType: q.DeviceType, ECQrCode: code,
		},
		TransType: TransType,
		OrgID:     q.OrgID,
	})
}

// parseRequest reads an ec.query input (the simulator's side).
func parseRequest(b []byte) (requestData, error) {
	var r request
	if err := json.Unmarshal(b, &r); err != nil {
		return requestData{}, err
	}
	if r.TransType != TransType {
		return requestData{}, fmt.Errorf("transType %q, want %s", r.TransType, TransType)
	}
	return r.Data, nil
}

// Voucher is what the service says of a code.
type Voucher struct {
	ECToken  string `json:"ecToken"`
	IDNo     string `json:"idNo"`
	IDType   string `json:"idType"`
	UserName string `json:"userName"`
	InsuOrg  string `json:"insuOrg,omitempty"`
}

// Card returns the card 1101 is made from: mdtrt_cert_type 01, mdtrt_cert_no the
// ecToken, and the holder's certificate and name.
func (v Voucher) Card() settle.Card {
	c := settle.Card{CertType: settle.CertEVoucher, CardNo: v.ECToken, SSN: strings.ToUpper(v.IDNo), PsnCertType: v.IDType, Name: v.UserName}
	if len(v.InsuOrg) >= 6 && isDigits(v.InsuOrg[:6]) {
		c.RegionCode = v.InsuOrg[:6]
	}
	return c
}

// answer is the ec.query output; Data is an object or a string holding one.
type answer struct {
	Code    json.RawMessage `json:"code"`
	Message string          `json:"message"`
	Data    json.RawMessage `json:"data"`
}

// maxToken bounds the ecToken and the other fields taken from an answer.
const maxToken = 512

// ParseAnswer parses the service's answer to ec.query: code 0 and the voucher in data
// (an object, or a JSON string holding it). An expired code is ErrExpired, another
// refusal ErrRefused with the service's message, anything else ErrBadAnswer.
func ParseAnswer(b []byte) (Voucher, error) {
	var a answer
	if err := json.Unmarshal(bytes.TrimSpace(b), &a); err != nil {
		return Voucher{}, fmt.Errorf("%v: %w", err, ErrBadAnswer)
	}
	code := strings.Trim(string(a.Code), `"`)
	if code != "0" && code != "0000" && code != "00" {
		msg := strings.TrimSpace(a.Message)
		if code == "" {
			return Voucher{}, fmt.Errorf("answer without a code: %w", ErrBadAnswer)
		}
		if expired(msg) {
			return Voucher{}, fmt.Errorf("code %s %q: %w", code, msg, ErrExpired)
		}
		return Voucher{}, fmt.Errorf("%w: %s (code %s)", ErrRefused, msg, code)
	}
	data := a.Data
	var s string
	if json.Unmarshal(data, &s) == nil { // data as a JSON string holding the object
		data = json.RawMessage(s)
	}
	var v Voucher
	if err := json.Unmarshal(data, &v); err != nil {
		return Voucher{}, fmt.Errorf("data: %v: %w", err, ErrBadAnswer)
	}
	v.ECToken = strings.TrimSpace(v.ECToken)
	switch {
	case v.ECToken == "":
		return Voucher{}, fmt.Errorf("answer without an ecToken: %w", ErrBadAnswer)
	case len(v.ECToken) > maxToken || len(v.IDNo) > 64 || len(v.UserName) > 128 || len(v.IDType) > 8 || len(v.InsuOrg) > 64:
		return Voucher{}, fmt.Errorf("answer field too long: %w", ErrBadAnswer)
	case !printable(v.ECToken) || !printable(v.IDNo) || !printable(v.IDType):
		return Voucher{}, fmt.Errorf("answer holds control characters: %w", ErrBadAnswer)
	}
	return v, nil
}

// expired reports whether a refusal's message says the code expired or was used.
func expired(msg string) bool {
	m := strings.ToLower(msg)
	for _, w := range []string{"过期", "失效", "超时", "已使用", "expired"} {
		if strings.Contains(m, w) {
			return true
		}
	}
	return false
}

func printable(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < 0x20 || s[i] == 0x7f {
			return false
		}
	}
	return true
}

func isDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}
