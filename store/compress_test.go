package store

import (
	"bytes"
	"compress/flate"
	"errors"
	"testing"
)

func TestCompressRecord(t *testing.T) {
	plain := []byte(`{"bill":{"bill_no":"MZ1","items":[{"line":1,"his_code":"YP0001"}]},"state":"settled","history":[]}`)
	for _, tc := range []struct {
		name string
		in   []byte
		want []byte
		err  bool
	}{
		{"S2", compressRecord(plain), plain, false},
		{"Deflated", deflated(t, plain), plain, false},
		{"PlainJSON", plain, plain, false},
		{"Empty", nil, nil, true},
		{"UnknownFormat", []byte{0x7f, 1, 2}, nil, true},
		{"BrokenDeflate", []byte{recordDeflate, 0xff, 0xff, 0xff}, nil, true},
		{"BrokenS2", []byte{recordS2, 0xff, 0xff, 0xff, 0x01}, nil, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := decompressRecord(tc.in)
			if (err != nil) != tc.err || !bytes.Equal(got, tc.want) {
				t.Errorf("got %q, %v; want %q, error %v", got, err, tc.want, tc.err)
			}
			if err != nil && !errors.Is(err, ErrDamaged) {
				t.Errorf("error %v is not ErrDamaged", err)
			}
		})
	}
	if in, c := bytes.Repeat(plain, 30), compressRecord(bytes.Repeat(plain, 30)); len(c) > len(in)/5 {
		t.Errorf("%d repetitive bytes deflate to %d; want less than a fifth", len(in), len(c))
	}
}

// deflated is a record as builds before S2 stored it.
func deflated(t *testing.T, data []byte) []byte {
	var buf bytes.Buffer
	buf.WriteByte(recordDeflate)
	w, _ := flate.NewWriter(&buf, flate.BestSpeed)
	if _, err := w.Write(data); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func FuzzDecompressRecord(f *testing.F) {
	f.Add([]byte(`{"state":"queued"}`))
	f.Add(compressRecord([]byte(`{"state":"queued"}`)))
	f.Add([]byte{recordDeflate})
	f.Add([]byte{recordS2, 0x10})
	dense, _ := compressDense([]byte(`{"state":"queued"}`))
	f.Add(dense)
	f.Fuzz(func(t *testing.T, b []byte) {
		out, err := decompressRecord(b)
		if err == nil && len(out) > maxRecord {
			t.Fatalf("inflated %d bytes, past the %d limit", len(out), maxRecord)
		}
		// Whatever compresses must come back unchanged.
		back, err := decompressRecord(compressRecord(b))
		if err != nil || !bytes.Equal(back, b) && len(b) <= maxRecord {
			t.Fatalf("round trip of %d bytes: %v", len(b), err)
		}
	})
}
