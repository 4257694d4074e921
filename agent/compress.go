package agent

import (
	"bytes"
	"compress/flate"
	"errors"
	"fmt"
	"io"
	"sync"
)

// Bill records are deflated before they are sealed: a bill's JSON is about 3 KB and
// deflates to under 1 KB, so it fits a page of its own instead of an overflow run,
// and each commit writes a third of the bytes. A record starts with '{' (plain JSON,
// as older stores hold) or with recordDeflate.
const recordDeflate byte = 0x01

// maxRecord bounds what one inflated record may grow to (a bill holds at most 500
// items): a damaged record cannot make the agent allocate without end.
const maxRecord = 4 << 20

var deflaters = sync.Pool{New: func() any {
	w, _ := flate.NewWriter(nil, flate.BestSpeed)
	return w
}}

// compressRecord deflates a record's JSON.
func compressRecord(data []byte) []byte {
	var buf bytes.Buffer
	buf.Grow(len(data)/3 + 16)
	buf.WriteByte(recordDeflate)
	w := deflaters.Get().(*flate.Writer)
	w.Reset(&buf)
	_, _ = w.Write(data) // a bytes.Buffer does not fail
	_ = w.Close()
	deflaters.Put(w)
	return buf.Bytes()
}

// errRecord marks a stored record that is neither JSON nor a deflated record.
var errRecord = errors.New("stored record is damaged")

// decompressRecord undoes compressRecord; plain JSON passes through.
func decompressRecord(b []byte) ([]byte, error) {
	if len(b) == 0 {
		return nil, errRecord
	}
	switch b[0] {
	case '{':
		return b, nil
	case recordDeflate:
		r := flate.NewReader(bytes.NewReader(b[1:]))
		defer r.Close()
		out, err := io.ReadAll(io.LimitReader(r, maxRecord+1))
		if err != nil {
			return nil, fmt.Errorf("%w: %v", errRecord, err)
		}
		if len(out) > maxRecord {
			return nil, fmt.Errorf("%w: inflates past %d bytes", errRecord, maxRecord)
		}
		return out, nil
	}
	return nil, fmt.Errorf("%w: unknown format %#x", errRecord, b[0])
}
