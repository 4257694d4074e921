package libhost

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
)

// MaxFrame bounds one frame's JSON body: the largest answer (an e-voucher answer of
// 64 KiB, base64-encoded) fits with room.
const MaxFrame = 256 << 10

// Operations of a Request.
const (
	OpOpen     = "open"      // load Library for Interface
	OpInit     = "init"      // heasec Init(Init JSON)
	OpReadCard = "read_card" // heasec ReadCardBas, or sscard iReadCardBas(CardType)
	OpReadSFZ  = "read_sfz"  // heasec ReadSFZ(Photo)
	OpECTrans  = "ec_trans"  // nationec NationEcTrans(URL, In)
	OpPing     = "ping"      // nothing: is the child alive and its thread free?
)

// Request is one call the parent asks of the child.
type Request struct {
	ID        uint64 `json:"id"`
	Op        string `json:"op"`
	Library   string `json:"library,omitempty"`
	Interface string `json:"interface,omitempty"`
	Init      []byte `json:"init,omitempty"`
	CardType  int32  `json:"card_type,omitempty"`
	Photo     string `json:"photo,omitempty"`
	URL       string `json:"url,omitempty"`
	In        []byte `json:"in,omitempty"`
}

// Response is the child's answer to the Request with the same ID: the function's
// result and output bytes, or Err when the call could not be made at all.
type Response struct {
	ID  uint64 `json:"id"`
	RC  int32  `json:"rc"`
	Out []byte `json:"out,omitempty"`
	Err string `json:"err,omitempty"`
	// Has lists the optional functions the library exports (after OpOpen).
	Has []string `json:"has,omitempty"`
}

// WriteFrame writes v as one frame: 4 bytes big-endian length, then the JSON.
func WriteFrame(w io.Writer, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("encode frame: %w", err)
	}
	if len(b) > MaxFrame {
		return fmt.Errorf("frame of %d bytes: %w", len(b), ErrFrameTooLong)
	}
	buf := make([]byte, 4+len(b))
	binary.BigEndian.PutUint32(buf, uint32(len(b)))
	copy(buf[4:], b)
	_, err = w.Write(buf)
	return err
}

// ReadFrame reads one frame from r into v. io.EOF means r ended between frames.
func ReadFrame(r io.Reader, v any) error {
	var hdr [4]byte
	if _, err := io.ReadFull(r, hdr[:]); err != nil {
		return err
	}
	n := binary.BigEndian.Uint32(hdr[:])
	if n > MaxFrame {
		return fmt.Errorf("frame of %d bytes: %w", n, ErrFrameTooLong)
	}
	b := make([]byte, n)
	if _, err := io.ReadFull(r, b); err != nil {
		return fmt.Errorf("frame cut short: %w", io.ErrUnexpectedEOF)
	}
	return parseFrame(b, v)
}

// parseFrame decodes one frame's body.
func parseFrame(b []byte, v any) error {
	if err := json.Unmarshal(b, v); err != nil {
		return fmt.Errorf("%v: %w", err, ErrProtocol)
	}
	return nil
}
