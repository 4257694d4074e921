package platform

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
)

// FileUploadInput is the input of 9101 文件上传.
type FileUploadInput struct {
	FsUploadIn FileUploadData `json:"fsUploadIn"`
}

// FileUploadData is the file itself (in), its name and the hospital's code.
type FileUploadData struct {
	In            FileContent `json:"in"`
	Filename      string      `json:"filename"`
	FixmedinsCode string      `json:"fixmedins_code"`
}

// FileContent is a file's bytes in a 9101 message. It marshals as base64 text, or as a
// JSON array of byte values when AsArray is set (some platforms take the Java byte[]
// form); it unmarshals from either (array values -128..255, negative ones as Java's
// signed bytes).
type FileContent struct {
	Bytes   []byte
	AsArray bool
}

// MarshalJSON writes base64 text or, with AsArray, an array of numbers.
func (f FileContent) MarshalJSON() ([]byte, error) {
	if !f.AsArray {
		return json.Marshal(base64.StdEncoding.EncodeToString(f.Bytes))
	}
	var b bytes.Buffer
	b.Grow(len(f.Bytes)*4 + 2)
	b.WriteByte('[')
	for i, c := range f.Bytes {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(strconv.Itoa(int(c)))
	}
	b.WriteByte(']')
	return b.Bytes(), nil
}

// UnmarshalJSON reads base64 text (standard or URL alphabet, padded or not) or an array
// of byte values.
func (f *FileContent) UnmarshalJSON(b []byte) error {
	t := bytes.TrimSpace(b)
	switch {
	case len(t) == 0 || bytes.Equal(t, []byte("null")):
		f.Bytes = nil
		return nil
	case t[0] == '"':
		var s string
		if err := json.Unmarshal(t, &s); err != nil {
			return fmt.Errorf("file content: %w", err)
		}
		s = strings.Map(func(r rune) rune {
			if r == '\n' || r == '\r' || r == ' ' || r == '\t' {
				return -1
			}
			return r
		}, s)
		for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
			if d, err := enc.DecodeString(s); err == nil {
				f.Bytes, f.AsArray = d, false
				return nil
			}
		}
		return fmt.Errorf("file content is text but not base64")
	case t[0] == '[':
		var nums []int
		if err := json.Unmarshal(t, &nums); err != nil {
			return fmt.Errorf("file content: %w", err)
		}
		out := make([]byte, len(nums))
		for i, n := range nums {
			if n < -128 || n > 255 {
				return fmt.Errorf("file content byte %d is %d, not a byte", i, n)
			}
			out[i] = byte(n) // -1 is 255: Java's signed byte
		}
		f.Bytes, f.AsArray = out, true
		return nil
	}
	return fmt.Errorf("file content must be base64 text or an array of bytes")
}

// FileInfo names a file at the platform: the query number 9102 fetches it by, its
// name and until when it can be fetched.
type FileInfo struct {
	FileQuryNo string `json:"file_qury_no"`
	Filename   string `json:"filename"`
	DldEndtime string `json:"dld_endtime"`
}

// FileUploadOutput is the output of 9101: a FileInfo at the top, or (in some
// provinces) under fileinfo, result or data; Info returns whichever is there.
type FileUploadOutput struct {
	FileInfo
	Fileinfo *FileInfo `json:"fileinfo,omitempty"`
	Result   *FileInfo `json:"result,omitempty"`
	Data     *FileInfo `json:"data,omitempty"`
}

// Info returns the file's FileInfo wherever the answer put it.
func (o *FileUploadOutput) Info() FileInfo {
	for _, fi := range []*FileInfo{&o.FileInfo, o.Fileinfo, o.Result, o.Data} {
		if fi != nil && fi.FileQuryNo != "" {
			return *fi
		}
	}
	return o.FileInfo
}

// Validate requires a file_qury_no.
func (o *FileUploadOutput) Validate() error {
	if o.Info().FileQuryNo == "" {
		return badf("9101 answer has no file_qury_no")
	}
	return nil
}

// FileDownloadInput is the input of 9102 文件下载.
type FileDownloadInput struct {
	FsDownloadIn FileDownloadData `json:"fsDownloadIn"`
}

// FileDownloadData names the file to fetch.
type FileDownloadData struct {
	FileQuryNo    string `json:"file_qury_no"`
	Filename      string `json:"filename"`
	FixmedinsCode string `json:"fixmedins_code"`
}
