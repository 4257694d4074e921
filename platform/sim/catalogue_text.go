package sim

import (
	"archive/zip"
	"bytes"
	"sort"
	"strings"
	"time"

	"github.com/settle-agent/settle-agent/platform"
)

// textLayout is where the simulator writes the columns of a download's TAB text
// (1-based), as the interface specification numbers them; it writes one column more
// than the specification lists, as a platform that grew a column does.
type textLayout struct {
	columns                                                    int
	code, name, altName, spec, begin, end, vali, updt, ver, lv int
}

var textLayouts = map[string]textLayout{
	platform.InfnoCatalogueWestern:  {columns: 92, code: 1, name: 4, altName: 2, spec: 14, begin: 37, end: 38, vali: 79, updt: 82, ver: 83, lv: 92},
	platform.InfnoCatalogueHerbal:   {columns: 28, code: 1, name: 2, begin: 12, end: 13, ver: 18},
	platform.InfnoCatalogueService:  {columns: 16, code: 1, name: 10, begin: 12, end: 13, ver: 15},
	platform.InfnoCatalogueMaterial: {columns: 71, code: 1, name: 2, spec: 8, begin: 47, end: 48, ver: 70},
}

// javaDate is Java's Date.toString in Beijing time: "Mon Dec 28 14:04:04 CST 2020".
func javaDate(t time.Time) string {
	if t.IsZero() {
		return "null"
	}
	return t.In(beijing).Format("Mon Jan 02 15:04:05 CST 2006")
}

// catalogueText renders rows as the platform's text: UTF-8, TAB-separated, no
// header, null for empty values, Java dates.
func catalogueText(infno string, rows []*catItem) []byte {
	l := textLayouts[infno]
	var b bytes.Buffer
	cols := make([]string, l.columns+1)
	for _, ci := range rows {
		for i := range cols {
			cols[i] = "null"
		}
		set := func(pos int, v string) {
			if pos > 0 && v != "" {
				cols[pos-1] = strings.NewReplacer("\t", " ", "\n", " ", "\r", " ").Replace(v)
			}
		}
		set(l.code, ci.MedListCodg)
		set(l.name, ci.Name)
		set(l.altName, ci.Name)
		set(l.spec, ci.Unit)
		set(l.begin, javaDate(ci.begin))
		set(l.end, javaDate(ci.end))
		set(l.vali, valiFlag(ci.invalid))
		set(l.updt, javaDate(ci.updt))
		set(l.ver, ci.ver)
		set(l.lv, ci.Class)
		cols[l.columns] = "extra"
		b.WriteString(strings.Join(cols, "\t"))
		b.WriteByte('\n')
	}
	return b.Bytes()
}

// catalogueZip wraps the text in a zip holding one .txt, as the platform sends it.
func catalogueZip(name string, text []byte) []byte {
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	w, err := zw.Create(name)
	if err == nil {
		_, err = w.Write(text)
	}
	if err == nil {
		err = zw.Close()
	}
	if err != nil {
		panic("sim: build catalogue zip: " + err.Error()) // writes to memory cannot fail
	}
	return buf.Bytes()
}

// versionRows returns the rows of infno's first version after ver, and that version
// ("" when none is newer).
func (p *Platform) versionRows(infno, ver string) (string, []*catItem) {
	next := ""
	for _, v := range p.cat.versions[infno] {
		if ver == "" || ver == "0" || v > ver {
			next = v
			break
		}
	}
	if next == "" {
		return "", nil
	}
	var rows []*catItem
	for _, ci := range p.cat.byCode {
		if ci.infno == infno && ci.ver == next {
			rows = append(rows, ci)
		}
	}
	sortBySeq(rows)
	return next, rows
}

func sortBySeq(rows []*catItem) {
	sort.Slice(rows, func(i, j int) bool { return rows[i].seq < rows[j].seq })
}
