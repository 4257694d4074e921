package sim

import (
	"bytes"
	"encoding/json"
	"fmt"
	"time"

	"github.com/settle-agent/settle-agent/platform"
)

// mappingUpload is 3301 目录对照上传, in any of the three envelope shapes (data{},
// data[] of at most 100, catalogcompin[]). Every row is checked first — a national
// code the catalogue does not have, a list_type that is not the code's, a missing
// hospital code or a bad date refuse the whole call, naming the row — then all are
// stored (a row already held is updated).
func (p *Platform) mappingUpload(req *platform.Request) (any, *bizError) {
	var in struct {
		Data          json.RawMessage       `json:"data"`
		Catalogcompin []platform.MappingRow `json:"catalogcompin"`
	}
	if e := decodeInput(req, &in); e != nil {
		return nil, e
	}
	rows := in.Catalogcompin
	switch d := bytes.TrimSpace(in.Data); {
	case len(d) == 0 || bytes.Equal(d, []byte("null")):
	case d[0] == '[':
		if err := json.Unmarshal(d, &rows); err != nil {
			return nil, biz("交易3301入参 data[] 格式错误: %v", err)
		}
	default:
		var one platform.MappingRow
		if err := json.Unmarshal(d, &one); err != nil {
			return nil, biz("交易3301入参 data 格式错误: %v", err)
		}
		rows = append(rows, one)
	}
	if len(rows) == 0 {
		return nil, biz("目录对照信息为空")
	}
	if len(rows) > platform.MaxMappingBatch {
		return nil, biz("一次最多上传%d条目录对照，收到%d条", platform.MaxMappingBatch, len(rows))
	}
	for i, r := range rows {
		if e := p.checkMappingRow(i, r); e != nil {
			return nil, e
		}
	}
	now := p.now()
	for _, r := range rows {
		key := mappingKey(req.FixmedinsCode, r.FixmedinsHilistID, r.ListType, r.MedListCodg)
		m, ok := p.cat.mappings[key]
		if !ok {
			p.cat.mapSeq++
			m = &catMapping{fixmedins: req.FixmedinsCode, rid: fmt.Sprintf("1317%010d", p.cat.mapSeq)}
			p.cat.mappings[key] = m
		}
		m.row, m.updt, m.invalid = r, now, false
	}
	return struct{}{}, nil
}

func (p *Platform) checkMappingRow(i int, r platform.MappingRow) *bizError {
	at := fmt.Sprintf("第%d条(%s)", i+1, r.FixmedinsHilistID)
	if r.FixmedinsHilistID == "" {
		return biz("%s: 定点医药机构目录编号 fixmedins_hilist_id 为空", at)
	}
	ci, ok := p.cat.byCode[r.MedListCodg]
	if !ok || r.MedListCodg == "" {
		return biz("%s: 医疗目录编码 %s 在医保目录中不存在，不能对照", at, r.MedListCodg)
	}
	if r.ListType != ci.listType {
		return biz("%s: 目录类别 list_type %s 与医疗目录编码 %s 的类别 %s 不符", at, r.ListType, r.MedListCodg, ci.listType)
	}
	for _, d := range []string{r.Begndate, r.Enddate} {
		if d == "" {
			continue
		}
		if _, err := time.Parse(time.DateOnly, d[:min(len(d), 10)]); err != nil {
			return biz("%s: 日期 %q 格式错误，应为 yyyy-MM-dd", at, d)
		}
	}
	if r.Begndate == "" {
		return biz("%s: 开始日期 begndate 为空", at)
	}
	return nil
}

func mappingKey(fixmedins, hilistID, listType, medListCodg string) string {
	return fixmedins + "|" + hilistID + "|" + listType + "|" + medListCodg
}

// mappingWithdraw is 3302 目录对照撤销: the row becomes invalid (1317 shows it with
// vali_flag 0); withdrawing a row the platform does not hold is refused.
func (p *Platform) mappingWithdraw(req *platform.Request) (any, *bizError) {
	var in platform.MappingWithdrawInput
	if e := decodeInput(req, &in); e != nil {
		return nil, e
	}
	d := in.Data
	code := d.FixmedinsCode
	if code == "" {
		code = req.FixmedinsCode
	}
	m, ok := p.cat.mappings[mappingKey(code, d.FixmedinsHilistID, d.ListType, d.MedListCodg)]
	if !ok || m.invalid {
		return nil, biz("目录对照信息不存在或已撤销: %s → %s (list_type %s)", d.FixmedinsHilistID, d.MedListCodg, d.ListType)
	}
	m.invalid, m.updt = true, p.now()
	return struct{}{}, nil
}
