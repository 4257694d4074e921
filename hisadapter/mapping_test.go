package hisadapter

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/settle-agent/settle-agent/internal/syncbuf"

	settle "github.com/settle-agent/settle-agent"
	"github.com/settle-agent/settle-agent/internal/poll"
)

func mustMapping(tb testing.TB, name string) *Mapping {
	tb.Helper()
	f, err := os.Open(filepath.Join("testdata", "mapping", name))
	if err != nil {
		tb.Fatal(err)
	}
	defer f.Close()
	m, err := ParseMapping(f)
	if err != nil {
		tb.Fatalf("ParseMapping(%s): %v", name, err)
	}
	return m
}

func day(s string) time.Time {
	t, err := time.ParseInLocation(time.DateOnly, s, chinaTime)
	if err != nil {
		panic(err)
	}
	return t.Add(10 * time.Hour)
}

func TestParseMapping_OK(t *testing.T) {
	m := mustMapping(t, "good.csv")
	if m.Len() != 5 || m.Codes() != 4 {
		t.Errorf("got %d rows, %d codes; want 5, 4", m.Len(), m.Codes())
	}
	for _, tc := range []struct{ code, at, want string }{
		{"YP0001", "2026-11-23", "XC08CAN001A001010100001"},
		{"YP0001", "2025-12-31", "code YP0001 is not valid before 2026-01-01"},
		{"YP0003", "1999-01-01", "XA10BAA001A001010100001"},
		{"ZL0002", "2026-06-30", "001102000010000-11020000100"},
		{"ZL0002", "2026-07-01", "001102000010000-11020000101"},
		{"YP0009", "2026-11-01", "code YP0009 expired on 2026-10-31"},
		{"YP0099", "2026-11-01", "unmapped code YP0099"},
	} {
		e, why := m.Lookup(tc.code, day(tc.at))
		got := e.MedListCodg
		if why != "" {
			got = why
		}
		if got != tc.want {
			t.Errorf("Lookup(%s, %s) = %q; want %q", tc.code, tc.at, got, tc.want)
		}
	}
	if e, _ := m.Lookup("YP0009", day("2026-01-01")); e.Name != "甘草片, 复方" {
		t.Errorf("quoted name = %q; want 甘草片, 复方", e.Name)
	}
}

func TestParseMapping_Problems(t *testing.T) {
	f, err := os.Open(filepath.Join("testdata", "mapping", "bad.csv"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out bytes.Buffer
	if CheckMapping(f, &out, "en") {
		t.Fatal("CheckMapping said ok; want problems")
	}
	goldenFile(t, filepath.Join("mapping", "bad.golden"), out.Bytes())
	// In Chinese (the default of `settle-agent mapping check`) the lines, the reasons
	// the checks know and the total read in Chinese.
	if _, err := f.Seek(0, 0); err != nil {
		t.Fatal(err)
	}
	out.Reset()
	CheckMapping(f, &out, "zh")
	goldenFile(t, filepath.Join("mapping", "bad.zh.golden"), out.Bytes())
	_, err = ParseMapping(strings.NewReader("his_code,name\nA,b\n"))
	var le *LinesError
	if !errors.As(err, &le) || !errors.Is(err, ErrMapping) || le.Problems[0].Line != 1 || !strings.Contains(err.Error(), "med_list_codg") {
		t.Errorf("missing columns: got %v; want a line 1 problem naming med_list_codg", err)
	}
	for name, in := range map[string]string{"Empty": "", "NotUTF8": "his_code\n\xff"} {
		if _, err := ParseMapping(strings.NewReader(in)); !errors.Is(err, ErrMapping) {
			t.Errorf("%s: got %v; want ErrMapping", name, err)
		}
	}
}

func TestMapping_Map(t *testing.T) {
	m := mustMapping(t, "good.csv")
	bill := func(codes ...string) settle.Bill {
		b := settle.Bill{BillNo: "B1"}
		for i, c := range codes {
			b.Items = append(b.Items, settle.Item{Line: i + 1, HISCode: c})
		}
		return b
	}
	t.Run("OK", func(t *testing.T) {
		b := bill("YP0001", "ZL0002")
		if err := m.Map(&b, day("2026-11-23")); err != nil {
			t.Fatal(err)
		}
		if b.Items[0].MedListCodg != "XC08CAN001A001010100001" || b.Items[0].MedinsListCodg != "H0001" ||
			b.Items[1].MedListCodg != "001102000010000-11020000101" {
			t.Errorf("got %+v; want both items mapped", b.Items)
		}
	})
	t.Run("EveryBadCodeListed_BillUntouched", func(t *testing.T) {
		b := bill("YP0001", "YP0099", "YP0009", "ZL0002")
		before := append([]settle.Item(nil), b.Items...)
		err := m.Map(&b, day("2026-11-23"))
		var ve *settle.ValidationError
		if !errors.As(err, &ve) {
			t.Fatalf("got %v; want a ValidationError", err)
		}
		var got []string
		for _, f := range ve.Fields {
			got = append(got, f.Field+": "+f.Reason)
		}
		want := []string{"items[1].his_code: unmapped code YP0099", "items[2].his_code: code YP0009 expired on 2026-10-31"}
		if strings.Join(got, "|") != strings.Join(want, "|") {
			t.Errorf("got %q; want %q", got, want)
		}
		for i := range before {
			if b.Items[i] != before[i] {
				t.Errorf("items[%d] changed to %+v on error; want untouched", i, b.Items[i])
			}
		}
		if FieldErrorsOf(err)[0].Text() != "FT1-7 unmapped code YP0099" {
			t.Errorf("HL7 text = %q; want FT1-7 unmapped code YP0099", FieldErrorsOf(err)[0].Text())
		}
	})
}

// waitFor polls cond until it holds; the test's own deadline bounds it.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	poll.Until(t, 20*time.Second, what, cond)
}

func TestMappingFile_HotReload(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "mapping.csv")
	const header = "his_code,med_list_codg,medins_list_codg,name,valid_from,valid_to\n"
	if err := os.WriteFile(path, []byte(header+"YP0001,N1,H1,a,,\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	var logs syncbuf.Buffer
	mf, err := OpenMappingFile(path, &MappingOptions{Logger: slog.New(slog.NewTextHandler(&logs, nil)), PollInterval: 5 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- mf.Run(ctx) }()
	defer func() { cancel(); <-done }()
	codeOf := func(code string) string {
		e, _ := mf.Current().Lookup(code, day("2026-11-23"))
		return e.MedListCodg
	}
	if codeOf("YP0001") != "N1" || mf.LastError() != nil {
		t.Fatalf("initial mapping: got %q, %v", codeOf("YP0001"), mf.LastError())
	}
	first := mf.LoadedAt()

	// A good change is picked up without a restart (same size, other content).
	if err := os.WriteFile(path, []byte(header+"YP0001,N2,H1,a,,\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "reload", func() bool { return codeOf("YP0001") == "N2" })
	if !mf.LoadedAt().After(first) && !mf.LoadedAt().Equal(first) {
		t.Errorf("LoadedAt went back")
	}

	// A broken file keeps the old mapping, says so at ERROR and in LastError.
	if err := os.WriteFile(path, []byte(header+"YP0001,N3,H1,a,2026-99-01,\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "LastError", func() bool { return mf.LastError() != nil })
	if codeOf("YP0001") != "N2" || !errors.Is(mf.LastError(), ErrMapping) {
		t.Errorf("after a broken file: code %q, LastError %v; want N2 kept and ErrMapping", codeOf("YP0001"), mf.LastError())
	}
	if l := logs.String(); !strings.Contains(l, "level=ERROR") || !strings.Contains(l, "BROKEN") {
		t.Errorf("log lacks a loud ERROR line:\n%s", l)
	}

	// Fixing it clears the error.
	if err := os.WriteFile(path, []byte(header+"YP0001,N4,H1,a,,\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "fixed reload", func() bool { return codeOf("YP0001") == "N4" && mf.LastError() == nil })
}

func TestOpenMappingFile_Broken(t *testing.T) {
	path := filepath.Join(t.TempDir(), "m.csv")
	if _, err := OpenMappingFile(path, nil); err == nil {
		t.Error("missing file: got nil error")
	}
	os.WriteFile(path, []byte("his_code\n"), 0o644)
	if _, err := OpenMappingFile(path, nil); !errors.Is(err, ErrMapping) {
		t.Errorf("broken file: got %v; want ErrMapping", err)
	}
}

func FuzzParseMapping(f *testing.F) {
	for _, name := range []string{"good.csv", "bad.csv"} {
		if b, err := os.ReadFile(filepath.Join("testdata", "mapping", name)); err == nil {
			f.Add(b)
		}
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := ParseMapping(bytes.NewReader(b))
		if err != nil {
			var le *LinesError
			if !errors.As(err, &le) || len(le.Problems) == 0 {
				t.Fatalf("error without problems: %v", err)
			}
			return
		}
		// Every code in a good mapping maps to at most one entry on any day.
		for code, es := range m.byCode {
			for i := 1; i < len(es); i++ {
				if es[i-1].overlaps(es[i]) {
					t.Fatalf("%s: overlapping entries accepted", code)
				}
			}
		}
	})
}
