package libhost

import (
	"bytes"
	"errors"
	"io"
	"testing"
)

func TestFrame_RoundTrip(t *testing.T) {
	var buf bytes.Buffer
	in := Request{ID: 7, Op: OpReadSFZ, Photo: "/tmp/p.bmp", In: []byte{0xcd, 0xf5}}
	if err := WriteFrame(&buf, in); err != nil {
		t.Fatal(err)
	}
	var got Request
	if err := ReadFrame(&buf, &got); err != nil {
		t.Fatal(err)
	}
	if got.ID != 7 || got.Op != OpReadSFZ || !bytes.Equal(got.In, in.In) {
		t.Errorf("got %+v; want %+v", got, in)
	}
	if err := ReadFrame(&buf, &got); !errors.Is(err, io.EOF) {
		t.Errorf("ReadFrame at the end: %v; want io.EOF", err)
	}
}

func TestReadFrame_Errors(t *testing.T) {
	for name, b := range map[string][]byte{
		"too long": {0x7f, 0, 0, 0},
		"short":    {0, 0, 0, 9, '{'},
		"not json": {0, 0, 0, 1, 'x'},
	} {
		var r Response
		err := ReadFrame(bytes.NewReader(b), &r)
		if err == nil || errors.Is(err, io.EOF) {
			t.Errorf("%s: ReadFrame = %v; want an error", name, err)
		}
	}
}

func FuzzReadFrame(f *testing.F) {
	var buf bytes.Buffer
	_ = WriteFrame(&buf, Response{ID: 1, RC: -1, Out: []byte("no card")})
	f.Add(buf.Bytes())
	f.Add([]byte{0, 0, 0, 2, '{', '}'})
	f.Add([]byte{0xff, 0xff, 0xff, 0xff})
	f.Fuzz(func(t *testing.T, b []byte) {
		var r Response
		if err := ReadFrame(bytes.NewReader(b), &r); err != nil {
			return
		}
		var out bytes.Buffer
		if err := WriteFrame(&out, r); err != nil {
			t.Fatalf("a frame that was read cannot be written: %v", err)
		}
	})
}
