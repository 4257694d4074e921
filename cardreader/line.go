package cardreader

import (
	"bytes"
	"fmt"

	"github.com/settle-agent/settle-agent"
)

// MaxLineLen is the longest line protocol "line" accepts, without its terminator.
const MaxLineLen = 512

// parseLine turns one line from a QR scanner (terminator removed) into an e-voucher
// card: CertType "01", CardNo the code. Surrounding spaces are trimmed; control
// characters, non-ASCII bytes and lines over MaxLineLen are refused. ok is false for
// a blank line, which is no read at all.
func parseLine(b []byte) (c settle.Card, ok bool, err error) {
	if len(b) > MaxLineLen {
		return settle.Card{}, true, fmt.Errorf("scanned line of %d bytes: %w", len(b), ErrLineTooLong)
	}
	b = bytes.Trim(b, " ")
	if len(b) == 0 {
		return settle.Card{}, false, nil
	}
	for i, x := range b {
		switch {
		case x < 0x20 || x == 0x7f:
			return settle.Card{}, true, fmt.Errorf("scanned line has control byte 0x%02X at %d: %w", x, i, ErrBadLine)
		case x >= 0x80:
			return settle.Card{}, true, fmt.Errorf("scanned line has non-ASCII byte 0x%02X at %d: %w", x, i, ErrBadLine)
		}
	}
	return settle.Card{CertType: settle.CertEVoucher, CardNo: string(b)}, true, nil
}

// lineDecoder splits a scanner's byte stream into lines ended by CR, LF or CRLF (a
// CRLF split between two reads is still one terminator). A line over MaxLineLen is
// reported as ErrLineTooLong once its terminator comes; its bytes are not kept, so
// memory stays bounded however long the garbage.
type lineDecoder struct {
	buf     []byte
	n       int  // length of the current line so far, kept or not
	afterCR bool // the last byte was CR: a following LF ends nothing
}

// lineResult is one line the decoder finished: a card, or why it was refused.
type lineResult struct {
	Card settle.Card
	Err  error
}

// Write consumes p and returns the lines it finished. Blank lines are skipped.
func (d *lineDecoder) Write(p []byte) []lineResult {
	var out []lineResult
	for _, x := range p {
		if x == '\n' && d.afterCR {
			d.afterCR = false
			continue
		}
		d.afterCR = x == '\r'
		if x == '\r' || x == '\n' {
			if d.n > MaxLineLen {
				out = append(out, lineResult{Err: fmt.Errorf("scanned line of %d bytes: %w", d.n, ErrLineTooLong)})
			} else if c, ok, err := parseLine(d.buf); ok {
				out = append(out, lineResult{Card: c, Err: err})
			}
			d.buf = d.buf[:0]
			d.n = 0
			continue
		}
		if d.n < 1<<30 {
			d.n++
		}
		if d.n <= MaxLineLen {
			d.buf = append(d.buf, x)
		} else {
			d.buf = d.buf[:0]
		}
	}
	return out
}
