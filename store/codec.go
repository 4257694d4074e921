package store

import "fmt"

// Codec is how a document is kept outside the process: compressed (S2), then sealed
// (AES-256-GCM bound to its kind and id) when there is a key. Every store — this bbolt
// file, and etcdstore in a group of machines — uses it, so a document reads the same
// wherever it was written.
type Codec struct {
	seal  *sealer
	dense bool
}

// NewCodec makes the codec of key (32 bytes as base64 or hex; "" stores in clear);
// oldKeys still open what they sealed.
func NewCodec(key string, oldKeys []string) (*Codec, error) {
	s, err := newSealer(key, oldKeys)
	if err != nil {
		return nil, err
	}
	return &Codec{seal: s}, nil
}

// Dense makes Encode compress harder (zstd with a dictionary of bill records): for a
// store whose bytes are replicated and held in memory, where size counts more than
// microseconds. Decode reads either form.
func (c *Codec) Dense() *Codec { return &Codec{seal: c.seal, dense: true} }

// Encode compresses and seals a document.
func (c *Codec) Encode(kind, id string, data []byte) ([]byte, error) {
	if c.dense {
		z, err := compressDense(data)
		if err != nil {
			return nil, err
		}
		return c.seal.Seal(z, aad(kind, id))
	}
	return c.seal.Seal(compressRecord(data), aad(kind, id))
}

// Decode reverses Encode.
func (c *Codec) Decode(kind, id string, v []byte) ([]byte, error) {
	data, err := c.seal.Open(v, aad(kind, id))
	if err == nil {
		data, err = decompressRecord(data)
	}
	if err != nil {
		return nil, fmt.Errorf("%s %s: %w", kind, id, err)
	}
	return data, nil
}

// Name is a keyed hash of b (HMAC-SHA256 under a key derived from the store key).
func (c *Codec) Name(b []byte) []byte { return c.seal.Name(b) }

// Sealed reports whether documents are sealed with a key.
func (c *Codec) Sealed() bool { return c.seal.current != nil }

// aad binds a sealed document to where it is stored. Bills keep the binding of
// earlier builds (the bill number alone).
func aad(kind, id string) []byte {
	if kind == "bill" {
		return []byte(id)
	}
	return []byte(kind + "\x00" + id)
}
