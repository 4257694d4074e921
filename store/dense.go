package store

import (
	_ "embed"
	"fmt"
	"sync"

	"github.com/klauspost/compress/zstd"
)

// A store whose every byte is replicated and held in memory (etcd, in a group of
// machines) compresses documents with zstd and a dictionary of what a bill record
// looks like: a settled bill and its remembered answer shrink from about 1.5 KB each
// under S2 to a few hundred bytes, at a few tens of µs — against the milliseconds of a
// replicated commit. The dictionary is part of the format: recordZstdV1 always opens
// with this one; a new dictionary takes a new format byte.
const recordZstdV1 byte = 0x03

// recordDictV1 is a settled demo bill and its remembered answer (fixture data, no
// real person).
//
//go:embed record-dict-v1.json
var recordDictV1 []byte

var dense struct {
	once sync.Once
	enc  *zstd.Encoder
	dec  *zstd.Decoder
	err  error
}

func denseCodec() (*zstd.Encoder, *zstd.Decoder, error) {
	dense.once.Do(func() {
		dense.enc, dense.err = zstd.NewWriter(nil, zstd.WithEncoderLevel(zstd.SpeedDefault),
			zstd.WithEncoderDictRaw(1, recordDictV1), zstd.WithEncoderCRC(false), zstd.WithEncoderConcurrency(1))
		if dense.err != nil {
			return
		}
		dense.dec, dense.err = zstd.NewReader(nil, zstd.WithDecoderDictRaw(1, recordDictV1),
			zstd.WithDecoderMaxMemory(maxRecord), zstd.WithDecoderConcurrency(0))
	})
	return dense.enc, dense.dec, dense.err
}

// compressDense compresses a record's JSON with zstd and the record dictionary.
func compressDense(data []byte) ([]byte, error) {
	enc, _, err := denseCodec()
	if err != nil {
		return nil, err
	}
	return enc.EncodeAll(data, []byte{recordZstdV1}), nil
}

// decompressDense undoes compressDense (b without its format byte).
func decompressDense(b []byte) ([]byte, error) {
	_, dec, err := denseCodec()
	if err != nil {
		return nil, err
	}
	out, err := dec.DecodeAll(b, nil)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrDamaged, err)
	}
	if len(out) > maxRecord {
		return nil, fmt.Errorf("%w: decodes to %d bytes, past %d", ErrDamaged, len(out), maxRecord)
	}
	return out, nil
}
