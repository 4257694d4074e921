package store

import (
	"bytes"
	"errors"
	"testing"
)

// TestDenseRecordRoundTripsAndIsSmall: a bill record compressed densely reads back
// unchanged through decompressRecord, in less than half of what S2 makes of it; a
// damaged one is ErrDamaged.
func TestDenseRecordRoundTripsAndIsSmall(t *testing.T) {
	rec := bytes.ReplaceAll(recordDictV1[bytes.Index(recordDictV1, []byte(`{"bill":{`)):], []byte("张伟"), []byte("李娜"))
	d, err := compressDense(rec)
	if err != nil {
		t.Fatal(err)
	}
	got, err := decompressRecord(d)
	if err != nil || !bytes.Equal(got, rec) {
		t.Fatalf("round trip: got %d bytes, %v; want the %d bytes back", len(got), err, len(rec))
	}
	if s2 := compressRecord(rec); len(d)*2 > len(s2) {
		t.Errorf("dense: %d bytes; want less than half of S2's %d", len(d), len(s2))
	}
	if _, err := decompressRecord(append([]byte{recordZstdV1}, 0xff, 0xfe, 0x01)); !errors.Is(err, ErrDamaged) {
		t.Errorf("damaged dense record: got %v; want ErrDamaged", err)
	}
}
