//go:build linux

package main

import (
	"context"
	"fmt"
	"io"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/settle-agent/settle-agent/internal/syncbuf"

	"github.com/settle-agent/settle-agent"
	"github.com/settle-agent/settle-agent/cardreader"
	"github.com/settle-agent/settle-agent/internal/poll"
)

// TestSimReader_Script drives `sim reader --link` with a script while a real Reader
// opens the link through tarm/serial: cards, a status byte, noise, a bad BCC and an
// unplug/replug all reach the reader as they should.
func TestSimReader_Script(t *testing.T) {
	dir := t.TempDir()
	link := filepath.Join(dir, "reader0")
	stdin, script := io.Pipe()

	var stdout, stderr syncbuf.Buffer
	env := &cmdEnv{stdin: stdin, stdout: &stdout, stderr: &stderr, getenv: func(string) string { return "" }}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- simReader(ctx, env, []string{"--pty", "--link", link}) }()
	say := func(line string) {
		t.Helper()
		if _, err := fmt.Fprintln(script, line); err != nil {
			t.Fatal(err)
		}
	}
	waitUntil := func(what string, cond func() bool) {
		t.Helper()
		if !poll.Within(20*time.Second, poll.Every, cond) {
			t.Fatalf("gave up waiting for %s; stdout:\n%s\nstderr:\n%s", what, stdout.String(), stderr.String())
		}
	}
	waitUntil("the device path", func() bool { return strings.Contains(stdout.String(), "(link "+link+")") })

	reads := make(chan settle.CardRead, 8)
	r, err := cardreader.New(cardreader.Config{Window: "W01", Port: link}, &cardreader.Options{
		OnRead: func(cr settle.CardRead) { reads <- cr }, MinBackoff: 10 * time.Millisecond, MaxBackoff: 50 * time.Millisecond,
	})
	if err != nil {
		t.Fatal(err)
	}
	rctx, rcancel := context.WithCancel(context.Background())
	rdone := make(chan error, 1)
	go func() { rdone <- r.Run(rctx) }()
	defer func() { rcancel(); <-rdone }()
	waitUntil("the reader to connect", func() bool { return r.State().Connected })
	next := func() settle.CardRead {
		t.Helper()
		select {
		case cr := <-reads:
			return cr
		case <-time.After(20 * time.Second):
			t.Fatalf("no card read; stderr:\n%s", stderr.String())
		}
		return settle.CardRead{}
	}

	say("# a comment, then the first card")
	say("card 1")
	if cr := next(); cr.Err != nil || cr.Card.CertType != settle.CertSSCard || !cardreader.ValidIDNumber(cr.Card.SSN) {
		t.Errorf("card 1: got %+v", cr)
	}
	say("status 0x04")
	if cr := next(); cr.Err == nil || !strings.Contains(cr.Err.Error(), "locked") {
		t.Errorf("status 0x04: got %v; want the locked message", cr.Err)
	}
	say("noise 32")
	say("badbcc")
	say("card 2") // its CARD_IN goes out corrupted and is dropped
	say("remove")
	say("card 3")
	if cr := next(); cr.Err != nil || cr.Card.CardNo == "" {
		t.Errorf("card 3 after noise and a bad BCC: got %+v", cr)
	} else if c2 := stdout.String(); !strings.Contains(c2, "card 3: ") {
		t.Errorf("stdout lacks the card list:\n%s", c2)
	}
	say("unplug")
	waitUntil("the reader to notice the unplug", func() bool { return !r.State().Connected })
	say("replug")
	waitUntil("the reader to reconnect", func() bool { return r.State().Connected })
	say("card " + cardreader.BasicString(cardreader.DemoCards()[4]))
	if cr := next(); cr.Err != nil || cr.Card != cardreader.DemoCards()[4] {
		t.Errorf("card by basic string after replug: got %+v", cr)
	}
	say("bogus")
	say("card 99")
	say("quit")
	if err := <-done; err != nil {
		t.Errorf("simReader: %v", err)
	}
	for _, want := range []string{"line 12: bogus: unknown command", "line 13: card 99: want a card number"} {
		if !strings.Contains(stderr.String(), want) {
			t.Errorf("stderr lacks %q:\n%s", want, stderr.String())
		}
	}
	if !strings.Contains(stdout.String(), "ok: quit") {
		t.Errorf("stdout lacks ok: quit:\n%s", stdout.String())
	}
	script.Close()
}
