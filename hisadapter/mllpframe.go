package hisadapter

import "fmt"

// MLLP frame marks: a message travels as 0x0B message 0x1C 0x0D.
const (
	mllpStart = 0x0B
	mllpEnd   = 0x1C
	mllpCR    = 0x0D
)

// Framer cuts an MLLP byte stream into messages, whatever the chunks it arrives in.
// It is pure (no I/O): feed it what a read returned and take the complete messages.
// Bytes between frames (keep-alive newlines, noise) are skipped; a start mark inside
// a frame starts the frame over (the sender gave up on the first one); an end mark
// not followed by CR still ends the message.
type Framer struct {
	// Max is the largest message accepted, in bytes; 0 means 1 MiB.
	Max int

	buf     []byte
	inFrame bool
	afterFS bool // the last byte was the 0x1C of a finished frame
	over    bool
}

// Feed takes the next bytes of the stream and returns the messages they complete
// (without frame marks; the slices are the caller's). Once a message exceeds Max it
// returns an error wrapping ErrTooLarge, with the first bytes of that message
// available from Partial, and the stream should be closed.
func (f *Framer) Feed(p []byte) ([][]byte, error) {
	max := f.Max
	if max <= 0 {
		max = 1 << 20
	}
	if f.over {
		return nil, fmt.Errorf("mllp message over %d bytes: %w", max, ErrTooLarge)
	}
	var out [][]byte
	for i := 0; i < len(p); i++ {
		c := p[i]
		if f.afterFS {
			f.afterFS = false
			if c == mllpCR {
				continue
			}
		}
		if !f.inFrame {
			if c == mllpStart {
				f.inFrame = true
				f.buf = f.buf[:0]
			}
			continue
		}
		switch c {
		case mllpStart:
			f.buf = f.buf[:0]
		case mllpEnd:
			msg := make([]byte, len(f.buf))
			copy(msg, f.buf)
			out = append(out, msg)
			f.buf = f.buf[:0]
			f.inFrame = false
			f.afterFS = true
		default:
			if len(f.buf) >= max {
				f.over = true
				return out, fmt.Errorf("mllp message over %d bytes: %w", max, ErrTooLarge)
			}
			f.buf = append(f.buf, c)
		}
	}
	return out, nil
}

// Partial returns the bytes of the message being received (a copy).
func (f *Framer) Partial() []byte { return append([]byte(nil), f.buf...) }

// Pending reports whether a frame has started and not ended.
func (f *Framer) Pending() bool { return f.inFrame }

// Frame wraps one message in MLLP marks.
func Frame(msg []byte) []byte {
	out := make([]byte, 0, len(msg)+3)
	out = append(out, mllpStart)
	out = append(out, msg...)
	return append(out, mllpEnd, mllpCR)
}
