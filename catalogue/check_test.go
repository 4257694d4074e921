package catalogue

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/settle-agent/settle-agent/hisadapter"
	"github.com/settle-agent/settle-agent/platform"
	"github.com/settle-agent/settle-agent/platform/sim"
)

// listTypeOf is the list_type of a fixture item as the tests expect it.
func listTypeOf(it sim.CatalogueItem) (infno, listType string) {
	switch {
	case it.Kind == "material":
		return "1306", "301"
	case it.Kind == "drug" && it.MedChrgitmType == "11":
		return "1302", "102"
	case it.Kind == "drug":
		return "1301", "101"
	}
	return "1305", "201"
}

// seedItems puts the fixture's catalogue into s as downloads would (the tests of the
// file downloads themselves are in download_test.go).
func seedItems(t *testing.T, s *Store, fx *sim.Fixture, edit func(*Item)) {
	t.Helper()
	for _, it := range fx.Items {
		infno, lt := listTypeOf(it)
		item := Item{Code: it.MedListCodg, Name: it.Name, ListType: lt, Infno: infno, Begin: 20200101, Ver: "1"}
		if edit != nil {
			edit(&item)
		}
		if err := s.putItems(infno, []Item{item}); err != nil {
			t.Fatal(err)
		}
	}
}

func mustCheck(t *testing.T, raw string, s *Store) *CheckReport {
	t.Helper()
	rep, err := CheckMapping([]byte(raw), s, CheckOptions{Admdvs: "330100", Today: 20261201})
	if err != nil {
		t.Fatalf("CheckMapping: %v", err)
	}
	return rep
}

func TestCheckMapping_DemoPasses(t *testing.T) {
	e := mustSimEnv(t)
	s := mustStore(t)
	if rep := mustCheck(t, string(e.p.Fixture().MappingCSV()), s); !rep.OK() || rep.Synced {
		t.Fatalf("before any sync: %+v; want OK, not synced", rep)
	}
	seedItems(t, s, e.p.Fixture(), nil)
	if _, err := mustSyncer(t, e, s, SyncOptions{Kinds: []Kind{}}).Sync(context.Background()); err != nil {
		t.Fatal(err)
	}
	rep := mustCheck(t, string(e.p.Fixture().MappingCSV()), s)
	var out bytes.Buffer
	rep.Write(&out, "en")
	if !rep.OK() || !rep.Synced || rep.Rows != len(e.p.Fixture().Items) {
		t.Fatalf("demo mapping: %+v\n%s; want OK", rep, out.String())
	}
	n := len(e.p.Fixture().Items)
	want := fmt.Sprintf("mapping file OK: %d row(s), %d HIS code(s); all in the synced catalogue", n, n)
	if got := out.String(); !strings.Contains(got, want) || strings.Count(got, "\n") != 1 {
		t.Errorf("output %q; want one total line %q", got, want)
	}
	out.Reset()
	rep.Write(&out, "zh")
	want = fmt.Sprintf("目录对照文件可用：%d 行，%d 个 HIS 编码；都在已同步的医保目录中", n, n)
	if got := out.String(); !strings.Contains(got, want) || strings.Count(got, "\n") != 1 {
		t.Errorf("Chinese output %q; want one total line %q", got, want)
	}
}

// TestCheckMapping_WrongLines names each wrong line: a code the catalogue lacks, an
// expired code, an invalid code, a code not valid yet, a wrong list type, a price
// over the cap, a price that is no price, and a file problem beside them.
func TestCheckMapping_WrongLines(t *testing.T) {
	e := mustSimEnv(t)
	s := mustStore(t)
	seedItems(t, s, e.p.Fixture(), func(it *Item) {
		switch it.Code {
		case "XC08CAA010A001010100002":
			it.End = 20260630
		case "XC09CAE010A001010100003":
			it.Invalid = true
		case "XA10BAA020A001010100004":
			it.Begin = 20270101
		}
	})
	if _, err := mustSyncer(t, e, s, SyncOptions{Kinds: []Kind{}}).Sync(context.Background()); err != nil {
		t.Fatal(err)
	}
	raw := "his_code,med_list_codg,medins_list_codg,name,valid_from,valid_to,list_type,price\n" +
		"ZL0001,001101000010000,ZL0001,普通门诊诊查费,,,201,25.00\n" + // 2: fine
		"YP9999,XJ99ZZZ999Z999999999999,YP9999,不存在的药,,,,\n" + // 3: not in the catalogue
		"YP0002,XC08CAA010A001010100002,YP0002,硝苯地平缓释片,,,101,\n" + // 4: expired 2026-06-30
		"YP0003,XC09CAE010A001010100003,YP0003,厄贝沙坦片,,,,\n" + // 5: invalid
		"YP0004,XA10BAA020A001010100004,YP0004,盐酸二甲双胍片,,,,\n" + // 6: not valid before 2027
		"YP0001,XJ01CAA040A001010100001,YP0001,阿莫西林胶囊,,,201,\n" + // 7: list_type 101, not 201
		"JC0001,210102015000000,JC0001,胸部CT平扫,,,201,280.00\n" + // 8: cap 260.00
		"JC0002,310701001000000,JC0002,常规心电图检查,,,201,abc\n" + // 9: no price
		"YP0002,XC08CAA010A001010100002,YP0002B,硝苯地平缓释片,2026-01-01,2026-06-30,101,\n" + // 10: overlaps line 4 (file problem); the dates are fine
		"YP0005,XA10AEG030B002010100005,YP0005,甘精胰岛素注射液,2026-01-01,2026-06-30,,\n" + // 11: fine, dated
		"ZJ0001,ZJ99ZZZ999Z999999999999,ZJ0001,院内制剂,,,103,\n" // 12: a 103 code: not a downloaded catalogue, not checked
	rep := mustCheck(t, raw, s)
	want := map[int]string{3: "med_list_codg", 4: "valid_to", 5: "med_list_codg", 6: "med_list_codg", 7: "list_type", 8: "price", 9: "price"}
	got := map[int]string{}
	for _, f := range rep.Findings {
		if _, dup := got[f.Line]; dup {
			t.Errorf("line %d named twice: %+v", f.Line, rep.Findings)
		}
		got[f.Line] = f.Field
		if f.Fix == "" {
			t.Errorf("line %d: no fix given: %+v", f.Line, f)
		}
	}
	for line, field := range want {
		if got[line] != field {
			t.Errorf("line %d: field %q; want %q (findings %+v)", line, got[line], field, rep.Findings)
		}
	}
	if len(got) != len(want) {
		t.Errorf("findings on lines %v; want exactly %v", got, want)
	}
	if len(rep.FileProblems) != 1 || rep.FileProblems[0].Line != 10 {
		t.Errorf("file problems %+v; want the overlap on line 10", rep.FileProblems)
	}
	if rep.OK() || !errors.Is(rep.Err(), hisadapter.ErrMapping) {
		t.Errorf("OK = %v, Err = %v; want refused with ErrMapping", rep.OK(), rep.Err())
	}
	var out bytes.Buffer
	rep.Write(&out, "en")
	for _, s := range []string{"line 3: med_list_codg: 国家编码 XJ99ZZZ999Z999999999999 不在", "line 8: price: 价格 280.00 高于医保限价 260.00", "NOT usable"} {
		if !strings.Contains(out.String(), s) {
			t.Errorf("output lacks %q:\n%s", s, out.String())
		}
	}
}

// TestUpload sends the demo mapping (3301 for each row), then a changed file: a row
// renamed (3301 again), a row removed (3302), and a code the platform does not have
// (refused by the check before anything is sent).
func TestUpload(t *testing.T) {
	for _, shape := range []string{platform.MappingShapeObject, platform.MappingShapeArray, platform.MappingShapeCatalogcompin} {
		t.Run(shape, func(t *testing.T) {
			e := mustSimEnv(t)
			s := mustStore(t)
			fx := e.p.Fixture()
			seedItems(t, s, fx, nil)
			sy := mustSyncer(t, e, s, SyncOptions{Kinds: []Kind{}})
			if _, err := sy.Sync(context.Background()); err != nil {
				t.Fatal(err)
			}
			o := UploadOptions{Shape: shape, Batch: 7, Check: CheckOptions{Admdvs: "330100", Today: 20261201}, Meta: e.meta}
			raw := fx.MappingCSV()

			dry := o
			dry.DryRun = true
			rep, err := Upload(context.Background(), raw, s, sy, e.client, dry)
			if err != nil || len(rep.Lines) != len(fx.Items) || e.p.Stats()[platform.InfnoMappingUpload] != 0 {
				t.Fatalf("dry run = %+v, %v (3301 calls %d); want %d lines, nothing sent", rep, err, e.p.Stats()[platform.InfnoMappingUpload], len(fx.Items))
			}

			rep, err = Upload(context.Background(), raw, s, sy, e.client, o)
			if err != nil || !rep.OK() || rep.Sent != len(fx.Items) {
				t.Fatalf("Upload = %+v, %v; want %d sent", rep, err, len(fx.Items))
			}
			held := e.p.MappingRows(testCode)
			if len(held) != len(fx.Items) {
				t.Fatalf("platform holds %d rows; want %d", len(held), len(fx.Items))
			}
			if r := held["YP0001|101|XJ01CAA040A001010100001"]; r.FixmedinsHilistName != "阿莫西林胶囊" || r.Begndate != "2020-01-01" || r.Enddate != "2099-12-31" {
				t.Errorf("row YP0001 at the platform = %+v", r)
			}
			// Again: nothing to send.
			if rep, err = Upload(context.Background(), raw, s, sy, e.client, o); err != nil || len(rep.Lines) != 0 || rep.Unchanged != len(fx.Items) {
				t.Fatalf("second Upload = %+v, %v; want nothing sent", rep, err)
			}
			lines := strings.Split(strings.TrimSpace(string(raw)), "\n")
			changed := strings.Replace(strings.Join(lines[:len(lines)-1], "\n"), "阿莫西林胶囊", "阿莫西林胶囊(0.25g)", 1) + "\n"
			rep, err = Upload(context.Background(), []byte(changed), s, sy, e.client, o)
			if err != nil || rep.Sent != 2 || rep.Unchanged != len(fx.Items)-2 {
				t.Fatalf("changed Upload = %+v, %v; want 1 change and 1 removal", rep, err)
			}
			var acts []string
			for _, l := range rep.Lines {
				acts = append(acts, l.Infno+" "+l.Action+" "+l.HilistID)
			}
			if want := "3301 change YP0001,3302 remove " + fx.Items[len(fx.Items)-1].MedinsListCodg; strings.Join(acts, ",") != want {
				t.Errorf("lines %v; want %s", acts, want)
			}
			if held := e.p.MappingRows(testCode); len(held) != len(fx.Items)-1 {
				t.Errorf("platform holds %d rows; want %d", len(held), len(fx.Items)-1)
			}
			bad := changed + "YP9999,XJ99ZZZ999Z999999999999,YP9999,不存在的药,,\n"
			before := e.p.Stats()[platform.InfnoMappingUpload]
			rep, err = Upload(context.Background(), []byte(bad), s, sy, e.client, o)
			if !errors.Is(err, ErrRefusedByCheck) || rep.Check.OK() || e.p.Stats()[platform.InfnoMappingUpload] != before {
				t.Fatalf("Upload of a wrong mapping = %v; want ErrRefusedByCheck and nothing sent", err)
			}
		})
	}
}

// TestUpload_PlatformRefuses: the platform refuses a row the local catalogue still
// has (it was withdrawn there); the report names that row, the others go through,
// also when they share its batch.
func TestUpload_PlatformRefuses(t *testing.T) {
	e := mustSimEnv(t)
	s := mustStore(t)
	fx := e.p.Fixture()
	seedItems(t, s, fx, nil)
	// A code the local catalogue has and the platform does not.
	if err := s.putItems("1305", []Item{{Code: "LOCAL0000000001", Name: "本地才有", ListType: "201", Infno: "1305", Ver: "1"}}); err != nil {
		t.Fatal(err)
	}
	sy := mustSyncer(t, e, s, SyncOptions{Kinds: []Kind{}})
	if _, err := sy.Sync(context.Background()); err != nil {
		t.Fatal(err)
	}
	raw := string(fx.MappingCSV()) + "LOC001,LOCAL0000000001,LOC001,本地才有,,\n"
	rep, err := Upload(context.Background(), []byte(raw), s, sy, e.client, UploadOptions{Shape: platform.MappingShapeArray,
		Check: CheckOptions{Admdvs: "330100", Today: 20261201}, Meta: e.meta})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Refused != 1 || rep.Sent != len(fx.Items) || rep.OK() {
		t.Fatalf("report %+v; want 1 refused, %d sent", rep, len(fx.Items))
	}
	var out bytes.Buffer
	rep.Write(&out, "zh")
	if !strings.Contains(out.String(), "LOC001 → LOCAL0000000001 (list_type 201)：被平台拒绝：") {
		t.Errorf("report does not name the refused row:\n%s", out.String())
	}
}

// TestReloadCheck: the hot reload of the mapping refuses a file the catalogue check
// refuses, keeps the old mapping and says why; a good file then goes in.
func TestReloadCheck(t *testing.T) {
	e := mustSimEnv(t)
	s := mustStore(t)
	seedItems(t, s, e.p.Fixture(), nil)
	path := t.TempDir() + "/mapping.csv"
	good := e.p.Fixture().MappingCSV()
	if err := os.WriteFile(path, good, 0o600); err != nil {
		t.Fatal(err)
	}
	mf, err := hisadapter.OpenMappingFile(path, &hisadapter.MappingOptions{
		Check: s.ReloadCheck(func() CheckOptions { return CheckOptions{Admdvs: "330100", Today: 20261201} }),
	})
	if err != nil {
		t.Fatal(err)
	}
	wrong := string(good) + "YP9999,XJ99ZZZ999Z999999999999,YP9999,不存在的药,,\n"
	if err := os.WriteFile(path, []byte(wrong), 0o600); err != nil {
		t.Fatal(err)
	}
	err = mf.Reload()
	if !errors.Is(err, hisadapter.ErrMapping) || !strings.Contains(err.Error(), "XJ99ZZZ999Z999999999999") || mf.LastError() == nil {
		t.Fatalf("Reload of a wrong mapping = %v; want ErrMapping naming the code", err)
	}
	if _, why := mf.Current().Lookup("YP9999", testNow); why == "" {
		t.Fatalf("the refused mapping is in force")
	}
	if err := os.WriteFile(path, append(good, []byte("YP0001X,XJ01CAA040A001010100001,YP0001X,阿莫西林胶囊,,\n")...), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := mf.Reload(); err != nil || mf.LastError() != nil {
		t.Fatalf("Reload of a good mapping = %v", err)
	}
	if e, _ := mf.Current().Lookup("YP0001X", testNow); e.MedListCodg != "XJ01CAA040A001010100001" {
		t.Fatalf("the good mapping is not in force: %+v", e)
	}
}
