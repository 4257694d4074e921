package catalogue

import "github.com/settle-agent/settle-agent/platform"

// Kind is one catalogue downloaded by file, with the 1-based positions of the
// columns the agent reads (0: the file has no such column). Columns is how many the
// interface specification lists; a file may carry more, which are ignored.
type Kind struct {
	Infno    string
	ListType string
	Title    string // 西药中成药, …
	Columns  int

	Code, Name, AltName, Spec, Begin, End, ValiFlag, UpdtTime, Ver, Class int
}

// Kinds are the catalogues a sync downloads, in order (catalogue.md).
var Kinds = []Kind{
	{Infno: platform.InfnoCatalogueWestern, ListType: platform.ListTypeWestern, Title: "西药中成药", Columns: 92,
		Code: 1, Name: 4, AltName: 2, Spec: 14, Begin: 37, End: 38, ValiFlag: 79, UpdtTime: 82, Ver: 83, Class: 92},
	{Infno: platform.InfnoCatalogueHerbal, ListType: platform.ListTypeHerbal, Title: "中药饮片", Columns: 28,
		Code: 1, Name: 2, Begin: 12, End: 13, Ver: 18},
	{Infno: platform.InfnoCatalogueService, ListType: platform.ListTypeService, Title: "医疗服务项目", Columns: 16,
		Code: 1, Name: 10, Begin: 12, End: 13, Ver: 15},
	{Infno: platform.InfnoCatalogueMaterial, ListType: platform.ListTypeMaterial, Title: "医用耗材", Columns: 71,
		Code: 1, Name: 2, Spec: 8, Begin: 47, End: 48, Ver: 70},
}

// KindOf returns the kind of a download infno.
func KindOf(infno string) (Kind, bool) {
	for _, k := range Kinds {
		if k.Infno == infno {
			return k, true
		}
	}
	return Kind{}, false
}

// Query is one paged query the sync keeps (catalogue.md).
type Query struct {
	Infno string
	Title string
}

// Queries are the paged queries a sync runs, in order.
var Queries = []Query{
	{platform.InfnoHilistQuery, "医保目录信息"},
	{platform.InfnoLimitPriceQuery, "医保目录限价"},
	{platform.InfnoSelfpayQuery, "医保目录先自付比例"},
	{platform.InfnoListMatchQuery, "医疗目录与医保目录匹配"},
	{platform.InfnoMedinsMatchQuery, "医药机构目录匹配"},
}
