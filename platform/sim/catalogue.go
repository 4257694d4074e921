package sim

import (
	"fmt"
	"sort"
	"strings"
	"time"

	settle "github.com/settle-agent/settle-agent"
	"github.com/settle-agent/settle-agent/platform"
)

// The simulator's catalogue (catalogue.md): the fixture's items, published in
// versions of catalogueChunkRows rows per catalogue, served by file (1301, 1302, 1305,
// 1306 through 9102) and by the paged queries 1312, 1316, 1317, 1318, 1319; and the
// hospital's mapping as uploaded by 3301 and withdrawn by 3302. Items published at
// run time (PublishItem) come in a new version, as the platform's updates do.

// defaultCatalogueChunkRows is how many rows one version of a catalogue holds.
const defaultCatalogueChunkRows = 5

// catalogueEpoch is the fixture rows' updt_time: before any test's clock.
var catalogueEpoch = time.Date(2026, 11, 1, 8, 0, 0, 0, beijing)

// catItem is one published catalogue row.
type catItem struct {
	CatalogueItem
	infno, listType, ver string
	seq                  int // publishing order, the rid's number
	updt                 time.Time
	begin, end           time.Time // end zero: open-ended
	invalid              bool
	padding              bool // a PadCatalogue row: in the files, not in the queries
}

// catMapping is one row of a hospital's mapping (目录对照) as the platform holds it.
type catMapping struct {
	fixmedins string
	row       platform.MappingRow
	rid       string
	updt      time.Time
	invalid   bool
}

// catalogueState is the simulator's catalogue and the uploaded mappings; p.mu guards it.
type catalogueState struct {
	chunk    int
	seq      int
	byCode   map[string]*catItem
	versions map[string][]string // infno -> versions in order
	rows     map[string]int      // infno -> rows published in the open version
	mappings map[string]*catMapping
	mapSeq   int
	files    map[string]bool // file_qury_no of the catalogue files: 9102 wants "plc"
}

// infnoOf is the download that carries an item, and its list_type.
func infnoOf(it CatalogueItem) (infno, listType string) {
	switch {
	case it.Kind == "material":
		return platform.InfnoCatalogueMaterial, platform.ListTypeMaterial
	case it.Kind == "drug" && it.MedChrgitmType == "11":
		return platform.InfnoCatalogueHerbal, platform.ListTypeHerbal
	case it.Kind == "drug":
		return platform.InfnoCatalogueWestern, platform.ListTypeWestern
	}
	return platform.InfnoCatalogueService, platform.ListTypeService
}

// resetCatalogueLocked publishes the fixture's catalogue afresh and forgets every
// uploaded mapping; the caller holds p.mu (or p is not shared yet).
func (p *Platform) resetCatalogueLocked() {
	chunk := defaultCatalogueChunkRows
	if p.cat != nil && p.cat.chunk > 0 {
		chunk = p.cat.chunk
	}
	p.cat = &catalogueState{chunk: chunk, byCode: map[string]*catItem{}, versions: map[string][]string{},
		rows: map[string]int{}, mappings: map[string]*catMapping{}, files: map[string]bool{}}
	p.items = make(map[string]*CatalogueItem, len(p.fx.Items))
	for i := range p.fx.Items {
		p.items[p.fx.Items[i].MedListCodg] = &p.fx.Items[i]
		p.publishLocked(p.fx.Items[i], catalogueEpoch, false)
	}
}

// publishLocked adds or replaces an item in the open version of its catalogue, or in
// a new version when the open one is full.
func (p *Platform) publishLocked(it CatalogueItem, at time.Time, padding bool) *catItem {
	c := p.cat
	infno, lt := infnoOf(it)
	vs := c.versions[infno]
	if len(vs) == 0 || c.rows[infno] >= c.chunk {
		vs = append(vs, fmt.Sprintf("20261101%05d", len(vs)+1))
		c.versions[infno] = vs
		c.rows[infno] = 0
	}
	c.rows[infno]++
	ci := &catItem{CatalogueItem: it, infno: infno, listType: lt, ver: vs[len(vs)-1], updt: at,
		begin: time.Date(2020, 1, 1, 0, 0, 0, 0, beijing), padding: padding}
	if old, ok := c.byCode[it.MedListCodg]; ok {
		ci.seq = old.seq
	} else {
		c.seq++
		ci.seq = c.seq
	}
	c.byCode[it.MedListCodg] = ci
	return ci
}

// SetCatalogueChunk sets how many rows one version of a catalogue holds (from the
// next publication on; Reset republishes the fixture with it). n < 1 is 1.
func (p *Platform) SetCatalogueChunk(n int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.cat.chunk = max(n, 1)
	p.resetCatalogueLocked()
}

// PublishItem adds an item to the catalogue, or changes one, in a new version (the
// open one when it has room); fees may use it from now on. end, when not zero, is the
// last day the item is valid; invalid sets vali_flag 0.
func (p *Platform) PublishItem(it CatalogueItem, end time.Time, invalid bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	c := p.cat
	// A change always opens a new version, so that an agent holding the open one
	// sees it.
	infno, _ := infnoOf(it)
	c.rows[infno] = c.chunk
	ci := p.publishLocked(it, p.now(), false)
	ci.end, ci.invalid = end, invalid
	cp := it
	p.items[it.MedListCodg] = &cp
}

// PadCatalogue publishes n synthetic rows into infno's catalogue (codes
// PAD<infno><n>), for exercising a sync of a real catalogue's size. They are served
// by file only.
func (p *Platform) PadCatalogue(infno string, n int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	kind := map[string]CatalogueItem{
		platform.InfnoCatalogueWestern:  {Kind: "drug", MedChrgitmType: "09"},
		platform.InfnoCatalogueHerbal:   {Kind: "drug", MedChrgitmType: "11"},
		platform.InfnoCatalogueService:  {Kind: "service", MedChrgitmType: "02"},
		platform.InfnoCatalogueMaterial: {Kind: "material", MedChrgitmType: "08"},
	}[infno]
	base := len(p.cat.byCode)
	for i := 0; i < n; i++ {
		it := kind
		it.MedListCodg = fmt.Sprintf("PAD%s%09d", infno, base+i)
		it.MedinsListCodg = it.MedListCodg
		it.Name = fmt.Sprintf("填充目录项%d", base+i)
		it.Class = ClassA
		p.publishLocked(it, catalogueEpoch, true)
	}
}

// CatalogueVersions returns the versions of a download infno, oldest first.
func (p *Platform) CatalogueVersions(infno string) []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]string(nil), p.cat.versions[infno]...)
}

// MappingRows returns the mapping rows a hospital holds at the platform (valid ones),
// keyed fixmedins_hilist_id|list_type|med_list_codg.
func (p *Platform) MappingRows(fixmedins string) map[string]platform.MappingRow {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := map[string]platform.MappingRow{}
	for k, m := range p.cat.mappings {
		if m.fixmedins == fixmedins && !m.invalid {
			out[strings.TrimPrefix(k, fixmedins+"|")] = m.row
		}
	}
	return out
}

// dispatchCatalogue answers the catalogue transactions; ok is false for any other.
func (p *Platform) dispatchCatalogue(req *platform.Request) (out any, e *bizError, ok bool) {
	switch req.Infno {
	case platform.InfnoHilistQuery, platform.InfnoLimitPriceQuery, platform.InfnoSelfpayQuery,
		platform.InfnoListMatchQuery, platform.InfnoMedinsMatchQuery:
		out, e = p.catalogueQuery(req)
		return out, e, true
	case platform.InfnoMappingUpload:
		out, e = p.mappingUpload(req)
		return out, e, true
	case platform.InfnoMappingWithdraw:
		out, e = p.mappingWithdraw(req)
		return out, e, true
	case platform.InfnoCatalogueWestern, platform.InfnoCatalogueHerbal, platform.InfnoCatalogueService, platform.InfnoCatalogueMaterial:
		out, e = p.catalogueFile(req)
		return out, e, true
	}
	return nil, nil, false
}

// sortedItems returns the published items of the queries, by publishing order.
func (p *Platform) sortedItems() []*catItem {
	out := make([]*catItem, 0, len(p.cat.byCode))
	for _, ci := range p.cat.byCode {
		if !ci.padding {
			out = append(out, ci)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].seq < out[j].seq })
	return out
}

func simDate(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.In(beijing).Format(time.DateOnly)
}

func simTime(t time.Time) string { return t.In(beijing).Format(platform.InfTimeLayout) }

func valiFlag(invalid bool) string {
	if invalid {
		return "0"
	}
	return "1"
}

// catalogueQuery answers one page of 1312, 1316, 1317, 1318 or 1319.
func (p *Platform) catalogueQuery(req *platform.Request) (any, *bizError) {
	var in platform.CatalogueQueryInput
	if e := decodeInput(req, &in); e != nil {
		return nil, e
	}
	q := in.Data
	if q.PageNum < 1 || q.PageSize < 1 || q.PageSize > 1000 {
		return nil, biz("分页参数无效: page_num %d, page_size %d (1..1000)", q.PageNum, q.PageSize)
	}
	var since time.Time
	if q.UpdtTime != "" {
		t, err := time.ParseInLocation(time.DateOnly, q.UpdtTime, beijing)
		if err != nil {
			return nil, biz("updt_time %q 不是日期 yyyy-MM-dd", q.UpdtTime)
		}
		since = t
	}
	keep := func(code string, updt time.Time, invalid bool) bool {
		return !updt.Before(since) && (q.ValiFlag == "" || q.ValiFlag == valiFlag(invalid)) &&
			(q.HilistCode == "" || q.HilistCode == code)
	}
	rows := []any{}
	admdvs := p.fx.TreatmentAdmdvs
	switch req.Infno {
	case platform.InfnoMedinsMatchQuery:
		keys := make([]string, 0, len(p.cat.mappings))
		for k, m := range p.cat.mappings {
			if m.fixmedins == req.FixmedinsCode {
				keys = append(keys, k)
			}
		}
		sort.Slice(keys, func(i, j int) bool { return p.cat.mappings[keys[i]].rid < p.cat.mappings[keys[j]].rid })
		for _, k := range keys {
			m := p.cat.mappings[k]
			if !keep(m.row.MedListCodg, m.updt, m.invalid) {
				continue
			}
			rows = append(rows, platform.MedinsMatchRow{
				MedinsListCodg: platform.Text(m.row.FixmedinsHilistID), MedinsListName: platform.Text(m.row.FixmedinsHilistName),
				InsuAdmdvs: platform.Text(admdvs), ListType: platform.Text(m.row.ListType), MedListCodg: platform.Text(m.row.MedListCodg),
				Begndate: platform.Text(m.row.Begndate), Enddate: platform.Text(m.row.Enddate), ValiFlag: platform.Text(valiFlag(m.invalid)),
				Rid: platform.Text(m.rid), UpdtTime: platform.Text(simTime(m.updt)),
			})
		}
	default:
		for _, ci := range p.sortedItems() {
			if !keep(ci.MedListCodg, ci.updt, ci.invalid) {
				continue
			}
			rows = append(rows, p.queryRows(req.Infno, ci, admdvs)...)
		}
	}
	total := len(rows)
	pages := (total + q.PageSize - 1) / q.PageSize
	from := min((q.PageNum-1)*q.PageSize, total)
	to := min(from+q.PageSize, total)
	page := rows[from:to]
	return map[string]any{
		// As the platform's paging library writes them: firstPage/lastPage true/false.
		"firstPage": q.PageNum <= 1, "lastPage": q.PageNum >= pages, "size": len(page), "startRow": from + 1, "endRow": to,
		"pageSize": q.PageSize, "pageNum": q.PageNum, "recordCounts": total, "pages": pages, "data": page,
	}, nil
}

// queryRows are the rows of one item in query infno.
func (p *Platform) queryRows(infno string, ci *catItem, admdvs string) []any {
	rid := func(suffix string) platform.Text {
		return platform.Text(fmt.Sprintf("%s%08d%s", infno, ci.seq, suffix))
	}
	begin, end := platform.Text(simDate(ci.begin)+" 00:00:00"), platform.Text("")
	if !ci.end.IsZero() {
		end = platform.Text(simDate(ci.end) + " 23:59:59")
	}
	code, updt, vali := platform.Text(ci.MedListCodg), platform.Text(simTime(ci.updt)), platform.Text(valiFlag(ci.invalid))
	switch infno {
	case platform.InfnoHilistQuery:
		return []any{platform.HilistRow{HilistCode: code, HilistName: platform.Text(ci.Name), InsuAdmdvs: platform.Text(admdvs),
			Begndate: begin, Enddate: end, MedChrgitmType: platform.Text(ci.MedChrgitmType), ChrgitmLv: platform.Text(ci.ChrgitmLv()),
			LmtUsedFlag: "0", ListType: platform.Text(ci.listType), ValiFlag: vali, Rid: rid(""), UpdtTime: updt}}
	case platform.InfnoLimitPriceQuery:
		if ci.PriceCeiling <= 0 {
			return nil
		}
		return []any{platform.LimitPriceRow{HilistCode: code, HilistLmtpricType: "1", OverlmtDspoWay: "1", InsuAdmdvs: platform.Text(admdvs),
			Begndate: begin, Enddate: end, HilistPricUplmtAmt: platform.PricOf(ci.PriceCeiling), ValiFlag: vali, Rid: rid(""), UpdtTime: updt}}
	case platform.InfnoSelfpayQuery:
		if ci.Class != ClassB {
			return nil
		}
		var out []any
		for i, psn := range []string{settle.InsutypeEmployee, settle.InsutypeResident} {
			out = append(out, platform.SelfpayRow{HilistCode: code, SelfpayPropPsnType: platform.Text(psn), SelfpayPropType: "1",
				InsuAdmdvs: platform.Text(admdvs), Begndate: begin, Enddate: end, SelfpayProp: ci.SelfpayProp, ValiFlag: vali,
				Rid: rid(fmt.Sprint(i)), UpdtTime: updt})
		}
		return out
	case platform.InfnoListMatchQuery:
		return []any{platform.ListMatchRow{MedListCodg: code, HilistCode: code, ListType: platform.Text(ci.listType),
			InsuAdmdvs: platform.Text(admdvs), Begndate: begin, Enddate: end, ValiFlag: vali, Rid: rid(""), UpdtTime: updt}}
	}
	return nil
}
