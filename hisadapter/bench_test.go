package hisadapter

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// BenchmarkParseDFT measures parsing one two-item DFT^P03 and building its bill.
func BenchmarkParseDFT(b *testing.B) {
	raw, err := os.ReadFile(filepath.Join("testdata", "hl7", "basic.hl7"))
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(raw)))
	for b.Loop() {
		m, err := ParseMessage(raw)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := DFTToBill(m, DFTDefaults{}); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkMLLPRoundTrip measures one message and its AA over loopback TCP on one
// connection, with an in-memory Sink: the adapter's own cost per bill.
func BenchmarkMLLPRoundTrip(b *testing.B) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- (&MLLPServer{Sink: newMemSink(nil), MessageRate: -1}).Serve(ctx, ln) }() // the adapter alone, not the intake limit
	defer func() { cancel(); <-done }()
	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	var fr Framer
	buf := make([]byte, 4096)
	i := 0
	for b.Loop() {
		i++
		if _, err := c.Write(Frame(dft(fmt.Sprint("C", i), fmt.Sprint("B", i), "YP0001"))); err != nil {
			b.Fatal(err)
		}
		for {
			n, err := c.Read(buf)
			msgs, _ := fr.Feed(buf[:n])
			if len(msgs) > 0 {
				if !bytes.Contains(msgs[0], []byte("MSA|AA|")) {
					b.Fatalf("got %q", strings.ReplaceAll(string(msgs[0]), "\r", "\n"))
				}
				break
			}
			if err != nil {
				b.Fatal(err)
			}
		}
	}
}
