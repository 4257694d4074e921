package catalogue

import (
	"bytes"
	"encoding/csv"
	"errors"
	"io"
	"strings"

	settle "github.com/settle-agent/settle-agent"
	"github.com/settle-agent/settle-agent/hisadapter"
)

// mappingRow is one line of the item mapping CSV as the catalogue checks and the
// upload read it: the columns of his-input.md, plus the optional list_type and price
// (also unit_price or pric) the platform's mapping carries.
type mappingRow struct {
	Line           int
	HISCode        string
	MedListCodg    string
	MedinsListCodg string
	Name           string
	From, To       hisadapter.Date
	ListType       string
	Price          settle.Price
	HasPrice       bool
	BadPrice       string // the price text when it is not a price
}

// readMappingRows reads the rows of a mapping CSV leniently: what is wrong with the
// file itself is ParseMapping's to say; rows it cannot read are left out here.
func readMappingRows(raw []byte) []mappingRow {
	raw = bytes.TrimPrefix(raw, []byte("\ufeff"))
	cr := csv.NewReader(bytes.NewReader(raw))
	cr.FieldsPerRecord = -1
	header, err := cr.Read()
	if err != nil {
		return nil
	}
	col := map[string]int{}
	for i, h := range header {
		h = strings.ToLower(strings.TrimSpace(h))
		if _, dup := col[h]; !dup {
			col[h] = i
		}
	}
	for _, alias := range []string{"unit_price", "pric"} {
		if _, ok := col["price"]; !ok {
			if i, ok := col[alias]; ok {
				col["price"] = i
			}
		}
	}
	var out []mappingRow
	for {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			var pe *csv.ParseError
			if errors.As(err, &pe) {
				continue
			}
			break
		}
		line, _ := cr.FieldPos(0)
		get := func(name string) string {
			if i, ok := col[name]; ok && i < len(rec) {
				return strings.TrimSpace(rec[i])
			}
			return ""
		}
		r := mappingRow{Line: line, HISCode: get("his_code"), MedListCodg: get("med_list_codg"),
			MedinsListCodg: get("medins_list_codg"), Name: get("name"), ListType: get("list_type")}
		if r.HISCode == "" && r.MedListCodg == "" && r.MedinsListCodg == "" {
			continue
		}
		r.From, _ = hisadapter.ParseDate(get("valid_from"))
		r.To, _ = hisadapter.ParseDate(get("valid_to"))
		if s := get("price"); s != "" {
			if p, err := settle.ParsePrice(s); err == nil {
				r.Price, r.HasPrice = p, true
			} else {
				r.BadPrice = s
			}
		}
		out = append(out, r)
	}
	return out
}
