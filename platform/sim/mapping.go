package sim

import (
	"bytes"
	"encoding/csv"
)

// MappingCSV renders the catalogue as the hospital's item code mapping file (目录对照,
// his-input.md): his_code,med_list_codg,medins_list_codg,name,valid_from,valid_to, and
// the optional list_type and price the catalogue check reads (docs/catalogue.md). The
// demo HIS uses the hospital's own code (medins_list_codg) as its item code, and every
// row is valid always (empty dates).
func (f *Fixture) MappingCSV() []byte {
	var buf bytes.Buffer
	w := csv.NewWriter(&buf)
	_ = w.Write([]string{"his_code", "med_list_codg", "medins_list_codg", "name", "valid_from", "valid_to", "list_type", "price"})
	for _, it := range f.Items {
		_, listType := infnoOf(it)
		_ = w.Write([]string{it.MedinsListCodg, it.MedListCodg, it.MedinsListCodg, it.Name, "", "", listType, it.Price.String()})
	}
	w.Flush()
	return buf.Bytes()
}
