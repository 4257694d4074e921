// Command sendhl7 sends one HL7 v2 message to settle-agent's MLLP listener and
// prints the answer, one segment a line: what `nc` did in older docs, without
// netcat and on any system Go runs on.
//
//	go run ./examples/dryrun/sendhl7 [-addr 127.0.0.1:2575] examples/dryrun/bill.hl7
//
// The file may end its segments with LF, CRLF or CR; they are sent with CR, framed
// as MLLP (0x0B message 0x1C 0x0D). It exits 0 when the agent answers MSA|AA (the
// bill is stored), 1 otherwise.
package main

import (
	"bufio"
	"bytes"
	"errors"
	"flag"
	"fmt"
	"net"
	"os"
	"strings"
	"time"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:2575", "the agent's [hl7] listen address")
	timeout := flag.Duration("timeout", 20*time.Second, "how long to wait for the answer")
	flag.Usage = func() {
		fmt.Fprintln(os.Stderr, "Usage: sendhl7 [-addr HOST:PORT] FILE")
		flag.PrintDefaults()
	}
	flag.Parse()
	if flag.NArg() != 1 {
		flag.Usage()
		os.Exit(2)
	}
	msg, err := os.ReadFile(flag.Arg(0))
	if err != nil {
		fmt.Fprintln(os.Stderr, "sendhl7:", err)
		os.Exit(2)
	}
	ack, err := send(*addr, msg, *timeout)
	if err != nil {
		fmt.Fprintln(os.Stderr, "sendhl7:", err)
		os.Exit(1)
	}
	fmt.Println(strings.Join(ack, "\n"))
	if !accepted(ack) {
		os.Exit(1)
	}
}

// send frames msg, sends it to addr and returns the answer's segments.
func send(addr string, msg []byte, timeout time.Duration) ([]string, error) {
	conn, err := net.DialTimeout("tcp", addr, timeout)
	if err != nil {
		return nil, fmt.Errorf("%w (is the agent running with [hl7] listen = %q?)", err, addr)
	}
	defer conn.Close()
	if err := conn.SetDeadline(time.Now().Add(timeout)); err != nil {
		return nil, err
	}
	if _, err := conn.Write(frame(msg)); err != nil {
		return nil, err
	}
	answer, err := bufio.NewReader(conn).ReadBytes(0x1c)
	if err != nil {
		return nil, fmt.Errorf("read the answer: %w", err)
	}
	answer = bytes.Trim(answer, "\x0b\x1c\r\n")
	if len(answer) == 0 {
		return nil, errors.New("empty answer")
	}
	return strings.Split(string(answer), "\r"), nil
}

// frame turns a message with LF, CRLF or CR segment ends into an MLLP frame.
func frame(msg []byte) []byte {
	text := strings.ReplaceAll(string(msg), "\r\n", "\r")
	text = strings.ReplaceAll(text, "\n", "\r")
	text = strings.TrimRight(text, "\r") + "\r"
	return append(append([]byte{0x0b}, text...), 0x1c, 0x0d)
}

// accepted reports whether the answer is MSA|AA.
func accepted(segments []string) bool {
	for _, s := range segments {
		if strings.HasPrefix(s, "MSA|AA|") || s == "MSA|AA" {
			return true
		}
	}
	return false
}
