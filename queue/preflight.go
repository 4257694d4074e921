package queue

import (
	"encoding/binary"
	"fmt"
	"hash/fnv"
	"io"
	"os"
)

// bbolt's meta page, as far as the preflight needs it: a 16-byte page header, then
// magic, version, pageSize, flags (uint32 each), root bucket (pgid, sequence),
// freelist pgid, high-water pgid, txid, checksum (uint64 each), in the machine's
// byte order (little-endian on every platform the agent ships for). The checksum
// is FNV-64a over the meta bytes before it.
const (
	boltMagic      = 0xED0CDAED
	boltVersion    = 2
	boltPageHeader = 16
	boltMetaLen    = 64
	noFreelist     = ^uint64(0)
)

// boltMeta is what preflight reads of one meta page.
type boltMeta struct {
	pageSize, freelist, pgid, txid uint64
}

// parseBoltMeta reads a meta page at the start of b; ok is false when it is not a
// valid one (magic, version, checksum).
func parseBoltMeta(b []byte) (m boltMeta, ok bool) {
	if len(b) < boltPageHeader+boltMetaLen {
		return m, false
	}
	b = b[boltPageHeader : boltPageHeader+boltMetaLen]
	le := binary.LittleEndian
	if le.Uint32(b[0:]) != boltMagic || le.Uint32(b[4:]) != boltVersion {
		return m, false
	}
	h := fnv.New64a()
	h.Write(b[:56])
	if h.Sum64() != le.Uint64(b[56:]) {
		return m, false
	}
	return boltMeta{pageSize: uint64(le.Uint32(b[8:])), freelist: le.Uint64(b[32:]), pgid: le.Uint64(b[40:]), txid: le.Uint64(b[48:])}, true
}

// boltExtent finds the meta page bbolt will use (the valid one with the highest
// txid) in head, the first bytes of the file, and checks that the pages it
// names lie within size bytes. bbolt itself would fault (SIGBUS, which cannot be
// recovered) reading a page past the end of a truncated file.
func boltExtent(head []byte, size int64) error {
	m0, ok0 := parseBoltMeta(head)
	var m1 boltMeta
	ok1 := false
	sizes := []uint64{4096, 8192, 16384, 32768, 65536}
	if ok0 {
		sizes = []uint64{m0.pageSize}
	}
	for _, ps := range sizes {
		if ps > 0 && ps < uint64(len(head)) {
			if m, ok := parseBoltMeta(head[ps:]); ok && m.pageSize == ps {
				m1, ok1 = m, true
				break
			}
		}
	}
	var m boltMeta
	switch {
	case ok0 && ok1 && m1.txid > m0.txid, !ok0 && ok1:
		m = m1
	case ok0:
		m = m0
	default:
		return nil // no valid meta page: bbolt.Open reports it without faulting
	}
	if m.pageSize < 512 || m.pageSize > 1<<20 || m.pgid > uint64(1)<<48 {
		return fmt.Errorf("meta page names page size %d and %d pages", m.pageSize, m.pgid)
	}
	if need := m.pgid * m.pageSize; uint64(size) < need {
		return fmt.Errorf("the file is %d bytes but its pages reach %d (truncated)", size, need)
	}
	if m.freelist != noFreelist && m.freelist >= m.pgid {
		return fmt.Errorf("freelist page %d past the last page %d", m.freelist, m.pgid)
	}
	return nil
}

// preflight reads the head of an existing store file and refuses one that would
// make bbolt fault. It only reads.
func preflight(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return err
	}
	head := make([]byte, 65536+boltPageHeader+boltMetaLen)
	n, err := io.ReadFull(f, head)
	if err != nil && err != io.ErrUnexpectedEOF && err != io.EOF {
		return err
	}
	if err := boltExtent(head[:n], fi.Size()); err != nil {
		return fmt.Errorf("%w: %v", ErrCorrupt, err)
	}
	return nil
}
