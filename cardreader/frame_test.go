package cardreader

import (
	"bytes"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"testing"
)

// mustFrame encodes f or fails the test.
func mustFrame(tb testing.TB, f Frame) []byte {
	tb.Helper()
	b, err := f.MarshalBinary()
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

func unhex(tb testing.TB, s string) []byte {
	tb.Helper()
	b, err := hex.DecodeString(strings.ReplaceAll(s, " ", ""))
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

func TestFrame_MarshalBinary(t *testing.T) {
	t.Run("PING", func(t *testing.T) {
		got := mustFrame(t, Frame{Cmd: CmdPing})
		// LEN 00 01, CMD 01, BCC = 00^01^01 = 00
		if want := unhex(t, "02 0001 01 00 03"); !bytes.Equal(got, want) {
			t.Errorf("got % X; want % X", got, want)
		}
	})
	t.Run("PONG", func(t *testing.T) {
		got := mustFrame(t, Frame{Cmd: CmdPong, Data: []byte("SIM-1.0")})
		want := []byte{STX, 0, 8, 0x81}
		want = append(want, "SIM-1.0"...)
		want = append(want, bcc(want[1:]), ETX)
		if !bytes.Equal(got, want) {
			t.Errorf("got % X; want % X", got, want)
		}
	})
	t.Run("Largest", func(t *testing.T) {
		b := mustFrame(t, Frame{Cmd: CmdBasic, Data: make([]byte, MaxLen-1)})
		if len(b) != maxFrameSize {
			t.Errorf("got %d bytes; want %d", len(b), maxFrameSize)
		}
	})
	t.Run("ErrFrameTooLong", func(t *testing.T) {
		_, err := Frame{Cmd: CmdBasic, Data: make([]byte, MaxLen)}.MarshalBinary()
		if !errors.Is(err, ErrFrameTooLong) {
			t.Errorf("got %v; want ErrFrameTooLong", err)
		}
	})
}

// parseCases are byte strings parseFrame is shown; their results are in
// testdata/parse_frame.golden.
var parseCases = []struct{ name, hex string }{
	{"empty", ""},
	{"ping", "02 0001 01 00 03"},
	{"pong", "02 0008 81 53494D2D312E30 " + "00 03"}, // BCC fixed below
	{"card out", "02 0001 A1 A0 03"},
	{"status no card", "02 0002 90 01 93 03"},
	{"noise then frame", "FF 00 41 02 0001 01 00 03"},
	{"noise only", "FF 00 41 42"},
	{"only STX", "02"},
	{"short header", "02 00"},
	{"short body", "02 0003 90 00"},
	{"len zero", "02 0000 00 03"},
	{"len over 1024", "02 0401 90"},
	{"bad bcc", "02 0001 01 FF 03"},
	{"missing etx", "02 0001 01 00 04"},
	{"two frames", "02 0001 01 00 03 02 0001 A1 A0 03"},
}

func TestParseFrame_Golden(t *testing.T) {
	var out strings.Builder
	for _, c := range parseCases {
		b := unhex(t, c.hex)
		if c.name == "pong" {
			b[len(b)-2] = bcc(b[1 : len(b)-2])
		}
		f, n, err := parseFrame(b)
		fmt.Fprintf(&out, "%-18s % X\n  -> n=%d", c.name, b, n)
		if err != nil {
			fmt.Fprintf(&out, " err=%v\n", err)
		} else {
			fmt.Fprintf(&out, " frame=%s\n", f)
		}
		if n < 0 || n > len(b) {
			t.Errorf("%s: n=%d outside 0..%d", c.name, n, len(b))
		}
		if err != nil && !errors.Is(err, errShortFrame) && n == 0 {
			t.Errorf("%s: error %v drops nothing; the decoder would loop", c.name, err)
		}
	}
	checkGolden(t, "parse_frame.golden", []byte(out.String()))
}

func TestDecoder(t *testing.T) {
	ping := mustFrame(t, Frame{Cmd: CmdPing})
	basic := mustFrame(t, Frame{Cmd: CmdBasic, Data: append([]byte{0}, "330100|x|"...)})
	badBCC := append([]byte(nil), basic...)
	badBCC[len(badBCC)-2] ^= 0x55
	noETX := append([]byte(nil), ping...)
	noETX[len(noETX)-1] = 0x04
	cat := func(parts ...[]byte) []byte { return bytes.Join(parts, nil) }

	cases := []struct {
		name      string
		in        []byte
		wantCmds  []byte
		wantBad   int
		wantDrops int
	}{
		{"one frame", ping, []byte{CmdPing}, 0, 0},
		{"noise before", cat([]byte{0xFF, 0x00, 0x41}, ping), []byte{CmdPing}, 0, 3},
		{"bad BCC then good", cat(badBCC, ping), []byte{CmdPing}, 1, len(badBCC)},
		{"missing ETX then good", cat(noETX, basic), []byte{CmdBasic}, 1, len(noETX)},
		{"LEN over 1024 then good", cat([]byte{STX, 0x04, 0x01}, ping), []byte{CmdPing}, 1, 3},
		{"frame inside a bad frame's body", cat([]byte{STX, 0x00, 0x0C}, ping, []byte{0, 0, 0, 0, 0, 0, 0, 0}), []byte{CmdPing}, 1, 11},
		{"two frames", cat(ping, basic), []byte{CmdPing, CmdBasic}, 0, 0},
	}
	for _, c := range cases {
		for _, step := range []int{len(c.in), 1, 3} {
			t.Run(fmt.Sprintf("%s/by%d", c.name, step), func(t *testing.T) {
				var d Decoder
				var got []byte
				for i := 0; i < len(c.in); i += step {
					for _, f := range d.Write(c.in[i:min(i+step, len(c.in))]) {
						got = append(got, f.Cmd)
					}
				}
				if !bytes.Equal(got, c.wantCmds) {
					t.Errorf("got commands % X; want % X", got, c.wantCmds)
				}
				if d.BadFrames != c.wantBad {
					t.Errorf("got %d bad frames; want %d", d.BadFrames, c.wantBad)
				}
				if d.Dropped != c.wantDrops {
					t.Errorf("got %d dropped bytes; want %d", d.Dropped, c.wantDrops)
				}
			})
		}
	}
}

func TestDecoder_Resync(t *testing.T) {
	// A stray STX with a plausible LEN swallows the frame after it until the line
	// goes quiet; Resync gives it up and finds the frame.
	var d Decoder
	ping := mustFrame(t, Frame{Cmd: CmdPing})
	if got := d.Write(append([]byte{STX, 0x01, 0x00}, ping...)); len(got) != 0 {
		t.Fatalf("got %d frames before resync; want 0", len(got))
	}
	got := d.Resync()
	if len(got) != 1 || got[0].Cmd != CmdPing {
		t.Errorf("got %v after resync; want one PING", got)
	}
	if d.Buffered() != 0 {
		t.Errorf("got %d bytes buffered; want 0", d.Buffered())
	}
}

func TestDecoder_BoundedMemory(t *testing.T) {
	var d Decoder
	// An endless frame start followed by garbage never grows the buffer past one frame.
	d.Write([]byte{STX, 0x04, 0x00})
	junk := bytes.Repeat([]byte{0x41}, 10_000)
	d.Write(junk)
	if d.Buffered() > maxFrameSize {
		t.Errorf("got %d bytes buffered; want at most %d", d.Buffered(), maxFrameSize)
	}
	if cap(d.buf) > 2*maxFrameSize {
		t.Errorf("got buffer capacity %d; want at most %d", cap(d.buf), 2*maxFrameSize)
	}
}

func TestStatusError(t *testing.T) {
	cases := []struct {
		status byte
		want   string
	}{
		{StatusNoCard, "no card: insert the card chip-first and try again"},
		{StatusUnreadable, "card unreadable: wipe the chip"},
		{StatusPSAM, "security module (PSAM)"},
		{StatusLocked, "the card is locked; the patient must go to the social security office"},
		{0x7E, "status 0x7E"},
	}
	for _, c := range cases {
		t.Run(fmt.Sprintf("0x%02X", c.status), func(t *testing.T) {
			var err error = &StatusError{Status: c.status}
			if got := err.Error(); !strings.Contains(got, c.want) {
				t.Errorf("got %q; want it to contain %q", got, c.want)
			}
			var se *StatusError
			if !errors.As(fmt.Errorf("wrapped: %w", err), &se) || se.Status != c.status {
				t.Errorf("errors.As lost the status byte")
			}
		})
	}
}

func FuzzParseFrame(f *testing.F) {
	f.Add(mustFrame(f, Frame{Cmd: CmdPing}))
	f.Add(mustFrame(f, Frame{Cmd: CmdCardIn, Data: []byte{0, 'a', '|'}}))
	f.Add([]byte{STX, 0x04, 0x01, 0x90})
	f.Add([]byte{0xFF, STX, 0, 1, 1, 0, 3})
	f.Fuzz(func(t *testing.T, b []byte) {
		fr, n, err := parseFrame(b)
		if n < 0 || n > len(b) {
			t.Fatalf("n=%d outside 0..%d", n, len(b))
		}
		switch {
		case err == nil:
			again, err := fr.MarshalBinary()
			if err != nil || !bytes.Equal(again, b[:n]) {
				t.Fatalf("frame %v re-encodes to % X; want % X (%v)", fr, again, b[:n], err)
			}
		case errors.Is(err, errShortFrame):
			if n != 0 {
				t.Fatalf("short frame with n=%d", n)
			}
		default:
			if n == 0 {
				t.Fatalf("error %v drops nothing", err)
			}
		}
	})
}

func FuzzDecoder(f *testing.F) {
	f.Add(mustFrame(f, Frame{Cmd: CmdPing}), uint8(1))
	f.Add(append([]byte{STX, 0x03, 0xFF}, mustFrame(f, Frame{Cmd: CmdPong, Data: []byte("x")})...), uint8(2))
	f.Fuzz(func(t *testing.T, b []byte, step uint8) {
		s := int(step)%16 + 1
		var d Decoder
		var frames []Frame
		for i := 0; i < len(b); i += s {
			frames = append(frames, d.Write(b[i:min(i+s, len(b))])...)
			if d.Buffered() > maxFrameSize {
				t.Fatalf("buffer grew to %d bytes", d.Buffered())
			}
		}
		// Whatever the chunking, the same frames come out as from one write.
		var whole Decoder
		all := whole.Write(b)
		if len(all) != len(frames) {
			t.Fatalf("got %d frames in steps of %d; %d in one write", len(frames), s, len(all))
		}
		used := d.Dropped + d.Buffered()
		for _, fr := range frames {
			used += len(fr.Data) + 1 + frameOverhead
		}
		if used != len(b) {
			t.Fatalf("accounted for %d of %d bytes", used, len(b))
		}
	})
}

// BenchmarkDecoder measures decoding a stream of CARD_IN frames with a demo card.
func BenchmarkDecoder(b *testing.B) {
	basic, _ := EncodeGBK(BasicString(DemoCards()[0]))
	frame := mustFrame(b, Frame{Cmd: CmdCardIn, Data: append([]byte{StatusOK}, basic...)})
	stream := bytes.Repeat(frame, 64)
	b.SetBytes(int64(len(stream)))
	var d Decoder
	for b.Loop() {
		if got := len(d.Write(stream)); got != 64 {
			b.Fatalf("got %d frames; want 64", got)
		}
	}
}
