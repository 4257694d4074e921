package catalogue

import (
	"archive/zip"
	"bytes"
	"errors"
	"strings"
	"testing"

	"golang.org/x/text/encoding/simplifiedchinese"

	"github.com/settle-agent/settle-agent/hisadapter"
)

// row builds a TAB line of n columns with the given 1-based positions set.
func row(n int, set map[int]string) string {
	cols := make([]string, n)
	for i := range cols {
		cols[i] = "null"
	}
	for pos, v := range set {
		cols[pos-1] = v
	}
	return strings.Join(cols, "\t")
}

func mustKind(t *testing.T, infno string) Kind {
	t.Helper()
	k, ok := KindOf(infno)
	if !ok {
		t.Fatalf("KindOf(%s) not found", infno)
	}
	return k
}

func parseAll(t *testing.T, k Kind, text string) ([]Item, TextStats) {
	t.Helper()
	var items []Item
	st, err := ParseText(k, strings.NewReader(text), func(it Item) error {
		items = append(items, it)
		return nil
	})
	if err != nil {
		t.Fatalf("ParseText: %v", err)
	}
	return items, st
}

func TestParseText_Western(t *testing.T) {
	k := mustKind(t, "1301")
	text := row(92, map[int]string{1: "XJ01CAA040A001010100001", 2: "阿莫灵", 4: "阿莫西林胶囊", 14: "0.25g",
		37: "Mon Dec 28 14:04:04 CST 2020", 38: "null", 79: "1", 82: "Tue Nov 03 09:00:00 CST 2026", 83: "20261101001", 92: "甲"}) +
		"\tgrown column\tand another\r\n" +
		row(92, map[int]string{1: "XC09CAE010A001010100003", 2: "安博维", 37: "2020-01-01", 38: "2026-06-30 23:59:59", 79: "0", 83: "20261101002", 92: "乙类"}) + "\n" +
		"\n" + // blank line
		row(92, map[int]string{2: "no code"}) + "\n" +
		row(50, map[int]string{1: "SHORT"}) // a short last line without its newline
	items, st := parseAll(t, k, text)
	if st.Rows != 3 || st.Skipped != 1 || st.MaxVer != "20261101002" {
		t.Fatalf("stats = %+v; want 3 rows, 1 skipped, max ver 20261101002", st)
	}
	want := []Item{
		{Code: "XJ01CAA040A001010100001", Name: "阿莫西林胶囊", ListType: "101", Infno: "1301", Spec: "0.25g", Begin: 20201228,
			UpdtTime: "Tue Nov 03 09:00:00 CST 2026", Ver: "20261101001", Class: "甲"},
		{Code: "XC09CAE010A001010100003", Name: "安博维", ListType: "101", Infno: "1301", Begin: 20200101, End: 20260630,
			Invalid: true, Ver: "20261101002", Class: "乙"},
		{Code: "SHORT", ListType: "101", Infno: "1301"},
	}
	for i := range want {
		if items[i] != want[i] {
			t.Errorf("item %d = %+v; want %+v", i, items[i], want[i])
		}
	}
}

func TestParseText_GB18030Line(t *testing.T) {
	k := mustKind(t, "1305")
	line := row(16, map[int]string{1: "001101000010000", 10: "普通门诊诊查费", 15: "3"})
	gbk, err := simplifiedchinese.GB18030.NewEncoder().String(line)
	if err != nil {
		t.Fatal(err)
	}
	items, _ := parseAll(t, k, gbk+"\n")
	if len(items) != 1 || items[0].Name != "普通门诊诊查费" {
		t.Fatalf("items = %+v; want the name decoded from GB 18030", items)
	}
}

func TestParseText_ErrFileLongLine(t *testing.T) {
	k := mustKind(t, "1305")
	_, err := ParseText(k, strings.NewReader(strings.Repeat("x", maxLineBytes+10)), func(Item) error { return nil })
	if !errors.Is(err, ErrFile) {
		t.Fatalf("err = %v; want ErrFile", err)
	}
}

func TestParseDay(t *testing.T) {
	cases := []struct {
		in   string
		want hisadapter.Date
		ok   bool
	}{
		{"Mon Dec 28 14:04:04 CST 2020", 20201228, true},
		{"Thu Feb 29 00:00:00 CST 2024", 20240229, true},
		{"Fri Feb 30 00:00:00 CST 2024", 0, false},
		{"2026-11-23", 20261123, true},
		{"2026-11-23 10:11:12", 20261123, true},
		{"2026/11/23", 20261123, true},
		{"20261123", 20261123, true},
		{"1609135444000", 20201228, true}, // Java millis, Beijing day
		{"", 0, true},
		{"null", 0, true},
		{"NULL", 0, true},
		{"yesterday", 0, false},
		{"2026-13-01", 0, false},
	}
	for _, c := range cases {
		got, ok := ParseDay(c.in)
		if got != c.want || ok != c.ok {
			t.Errorf("ParseDay(%q) = %v, %v; want %v, %v", c.in, got, ok, c.want, c.ok)
		}
	}
}

func TestCompareVer(t *testing.T) {
	cases := []struct {
		a, b string
		want int
	}{
		{"20261101002", "20261101001", 1},
		{"V10", "V9", 1},
		{"1.10", "1.9", 1},
		{"0", "", 0},
		{"", "1", -1},
		{"007", "7", 0},
		{"abc", "abd", -1},
		{"2", "2a", -1},
	}
	for _, c := range cases {
		if got := compareVer(c.a, c.b); got != c.want {
			t.Errorf("compareVer(%q, %q) = %d; want %d", c.a, c.b, got, c.want)
		}
		if got := compareVer(c.b, c.a); got != -c.want {
			t.Errorf("compareVer(%q, %q) = %d; want %d", c.b, c.a, got, -c.want)
		}
	}
}

func zipOf(t *testing.T, files map[string]string) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for name, body := range files {
		w, err := zw.Create(name)
		if err != nil {
			t.Fatal(err)
		}
		w.Write([]byte(body))
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestOpenFile(t *testing.T) {
	k := mustKind(t, "1305")
	line := row(16, map[int]string{1: "C1", 15: "1"}) + "\n"
	t.Run("Zip", func(t *testing.T) {
		r, err := OpenFile(zipOf(t, map[string]string{"readme.md": "not this", "1305.txt": line}))
		if err != nil {
			t.Fatal(err)
		}
		st, err := ParseText(k, r, func(Item) error { return nil })
		if err != nil || st.Rows != 1 {
			t.Fatalf("ParseText = %+v, %v; want 1 row", st, err)
		}
	})
	t.Run("Bare", func(t *testing.T) {
		r, err := OpenFile([]byte(line))
		if err != nil {
			t.Fatal(err)
		}
		if st, _ := ParseText(k, r, func(Item) error { return nil }); st.Rows != 1 {
			t.Fatalf("rows = %d; want 1", st.Rows)
		}
	})
	t.Run("ErrFile", func(t *testing.T) {
		for _, data := range [][]byte{[]byte("PK\x03\x04broken"), []byte(`{"infcode":-2,"err_msg":"文件不存在"}`), zipOf(t, nil)} {
			if _, err := OpenFile(data); !errors.Is(err, ErrFile) {
				t.Errorf("OpenFile(%.20q) = %v; want ErrFile", data, err)
			}
		}
	})
}
