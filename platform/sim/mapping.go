package sim

import (
	"bytes"
	"encoding/csv"
)

// MappingCSV is the item code mapping (目录对照) of a hospital whose HIS codes are the
// catalogue's medins_list_codg: the file the demo and tests give the agent, in the
// format of his-input.md (his_code,med_list_codg,medins_list_codg,name,valid_from,valid_to).
func (f *Fixture) MappingCSV() []byte {
	var buf bytes.Buffer
	w := csv.NewWriter(&buf)
	_ = w.Write([]string{"his_code", "med_list_codg", "medins_list_codg", "name", "valid_from", "valid_to"})
	for _, it := range f.Items {
		_ = w.Write([]string{it.MedinsListCodg, it.MedListCodg, it.MedinsListCodg, it.Name, "2020-01-01", ""})
	}
	w.Flush()
	return buf.Bytes()
}
