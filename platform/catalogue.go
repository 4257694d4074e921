package platform

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
)

// Catalogue transactions (catalogue.md): downloads by file, paged queries, and the
// hospital's item mapping (目录对照) upload.
const (
	InfnoCatalogueWestern  = "1301" // 西药中成药目录下载 (list_type 101)
	InfnoCatalogueHerbal   = "1302" // 中药饮片目录下载 (102)
	InfnoCatalogueService  = "1305" // 医疗服务项目目录下载 (201)
	InfnoCatalogueMaterial = "1306" // 医用耗材目录下载 (301)
	InfnoHilistQuery       = "1312" // 医保目录信息查询 (class 甲乙丙)
	InfnoListMatchQuery    = "1316" // 医疗目录与医保目录匹配信息查询
	InfnoMedinsMatchQuery  = "1317" // 医药机构目录匹配信息查询 (this hospital's mapping)
	InfnoLimitPriceQuery   = "1318" // 医保目录限价信息查询
	InfnoSelfpayQuery      = "1319" // 医保目录先自付比例信息查询
	InfnoMappingUpload     = "3301" // 目录对照上传
	InfnoMappingWithdraw   = "3302" // 目录对照撤销
)

// CatalogueFixmedinsCode is the fixmedins_code a catalogue file is downloaded with
// (9102): the literal "plc", not the hospital's code.
const CatalogueFixmedinsCode = "plc"

// List types (list_type) of the catalogue and the mapping.
const (
	ListTypeWestern  = "101" // 西药中成药
	ListTypeHerbal   = "102" // 中药饮片
	ListTypePrepared = "103" // 医疗机构制剂
	ListTypeEthnic   = "104" // 民族药
	ListTypeService  = "201" // 医疗服务项目
	ListTypeMaterial = "301" // 医用耗材
)

// Item classes (chrgitm_lv) of 1312.
const (
	ChrgitmLvA = "01" // 甲类
	ChrgitmLvB = "02" // 乙类
	ChrgitmLvC = "03" // 丙类
)

// Text is a scalar field of a catalogue answer: the platforms send the same field
// as a string, a number or null, so it accepts any JSON scalar and keeps its text
// ("" for null). It marshals as a JSON string.
type Text string

// UnmarshalJSON accepts a string, a number, a boolean or null.
func (t *Text) UnmarshalJSON(b []byte) error {
	s := bytes.TrimSpace(b)
	switch {
	case len(s) == 0 || bytes.Equal(s, []byte("null")):
		*t = ""
	case s[0] == '"':
		var v string
		if err := json.Unmarshal(s, &v); err != nil {
			return err
		}
		*t = Text(v)
	case s[0] == '{' || s[0] == '[':
		return fmt.Errorf("want a scalar, got %.20s", s)
	default:
		*t = Text(s)
	}
	return nil
}

// String returns the text.
func (t Text) String() string { return string(t) }

// Count is a count of a catalogue answer (data_cnt, pages, recordCounts), sent as a
// JSON number or a string; null is 0.
type Count int

// UnmarshalJSON accepts a number, a string holding an integer, or null.
func (c *Count) UnmarshalJSON(b []byte) error {
	s := strings.Trim(strings.TrimSpace(string(b)), `"`)
	if s == "" || s == "null" {
		*c = 0
		return nil
	}
	if i := strings.IndexByte(s, '.'); i >= 0 && strings.Trim(s[i+1:], "0") == "" {
		s = s[:i] // 12.0
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 0 {
		return fmt.Errorf("count %q: want a whole number", clip(s))
	}
	*c = Count(n)
	return nil
}

// CatalogueFileInput is the input of the file downloads 1301, 1302, 1305, 1306 (and
// 1303, 1307–1311, 1313–1315): the highest version held locally ("0" the first time).
type CatalogueFileInput struct {
	Data CatalogueFileData `json:"data"`
}

// CatalogueFileData carries the version.
type CatalogueFileData struct {
	Ver string `json:"ver"`
}

// CatalogueFileOutput names the file 9102 fetches: the rows after the version asked
// for, data_cnt of them (0: nothing newer). Note dld_end_time (with an underscore
// that 9101's dld_endtime lacks).
type CatalogueFileOutput struct {
	FileQuryNo Text  `json:"file_qury_no"`
	Filename   Text  `json:"filename"`
	DldEndTime Text  `json:"dld_end_time"`
	DataCnt    Count `json:"data_cnt"`
}

// Validate requires the file's names when the answer says it holds rows.
func (o *CatalogueFileOutput) Validate() error {
	if o.DataCnt > 0 && (o.FileQuryNo == "" || o.Filename == "") {
		return badf("catalogue download answer has data_cnt %d but no file_qury_no/filename", o.DataCnt)
	}
	return nil
}

// CatalogueQueryInput is the input of the paged queries 1312, 1316, 1317, 1318, 1319.
type CatalogueQueryInput struct {
	Data CatalogueQuery `json:"data"`
}

// CatalogueQuery selects one page: rows valid on query_date, updated since updt_time
// (yyyy-MM-dd), with vali_flag; the filters are optional.
type CatalogueQuery struct {
	QueryDate   string `json:"query_date"`
	UpdtTime    string `json:"updt_time"`
	ValiFlag    string `json:"vali_flag,omitempty"`
	PageNum     int    `json:"page_num"`
	PageSize    int    `json:"page_size"`
	HilistCode  string `json:"hilist_code,omitempty"`
	MedListCodg string `json:"med_list_codg,omitempty"`
	InsuAdmdvs  string `json:"insu_admdvs,omitempty"`
	ListType    string `json:"list_type,omitempty"`
}

// Page is one page of a paged query's answer: only what the sync uses. The answer's
// other members (firstPage, lastPage, size, startRow, endRow, pageSize, pageNum, which
// paging libraries write as numbers or as true/false) are not read, so no way of
// writing them can fail a download.
type Page[T any] struct {
	RecordCounts Count `json:"recordCounts"`
	Pages        Count `json:"pages"`
	Data         []T   `json:"data"`
}

// HilistRow is one row of 1312 医保目录信息: the item's class (chrgitm_lv 01 甲, 02
// 乙, 03 丙) in one insurance area for a period. A code is not unique: rows are kept
// by rid.
type HilistRow struct {
	HilistCode     Text `json:"hilist_code"`
	HilistName     Text `json:"hilist_name"`
	InsuAdmdvs     Text `json:"insu_admdvs"`
	Begndate       Text `json:"begndate"`
	Enddate        Text `json:"enddate"`
	MedChrgitmType Text `json:"med_chrgitm_type"`
	ChrgitmLv      Text `json:"chrgitm_lv"`
	LmtUsedFlag    Text `json:"lmt_used_flag"`
	ListType       Text `json:"list_type"`
	ValiFlag       Text `json:"vali_flag"`
	Rid            Text `json:"rid"`
	UpdtTime       Text `json:"updt_time"`
}

// LimitPriceRow is one row of 1318 医保目录限价: the price cap (up to 6 places).
type LimitPriceRow struct {
	HilistCode         Text `json:"hilist_code"`
	HilistLmtpricType  Text `json:"hilist_lmtpric_type"`
	OverlmtDspoWay     Text `json:"overlmt_dspo_way"`
	InsuAdmdvs         Text `json:"insu_admdvs"`
	Begndate           Text `json:"begndate"`
	Enddate            Text `json:"enddate"`
	HilistPricUplmtAmt Pric `json:"hilist_pric_uplmt_amt"`
	ValiFlag           Text `json:"vali_flag"`
	Rid                Text `json:"rid"`
	UpdtTime           Text `json:"updt_time"`
}

// SelfpayRow is one row of 1319 医保目录先自付比例: the share a person type pays first.
type SelfpayRow struct {
	HilistCode         Text  `json:"hilist_code"`
	SelfpayPropPsnType Text  `json:"selfpay_prop_psn_type"`
	SelfpayPropType    Text  `json:"selfpay_prop_type"`
	InsuAdmdvs         Text  `json:"insu_admdvs"`
	Begndate           Text  `json:"begndate"`
	Enddate            Text  `json:"enddate"`
	SelfpayProp        Ratio `json:"selfpay_prop"`
	ValiFlag           Text  `json:"vali_flag"`
	Rid                Text  `json:"rid"`
	UpdtTime           Text  `json:"updt_time"`
}

// ListMatchRow is one row of 1316 医疗目录与医保目录匹配: a national code's 医保目录 code.
type ListMatchRow struct {
	MedListCodg Text `json:"med_list_codg"`
	HilistCode  Text `json:"hilist_code"`
	ListType    Text `json:"list_type"`
	InsuAdmdvs  Text `json:"insu_admdvs"`
	Begndate    Text `json:"begndate"`
	Enddate     Text `json:"enddate"`
	ValiFlag    Text `json:"vali_flag"`
	Rid         Text `json:"rid"`
	UpdtTime    Text `json:"updt_time"`
}

// MedinsMatchRow is one row of 1317 医药机构目录匹配: the platform's view of this
// hospital's mapping.
type MedinsMatchRow struct {
	MedinsListCodg Text `json:"medins_list_codg"`
	MedinsListName Text `json:"medins_list_name"`
	InsuAdmdvs     Text `json:"insu_admdvs"`
	ListType       Text `json:"list_type"`
	MedListCodg    Text `json:"med_list_codg"`
	Begndate       Text `json:"begndate"`
	Enddate        Text `json:"enddate"`
	ValiFlag       Text `json:"vali_flag"`
	Rid            Text `json:"rid"`
	UpdtTime       Text `json:"updt_time"`
}

// MappingRow is one row of 3301 目录对照上传: the hospital's item (fixmedins_hilist_id,
// its own code) mapped to a national code for a period.
type MappingRow struct {
	FixmedinsHilistID   string `json:"fixmedins_hilist_id"`
	FixmedinsHilistName string `json:"fixmedins_hilist_name"`
	ListType            string `json:"list_type"`
	MedListCodg         string `json:"med_list_codg"`
	Begndate            string `json:"begndate"`
	Enddate             string `json:"enddate"`
	Aprvno              string `json:"aprvno"`
	Dosform             string `json:"dosform"`
	ExctCont            string `json:"exct_cont"`
	ItemCont            string `json:"item_cont"`
	Prcunt              string `json:"prcunt"`
	Spec                string `json:"spec"`
	Pacspec             string `json:"pacspec"`
	Memo                string `json:"memo"`
}

// Envelope shapes of 3301: the province decides.
const (
	MappingShapeObject        = "object"        // data{}: one row per call (default)
	MappingShapeArray         = "array"         // data[]: up to MaxMappingBatch rows
	MappingShapeCatalogcompin = "catalogcompin" // catalogcompin[]: up to MaxMappingBatch rows
)

// MaxMappingBatch is the most rows one 3301 carries in the array shapes.
const MaxMappingBatch = 100

// MappingUploadInput builds the input of 3301 in the given shape. The object shape
// takes exactly one row.
func MappingUploadInput(shape string, rows []MappingRow) (any, error) {
	switch shape {
	case "", MappingShapeObject:
		if len(rows) != 1 {
			return nil, fmt.Errorf("3301 data{} carries one row, got %d: %w", len(rows), ErrNotSent)
		}
		return struct {
			Data MappingRow `json:"data"`
		}{rows[0]}, nil
	case MappingShapeArray, MappingShapeCatalogcompin:
		if len(rows) == 0 || len(rows) > MaxMappingBatch {
			return nil, fmt.Errorf("3301 carries 1 to %d rows, got %d: %w", MaxMappingBatch, len(rows), ErrNotSent)
		}
		if shape == MappingShapeArray {
			return struct {
				Data []MappingRow `json:"data"`
			}{rows}, nil
		}
		return struct {
			Catalogcompin []MappingRow `json:"catalogcompin"`
		}{rows}, nil
	}
	return nil, fmt.Errorf("3301 envelope shape %q: want object, array or catalogcompin: %w", shape, ErrNotSent)
}

// MappingWithdrawInput is the input of 3302 目录对照撤销.
type MappingWithdrawInput struct {
	Data MappingWithdrawData `json:"data"`
}

// MappingWithdrawData names the mapping row to withdraw.
type MappingWithdrawData struct {
	FixmedinsCode     string `json:"fixmedins_code"`
	FixmedinsHilistID string `json:"fixmedins_hilist_id"`
	ListType          string `json:"list_type"`
	MedListCodg       string `json:"med_list_codg"`
}
