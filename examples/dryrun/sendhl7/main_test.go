package main

import (
	"bufio"
	"bytes"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// send frames the shipped sample as MLLP with CR segment ends and reads the ACK.
func TestSend_FramesTheSample(t *testing.T) {
	sample, err := os.ReadFile(filepath.Join("..", "bill.hl7"))
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	got := make(chan []byte, 1)
	go func() { // owned by this test: ends when the one connection is answered
		c, err := ln.Accept()
		if err != nil {
			got <- nil
			return
		}
		defer c.Close()
		r := bufio.NewReader(c)
		b, _ := r.ReadBytes(0x1c)
		end, _ := r.ReadByte()
		got <- append(b, end)
		c.Write([]byte("\x0bMSH|^~\\&|SETTLE-AGENT|DRYRUN|HIS|DRYRUN|20261201091201+0800||ACK^P03^ACK|ACKDRYRUN0001|P|2.5\rMSA|AA|DRYRUN0001|bill stored\r\x1c\x0d"))
	}()
	ack, err := send(ln.Addr().String(), sample, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if !accepted(ack) || ack[1] != "MSA|AA|DRYRUN0001|bill stored" {
		t.Errorf("ack: got %q; want MSA|AA", ack)
	}
	f := <-got
	if f[0] != 0x0b || !bytes.HasSuffix(f, []byte("\r\x1c\x0d")) || bytes.Contains(f, []byte("\n")) {
		t.Errorf("frame %q: want 0x0B ... CR 0x1C 0x0D, segments ended by CR only", f)
	}
	if n := bytes.Count(f, []byte("\r")); n != 8+1 {
		t.Errorf("frame has %d CRs; want 8 segments and the frame end", n)
	}
}

func TestAccepted(t *testing.T) {
	for _, tt := range []struct {
		seg  []string
		want bool
	}{{[]string{"MSH|x", "MSA|AA|1"}, true}, {[]string{"MSH|x", "MSA|AE|1|FT1-7 unmapped code YP0099"}, false}, {nil, false}} {
		if got := accepted(tt.seg); got != tt.want {
			t.Errorf("accepted(%q): got %v; want %v", tt.seg, got, tt.want)
		}
	}
}
