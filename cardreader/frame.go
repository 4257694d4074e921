package cardreader

import (
	"errors"
	"fmt"
)

// Frame bytes and limits of protocol "frame" (serial-reader.md):
//
//	STX 0x02 | LEN 2 bytes big-endian (= 1 + len(DATA)) | CMD | DATA | BCC | ETX 0x03
//
// BCC is the XOR of every byte of LEN, CMD and DATA.
const (
	STX = 0x02
	ETX = 0x03

	// MaxLen is the largest LEN a frame may carry (CMD plus 1023 bytes of DATA).
	MaxLen = 1024

	// frameOverhead is STX, LEN (2), BCC and ETX.
	frameOverhead = 5
	maxFrameSize  = MaxLen + frameOverhead
)

// Commands. A reply's command is the request's with the high bit set.
const (
	CmdPing      byte = 0x01 // host → reader, no data
	CmdPong      byte = 0x81 // reader → host, firmware version (ASCII)
	CmdReadBasic byte = 0x10 // host → reader, no data
	CmdBasic     byte = 0x90 // reader → host, status then the GBK basic string
	CmdCardIn    byte = 0xA0 // reader → host, unsolicited, same data as CmdBasic
	CmdCardOut   byte = 0xA1 // reader → host, unsolicited, no data
)

// Status bytes: the first DATA byte of CmdBasic and CmdCardIn.
const (
	StatusOK         byte = 0x00
	StatusNoCard     byte = 0x01
	StatusUnreadable byte = 0x02
	StatusPSAM       byte = 0x03
	StatusLocked     byte = 0x04
)

// Frame is one command or reply of protocol "frame".
type Frame struct {
	Cmd  byte
	Data []byte
}

// MarshalBinary encodes f with its STX, LEN, BCC and ETX.
func (f Frame) MarshalBinary() ([]byte, error) {
	if len(f.Data) > MaxLen-1 {
		return nil, fmt.Errorf("frame 0x%02X with %d data bytes: %w", f.Cmd, len(f.Data), ErrFrameTooLong)
	}
	n := 1 + len(f.Data)
	b := make([]byte, 0, n+frameOverhead)
	b = append(b, STX, byte(n>>8), byte(n), f.Cmd)
	b = append(b, f.Data...)
	return append(b, bcc(b[1:]), ETX), nil
}

// String names the command and shows the data, for logs and test failures.
func (f Frame) String() string {
	return fmt.Sprintf("%s % X", cmdName(f.Cmd), f.Data)
}

func cmdName(c byte) string {
	switch c {
	case CmdPing:
		return "PING"
	case CmdPong:
		return "PONG"
	case CmdReadBasic:
		return "READ_BASIC"
	case CmdBasic:
		return "BASIC"
	case CmdCardIn:
		return "CARD_IN"
	case CmdCardOut:
		return "CARD_OUT"
	}
	return fmt.Sprintf("CMD_0x%02X", c)
}

func bcc(b []byte) byte {
	var x byte
	for _, c := range b {
		x ^= c
	}
	return x
}

// Reasons parseFrame gives for bytes it cannot use. errShortFrame alone means "wait
// for more bytes"; every other one comes with a count of bytes to drop.
var (
	errShortFrame = errors.New("incomplete frame")
	errNoise      = errors.New("bytes before STX")
	errBadLen     = errors.New("frame LEN is 0 or over 1024")
	errBadBCC     = errors.New("frame BCC does not match")
	errNoETX      = errors.New("frame does not end with ETX")
)

// parseFrame reads the frame at the start of b. It returns the frame and the bytes it
// used; or errShortFrame with n = 0 when b is the start of a frame that is not all
// there yet; or another error with n > 0, the bytes to drop before trying again:
// the noise before the next STX, or the STX of a bad frame so the search resumes just
// after it (a bad frame's LEN cannot be trusted to skip by).
func parseFrame(b []byte) (f Frame, n int, err error) {
	if len(b) == 0 {
		return Frame{}, 0, errShortFrame
	}
	if b[0] != STX {
		for i, c := range b {
			if c == STX {
				return Frame{}, i, errNoise
			}
		}
		return Frame{}, len(b), errNoise
	}
	if len(b) < 3 {
		return Frame{}, 0, errShortFrame
	}
	ln := int(b[1])<<8 | int(b[2])
	if ln == 0 || ln > MaxLen {
		return Frame{}, 1, errBadLen
	}
	end := 3 + ln + 2 // STX LEN(2) CMD+DATA(ln) BCC ETX
	if len(b) < end {
		return Frame{}, 0, errShortFrame
	}
	if b[end-1] != ETX {
		return Frame{}, 1, errNoETX
	}
	if bcc(b[1:3+ln]) != b[end-2] {
		return Frame{}, 1, errBadBCC
	}
	f.Cmd = b[3]
	if ln > 1 {
		f.Data = append([]byte(nil), b[4:3+ln]...)
	}
	return f, end, nil
}

// Decoder finds frames in a byte stream: it skips bytes before an STX, drops frames
// with a bad BCC, a missing ETX or a LEN over 1024, and resynchronises on the next
// STX. It never holds more than one frame's worth of bytes beyond what it is given.
// A Decoder is not safe for concurrent use.
type Decoder struct {
	buf []byte

	// Dropped counts the bytes thrown away as noise or bad frames.
	Dropped int
	// BadFrames counts frames dropped for a bad LEN, BCC or ETX.
	BadFrames int
}

// Write adds bytes read from the port and returns the complete frames they finish, in
// order. It never fails: what it cannot use it counts in Dropped and BadFrames.
func (d *Decoder) Write(p []byte) []Frame {
	var out []Frame
	for len(p) > 0 {
		// Take at most what can finish one frame, so the buffer stays bounded
		// whatever the size of p.
		room := maxFrameSize - len(d.buf)
		chunk := p
		if len(chunk) > room {
			chunk = p[:room]
		}
		p = p[len(chunk):]
		d.buf = append(d.buf, chunk...)
		out = d.drain(out)
	}
	return out
}

func (d *Decoder) drain(out []Frame) []Frame {
	for {
		f, n, err := parseFrame(d.buf)
		switch {
		case err == nil:
			out = append(out, f)
		case errors.Is(err, errShortFrame):
			return out
		default:
			d.Dropped += n
			if !errors.Is(err, errNoise) {
				d.BadFrames++
			}
		}
		d.buf = d.buf[:copy(d.buf, d.buf[n:])]
	}
}

// Buffered reports how many bytes wait for the rest of a frame.
func (d *Decoder) Buffered() int { return len(d.buf) }

// Resync gives up on the partial frame held, dropping its STX and looking for the
// next one. The Reader calls it when the line has gone quiet in the middle of a
// frame: a real reader sends a frame all at once, so a stray STX in noise must not
// swallow the frames after it.
func (d *Decoder) Resync() []Frame {
	if len(d.buf) == 0 {
		return nil
	}
	d.Dropped++
	d.BadFrames++
	d.buf = d.buf[:copy(d.buf, d.buf[1:])]
	return d.drain(nil)
}

// StatusError is a non-zero status byte from the reader. Its message tells the cashier
// what to do.
type StatusError struct {
	Status byte
}

func (e *StatusError) Error() string {
	switch e.Status {
	case StatusNoCard:
		return "no card: insert the card chip-first and try again"
	case StatusUnreadable:
		return "card unreadable: wipe the chip with a dry cloth and insert it again; if it still fails, use the e-voucher QR code"
	case StatusPSAM:
		return "the reader's security module (PSAM) failed: no card can be read at this window; call hospital IT, and use the e-voucher QR code meanwhile"
	case StatusLocked:
		return "the card is locked; the patient must go to the social security office"
	}
	return fmt.Sprintf("the reader reported status 0x%02X: remove the card and insert it again; if it repeats, call hospital IT", e.Status)
}
