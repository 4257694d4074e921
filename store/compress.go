package store

import (
	"bytes"
	"compress/flate"
	"fmt"
	"io"

	"github.com/klauspost/compress/s2"
)

// Bill records and remembered answers are compressed before they are sealed: a bill's
// JSON is about 3 KB and S2 (github.com/klauspost/compress, a faster Snappy) makes it
// about 1.1 KB in 2 µs, so it fits a page instead of an overflow run, and each commit
// writes a third of the bytes. Deflate made it 0.9 KB but cost 23 µs, a sixth of the
// agent's CPU under load. A record starts with '{' (plain JSON), recordDeflate (stores
// written by earlier builds) or recordS2.
const (
	recordDeflate byte = 0x01
	recordS2      byte = 0x02
)

// maxRecord bounds what one decompressed record may grow to (a bill holds at most 500
// items): a damaged record cannot make the agent allocate without end.
const maxRecord = 4 << 20

// compressRecord compresses a record's JSON.
func compressRecord(data []byte) []byte {
	out := make([]byte, 1, 1+s2.MaxEncodedLen(len(data)))
	out[0] = recordS2
	enc := s2.Encode(out[1:cap(out)], data)
	return out[:1+len(enc)]
}

// decompressRecord undoes compressRecord; plain JSON passes through.
func decompressRecord(b []byte) ([]byte, error) {
	if len(b) == 0 {
		return nil, ErrDamaged
	}
	switch b[0] {
	case '{':
		return b, nil
	case recordS2:
		n, err := s2.DecodedLen(b[1:])
		if err != nil {
			return nil, fmt.Errorf("%w: %v", ErrDamaged, err)
		}
		if n > maxRecord {
			return nil, fmt.Errorf("%w: decodes to %d bytes, past %d", ErrDamaged, n, maxRecord)
		}
		out, err := s2.Decode(nil, b[1:])
		if err != nil {
			return nil, fmt.Errorf("%w: %v", ErrDamaged, err)
		}
		return out, nil
	case recordZstdV1:
		return decompressDense(b[1:])
	case recordDeflate:
		r := flate.NewReader(bytes.NewReader(b[1:]))
		defer r.Close()
		out, err := io.ReadAll(io.LimitReader(r, maxRecord+1))
		if err != nil {
			return nil, fmt.Errorf("%w: %v", ErrDamaged, err)
		}
		if len(out) > maxRecord {
			return nil, fmt.Errorf("%w: inflates past %d bytes", ErrDamaged, maxRecord)
		}
		return out, nil
	}
	return nil, fmt.Errorf("%w: unknown format %#x", ErrDamaged, b[0])
}
