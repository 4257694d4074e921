package sim

import (
	"fmt"
	"sync"
	"time"

	"github.com/settle-agent/settle-agent/platform"
)

// The file store behind 9101 (upload) and 9102 (download): uploads from the hospital
// (a 3202 settlement list) and files the platform produces (a 3202 result, a
// catalogue download). It has its own lock, so a transaction handler (which runs under
// p.mu) and a test may both call storeFile and loadFile. Files survive Reset; the
// oldest are dropped beyond maxFiles.

// maxFiles bounds the file store.
const maxFiles = 512

// fileTTL is how long a stored file can be downloaded (dld_endtime).
const fileTTL = 24 * time.Hour

type fileStore struct {
	mu    sync.Mutex
	seq   int64
	files map[string]*storedFile
	order []string
}

type storedFile struct {
	name    string
	data    []byte
	expires time.Time
}

// storeFile keeps data under a new file_qury_no and returns it.
func (p *Platform) storeFile(filename string, data []byte) (fileQuryNo string) {
	fs := &p.files
	fs.mu.Lock()
	defer fs.mu.Unlock()
	if fs.files == nil {
		fs.files = map[string]*storedFile{}
	}
	fs.seq++
	fileQuryNo = fmt.Sprintf("fsi/sim/%s%08d", p.now().In(beijing).Format("20060102"), fs.seq)
	fs.files[fileQuryNo] = &storedFile{name: filename, data: append([]byte(nil), data...), expires: p.now().Add(fileTTL)}
	fs.order = append(fs.order, fileQuryNo)
	for len(fs.order) > maxFiles {
		delete(fs.files, fs.order[0])
		fs.order = fs.order[1:]
	}
	return fileQuryNo
}

// loadFile returns the file stored under fileQuryNo, unless there is none or it expired.
func (p *Platform) loadFile(fileQuryNo string) (filename string, data []byte, ok bool) {
	fs := &p.files
	fs.mu.Lock()
	defer fs.mu.Unlock()
	f, ok := fs.files[fileQuryNo]
	if !ok || p.now().After(f.expires) {
		return "", nil, false
	}
	return f.name, f.data, true
}

// fileInfo describes a stored file for an answer.
func (p *Platform) fileInfo(fileQuryNo, filename string) platform.FileInfo {
	return platform.FileInfo{FileQuryNo: fileQuryNo, Filename: filename, DldEndtime: p.now().Add(fileTTL).In(beijing).Format(platform.InfTimeLayout)}
}

// fileAnswer is a 9102 answer: the file itself, sent as application/octet-stream.
type fileAnswer struct{ data []byte }

// maxUploadBytes bounds one uploaded file.
const maxUploadBytes = 4 << 20

func (p *Platform) fileUpload(req *platform.Request) (any, *bizError) {
	var in platform.FileUploadInput
	if e := decodeInput(req, &in); e != nil {
		return nil, e
	}
	d := in.FsUploadIn
	if d.Filename == "" {
		return nil, biz("文件上传须填写文件名 filename")
	}
	if len(d.In.Bytes) == 0 {
		return nil, biz("文件上传内容 in 为空")
	}
	if len(d.In.Bytes) > maxUploadBytes {
		return nil, biz("文件大小超过 %d 字节", maxUploadBytes)
	}
	no := p.storeFile(d.Filename, d.In.Bytes)
	return platform.FileUploadOutput{FileInfo: p.fileInfo(no, d.Filename)}, nil
}

func (p *Platform) fileDownload(req *platform.Request) (any, *bizError) {
	var in platform.FileDownloadInput
	if e := decodeInput(req, &in); e != nil {
		return nil, e
	}
	no := in.FsDownloadIn.FileQuryNo
	if no == "" {
		return nil, biz("文件下载须填写文件查询号 file_qury_no")
	}
	if e := p.checkCatalogueDownload(no, in.FsDownloadIn.FixmedinsCode); e != nil {
		return nil, e
	}
	_, data, ok := p.loadFile(no)
	if !ok {
		return nil, biz("文件不存在或已过期: file_qury_no %s", no)
	}
	return fileAnswer{data: data}, nil
}
