package sim

import (
	"fmt"

	"github.com/settle-agent/settle-agent/platform"
)

// catalogueFile answers a download (1301, 1302, 1305, 1306) for data{ver}: the rows of
// the first version after ver, as a zip in the file store that 9102 serves (with
// fixmedins_code "plc"), or data_cnt 0 when nothing is newer.
func (p *Platform) catalogueFile(req *platform.Request) (any, *bizError) {
	var in platform.CatalogueFileInput
	if e := decodeInput(req, &in); e != nil {
		return nil, e
	}
	ver := in.Data.Ver
	if ver == "" {
		return nil, biz("交易%s须填写版本号 ver（首次为 0）", req.Infno)
	}
	next, rows := p.versionRows(req.Infno, ver)
	if next == "" {
		return platform.CatalogueFileOutput{DataCnt: 0}, nil
	}
	name := fmt.Sprintf("%s_%s.txt", req.Infno, next)
	zipName := fmt.Sprintf("%s_%s.zip", req.Infno, next)
	no := p.storeFile(zipName, catalogueZip(name, catalogueText(req.Infno, rows)))
	p.cat.files[no] = true
	info := p.fileInfo(no, zipName)
	return platform.CatalogueFileOutput{FileQuryNo: platform.Text(no), Filename: platform.Text(zipName),
		DldEndTime: platform.Text(info.DldEndtime), DataCnt: platform.Count(len(rows))}, nil
}

// checkCatalogueDownload refuses a 9102 of a catalogue file whose fixmedins_code is not
// "plc", as the platform does.
func (p *Platform) checkCatalogueDownload(fileQuryNo, fixmedinsCode string) *bizError {
	if p.cat.files[fileQuryNo] && fixmedinsCode != platform.CatalogueFixmedinsCode {
		return biz("目录文件下载的 fixmedins_code 应为 plc，收到 %q", fixmedinsCode)
	}
	return nil
}
