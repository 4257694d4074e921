package catalogue

import (
	"bytes"
	"testing"
)

// FuzzParseText: no input makes the reader panic, every row it hands on has a code,
// and reading a file twice gives the same rows.
func FuzzParseText(f *testing.F) {
	f.Add([]byte("C1\tnull\tx\n"))
	f.Add([]byte(row(92, map[int]string{1: "XJ01", 37: "Mon Dec 28 14:04:04 CST 2020", 83: "7", 92: "乙"}) + "\textra\r\n"))
	f.Add([]byte("\xff\xfe\t\t\n\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, k := range Kinds {
			var first []Item
			_, err := ParseText(k, bytes.NewReader(data), func(it Item) error {
				if it.Code == "" {
					t.Fatalf("row without a code: %+v", it)
				}
				first = append(first, it)
				return nil
			})
			if err != nil {
				return
			}
			n := 0
			ParseText(k, bytes.NewReader(data), func(it Item) error {
				if it != first[n] {
					t.Fatalf("second read row %d = %+v; first %+v", n, it, first[n])
				}
				n++
				return nil
			})
		}
	})
}

// FuzzParseDay: a day it accepts is a real calendar day it can print and read back.
func FuzzParseDay(f *testing.F) {
	for _, s := range []string{"Mon Dec 28 14:04:04 CST 2020", "2026-11-23", "20261123", "1609135444000", "null", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		d, ok := ParseDay(s)
		if !ok || d == 0 {
			return
		}
		back, ok2 := ParseDay(d.String())
		if !ok2 || back != d {
			t.Fatalf("ParseDay(%q) = %v; reading %q back gives %v, %v", s, d, d.String(), back, ok2)
		}
	})
}

// FuzzReadMappingRows: any mapping file reads without a panic, and every row it
// hands on has a line number within the file.
func FuzzReadMappingRows(f *testing.F) {
	f.Add([]byte("his_code,med_list_codg,medins_list_codg,name,valid_from,valid_to,list_type,price\nA,B,C,D,,,101,1.00\n"))
	f.Add([]byte("\ufeffhis_code,unit_price\n\"a\"\"b\",x\n"))
	f.Add([]byte("his_code\n\"unterminated\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		lines := bytes.Count(data, []byte("\n")) + 1
		for _, r := range readMappingRows(data) {
			if r.Line < 2 || r.Line > lines {
				t.Fatalf("row on line %d of a %d-line file", r.Line, lines)
			}
			if r.HasPrice && r.BadPrice != "" {
				t.Fatalf("a price both good and bad: %+v", r)
			}
		}
	})
}
