package cardreader

import (
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"sync"

	"github.com/settle-agent/settle-agent"
)

// SimFirmware is the firmware version a Simulator answers PING with.
const SimFirmware = "SIM-1.0"

// Simulator is the device side of protocol "frame": a card reader for the demo,
// tests and dry runs, over any byte stream (a Pipe, a PTY, a com0com port). Run answers
// the host's commands; Insert, Remove and the fault methods act like a patient and a
// bad cable. Its methods are safe for concurrent use.
type Simulator struct {
	port io.ReadWriter
	wmu  sync.Mutex // one frame written at a time

	mu       sync.Mutex
	inserted bool
	status   byte   // status of the inserted card
	basic    []byte // GBK basic string of the inserted card
	corrupt  bool   // the next frame goes out with a bad BCC
	rng      *rand.Rand
}

// NewSimulator returns a reader with no card in it on port.
func NewSimulator(port io.ReadWriter) *Simulator {
	return &Simulator{port: port, rng: rand.New(rand.NewPCG(1, 2))}
}

// Run answers PING with PONG "SIM-1.0" and READ_BASIC with the inserted card (status
// 0x01 when there is none) until reading the port fails or ctx ends. A blocked read is
// only ended by closing the port, so close it to stop Run promptly.
func (s *Simulator) Run(ctx context.Context) error {
	var dec Decoder
	buf := make([]byte, 256)
	for ctx.Err() == nil {
		n, err := s.port.Read(buf)
		for _, f := range dec.Write(buf[:n]) {
			if err := s.answer(f); err != nil {
				return err
			}
		}
		if err != nil {
			if ctx.Err() != nil {
				break
			}
			return fmt.Errorf("simulator read: %w", err)
		}
	}
	return nil
}

func (s *Simulator) answer(f Frame) error {
	switch f.Cmd {
	case CmdPing:
		return s.send(Frame{Cmd: CmdPong, Data: []byte(SimFirmware)})
	case CmdReadBasic:
		return s.send(Frame{Cmd: CmdBasic, Data: s.cardData()})
	}
	return nil // a real reader ignores what it does not know
}

func (s *Simulator) cardData() []byte {
	s.mu.Lock()
	defer s.mu.Unlock()
	switch {
	case !s.inserted:
		return []byte{StatusNoCard}
	case s.status != StatusOK:
		return []byte{s.status}
	}
	return append([]byte{StatusOK}, s.basic...)
}

// Insert puts c in the reader and announces it (CARD_IN with its GBK basic string).
func (s *Simulator) Insert(c settle.Card) error {
	b, err := EncodeGBK(BasicString(c))
	if err != nil {
		return fmt.Errorf("insert card: %w", err)
	}
	return s.InsertBasic(b)
}

// InsertBasic puts a card whose basic string is the raw GBK bytes b in the reader and
// announces it, to try strings that do not parse.
func (s *Simulator) InsertBasic(b []byte) error {
	if len(b) > MaxLen-2 {
		return fmt.Errorf("insert card: basic string of %d bytes: %w", len(b), ErrFrameTooLong)
	}
	s.mu.Lock()
	s.inserted, s.status, s.basic = true, StatusOK, append([]byte(nil), b...)
	s.mu.Unlock()
	return s.send(Frame{Cmd: CmdCardIn, Data: append([]byte{StatusOK}, b...)})
}

// InsertStatus puts a card the reader cannot read in it: CARD_IN and READ_BASIC answer
// status st (0x02 unreadable, 0x03 PSAM, 0x04 locked, ...).
func (s *Simulator) InsertStatus(st byte) error {
	s.mu.Lock()
	s.inserted, s.status, s.basic = true, st, nil
	s.mu.Unlock()
	return s.send(Frame{Cmd: CmdCardIn, Data: []byte{st}})
}

// Remove takes the card out and announces it (CARD_OUT).
func (s *Simulator) Remove() error {
	s.mu.Lock()
	s.inserted, s.status, s.basic = false, StatusOK, nil
	s.mu.Unlock()
	return s.send(Frame{Cmd: CmdCardOut})
}

// Noise writes n random bytes that are not STX, as a bad cable would.
func (s *Simulator) Noise(n int) error {
	b := make([]byte, n)
	s.mu.Lock()
	for i := range b {
		for b[i] = byte(s.rng.UintN(256)); b[i] == STX; b[i] = byte(s.rng.UintN(256)) {
		}
	}
	s.mu.Unlock()
	return s.write(b)
}

// CorruptNext makes the next frame the simulator sends go out with a bad BCC.
func (s *Simulator) CorruptNext() {
	s.mu.Lock()
	s.corrupt = true
	s.mu.Unlock()
}

// ScanCode writes code as one line (CRLF), as a QR scanner sharing the port would.
func (s *Simulator) ScanCode(code string) error {
	return s.write([]byte(code + "\r\n"))
}

func (s *Simulator) send(f Frame) error {
	b, err := f.MarshalBinary()
	if err != nil {
		return err
	}
	s.mu.Lock()
	if s.corrupt {
		b[len(b)-2] ^= 0xFF
		s.corrupt = false
	}
	s.mu.Unlock()
	return s.write(b)
}

func (s *Simulator) write(b []byte) error {
	s.wmu.Lock()
	defer s.wmu.Unlock()
	if _, err := s.port.Write(b); err != nil {
		return fmt.Errorf("simulator write: %w", err)
	}
	return nil
}

// Scanner is the device side of protocol "line": a QR scanner that types e-voucher
// codes, each ended by CRLF.
type Scanner struct {
	mu   sync.Mutex
	port io.Writer
}

// NewScanner returns a scanner writing to port.
func NewScanner(port io.Writer) *Scanner { return &Scanner{port: port} }

// ScanCode sends code as one line.
func (s *Scanner) ScanCode(code string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, err := io.WriteString(s.port, code+"\r\n"); err != nil {
		return fmt.Errorf("scanner write: %w", err)
	}
	return nil
}
