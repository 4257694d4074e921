package platform

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
)

func TestText_UnmarshalJSON(t *testing.T) {
	var row struct {
		A, B, C, D Text
	}
	if err := json.Unmarshal([]byte(`{"A":"x","B":12.50,"C":null,"D":true}`), &row); err != nil {
		t.Fatal(err)
	}
	if row.A != "x" || row.B != "12.50" || row.C != "" || row.D != "true" {
		t.Fatalf("got %+v; want x, 12.50, empty, true", row)
	}
	if err := json.Unmarshal([]byte(`{"A":{"nested":1}}`), &row); err == nil {
		t.Fatal("an object as a Text: nil error")
	}
}

func TestCount_UnmarshalJSON(t *testing.T) {
	for in, want := range map[string]Count{`3`: 3, `"42"`: 42, `null`: 0, `""`: 0, `7.0`: 7} {
		var c Count
		if err := json.Unmarshal([]byte(in), &c); err != nil || c != want {
			t.Errorf("Count(%s) = %d, %v; want %d", in, c, err, want)
		}
	}
	for _, in := range []string{`-1`, `"x"`, `1.5`} {
		var c Count
		if err := json.Unmarshal([]byte(in), &c); err == nil {
			t.Errorf("Count(%s): nil error", in)
		}
	}
}

// TestMappingUploadInput: the three envelope shapes of 3301.
func TestMappingUploadInput(t *testing.T) {
	row := MappingRow{FixmedinsHilistID: "YP0001", ListType: ListTypeWestern, MedListCodg: "XJ01"}
	for shape, want := range map[string]string{
		MappingShapeObject:        `{"data":{"fixmedins_hilist_id":"YP0001"`,
		MappingShapeArray:         `{"data":[{"fixmedins_hilist_id":"YP0001"`,
		MappingShapeCatalogcompin: `{"catalogcompin":[{"fixmedins_hilist_id":"YP0001"`,
	} {
		in, err := MappingUploadInput(shape, []MappingRow{row})
		if err != nil {
			t.Fatal(err)
		}
		b, _ := json.Marshal(in)
		if !strings.HasPrefix(string(b), want) {
			t.Errorf("%s: %s; want it to start %s", shape, b, want)
		}
	}
	if _, err := MappingUploadInput(MappingShapeObject, []MappingRow{row, row}); !errors.Is(err, ErrNotSent) {
		t.Errorf("two rows in data{}: %v; want ErrNotSent", err)
	}
	if _, err := MappingUploadInput(MappingShapeArray, make([]MappingRow, MaxMappingBatch+1)); !errors.Is(err, ErrNotSent) {
		t.Errorf("101 rows: %v; want ErrNotSent", err)
	}
	if _, err := MappingUploadInput("list", []MappingRow{row}); !errors.Is(err, ErrNotSent) {
		t.Errorf("an unknown shape: %v; want ErrNotSent", err)
	}
}

// FuzzCount: a count it accepts is a whole number that marshals back to itself.
func FuzzCount(f *testing.F) {
	for _, s := range []string{`3`, `"42"`, `null`, `7.0`, `-1`, `"1e3"`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		var c Count
		if err := c.UnmarshalJSON([]byte(s)); err != nil {
			return
		}
		if c < 0 {
			t.Fatalf("Count(%q) = %d", s, c)
		}
	})
}

// A page whose firstPage/lastPage are true/false (as paging libraries write them),
// or numbers, or strings, decodes: members the sync does not use never fail it.
func TestPage_UnusedMembersNeverFail(t *testing.T) {
	for _, flags := range []string{`true, "lastPage": false`, `1, "lastPage": 3`, `"1", "lastPage": null`, `{}, "lastPage": []`} {
		body := `{"firstPage": ` + flags + `, "size": "x", "pageNum": 1.5, "recordCounts": "250", "pages": 3, "data": [{"hilist_code": "A01"}]}`
		var p Page[HilistRow]
		if err := json.Unmarshal([]byte(body), &p); err != nil {
			t.Errorf("page with firstPage %s: got %v; want it decoded", flags, err)
			continue
		}
		if p.RecordCounts != 250 || p.Pages != 3 || len(p.Data) != 1 || p.Data[0].HilistCode != "A01" {
			t.Errorf("page with firstPage %s: got %+v; want 250 rows in 3 pages, A01", flags, p)
		}
	}
}
