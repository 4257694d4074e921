package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/settle-agent/settle-agent"
	"github.com/settle-agent/settle-agent/cardreader"
	"github.com/settle-agent/settle-agent/platform/sim"
)

const simReaderHelp = `A simulated social security card reader (protocol "frame", firmware SIM-1.0) on a
Linux pseudo-terminal: point a window's reader at the printed device or, better, at
--link, which stays the same across unplug/replug. The script comes from stdin, one
command per line (blank lines and # comments are ignored):

  card N              insert the Nth card of the fixture (see the list printed at start)
  card <basic string> insert a card with this basic-information string (11 fields, |)
  remove              take the card out (CARD_OUT)
  status 0x02         insert a card the reader answers with this status byte
                      (0x01 no card, 0x02 unreadable, 0x03 PSAM error, 0x04 locked)
  noise 16            write 16 bytes of line noise
  badbcc              send the next frame with a bad BCC
  unplug              close the pseudo-terminal, as pulling the USB plug would
  replug              open a new one and re-point --link at it
  scan <code>         a QR scanner reads an e-voucher code (on --scanner-link if
                      given, else on the reader's own port)
  sleep 500ms         wait
  quit                stop (the end of stdin does not stop it: Ctrl-C does)

Example: settle-agent sim reader --link /tmp/reader0 <<<'card 1'
On Windows use com0com instead: see docs/readers.md.`

// simReader runs `settle-agent sim reader [--pty] [--link PATH] [--scanner-link PATH]
// [--fixture FILE]`.
func simReader(ctx context.Context, env *cmdEnv, args []string) error {
	fs := newFlags(env, "sim reader", "sim reader [--pty] [--link PATH] [--scanner-link PATH] [--fixture FILE] < script")
	usePTY := fs.Bool("pty", true, "serve the reader on a pseudo-terminal (the only mode; Linux)")
	link := fs.String("link", "", "symlink to keep pointing at the reader's current /dev/pts/N")
	scanLink := fs.String("scanner-link", "", "also simulate a QR scanner (protocol line) on a second pseudo-terminal, linked here")
	fixture := fs.String("fixture", "", "simulator fixture (JSON, as for sim platform) whose persons' cards 'card N' inserts; empty: the embedded demo fixture")
	defaultUsage := fs.Usage
	fs.Usage = func() {
		defaultUsage()
		fmt.Fprintf(env.stderr, "\n%s\n", simReaderHelp)
	}
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("%w: unexpected argument %q", errUsage, fs.Arg(0))
	}
	if !*usePTY {
		return fmt.Errorf("%w: only --pty is supported; on Windows pair two COM ports with com0com (docs/readers.md)", errUsage)
	}
	cards, vouchers, err := simReaderCards(*fixture)
	if err != nil {
		return err
	}

	pt, err := cardreader.OpenPTY(*link)
	if err != nil {
		return fmt.Errorf("sim reader: %w", err)
	}
	reader := cardreader.NewSimulator(pt)
	var wg sync.WaitGroup
	defer wg.Wait()
	defer pt.Close()
	wg.Add(1)
	go func() { defer wg.Done(); _ = reader.Run(ctx) }()

	var scanner interface{ ScanCode(string) error } = reader
	if *scanLink != "" {
		spt, err := cardreader.OpenPTY(*scanLink)
		if err != nil {
			return fmt.Errorf("sim reader: scanner: %w", err)
		}
		defer spt.Close()
		scanner = cardreader.NewScanner(spt)
		fmt.Fprintf(env.stdout, "scanner: %s (link %s, protocol line)\n", spt.Path(), *scanLink)
	}
	fmt.Fprintf(env.stdout, "reader: %s", pt.Path())
	if *link != "" {
		fmt.Fprintf(env.stdout, " (link %s)", *link)
	}
	fmt.Fprintln(env.stdout, ", protocol frame, 9600 8N1")
	for i, c := range cards {
		fmt.Fprintf(env.stdout, "card %d: %s %s, region %s, card no %s\n", i+1, settle.MaskName(c.Name), settle.MaskID(c.SSN), c.RegionCode, c.CardNo)
	}
	for _, v := range vouchers {
		fmt.Fprintf(env.stdout, "e-voucher: scan %s (%s)\n", v.CardNo, settle.MaskName(v.Name))
	}

	lines := make(chan string)
	go func() { // stdin cannot be interrupted; this goroutine ends with the process
		defer close(lines)
		in := env.stdin
		if in == nil {
			in = os.Stdin
		}
		sc := bufio.NewScanner(in)
		for sc.Scan() {
			select {
			case lines <- sc.Text():
			case <-ctx.Done():
				return
			}
		}
	}()
	n := 0
	for {
		select {
		case <-ctx.Done():
			return nil
		case line, ok := <-lines:
			if !ok {
				fmt.Fprintln(env.stdout, "end of script: the reader stays plugged in until Ctrl-C")
				lines = nil
				continue
			}
			n++
			line = strings.TrimSpace(line)
			if line == "" || strings.HasPrefix(line, "#") {
				continue
			}
			done, err := simReaderCommand(ctx, line, reader, scanner, pt, cards)
			if err != nil {
				fmt.Fprintf(env.stderr, "line %d: %s: %v\n", n, line, err)
				continue
			}
			fmt.Fprintf(env.stdout, "ok: %s\n", line)
			if done {
				return nil
			}
		}
	}
}

// simReaderCommand runs one script line; done is true for quit.
func simReaderCommand(ctx context.Context, line string, r *cardreader.Simulator, scanner interface{ ScanCode(string) error }, pt *cardreader.PTY, cards []settle.Card) (done bool, err error) {
	verb, arg, _ := strings.Cut(line, " ")
	arg = strings.TrimSpace(arg)
	switch verb {
	case "card":
		if strings.Contains(arg, "|") {
			b, err := cardreader.EncodeGBK(arg)
			if err != nil {
				return false, err
			}
			return false, r.InsertBasic(b)
		}
		i, err := strconv.Atoi(arg)
		if err != nil || i < 1 || i > len(cards) {
			return false, fmt.Errorf("want a card number 1 to %d or a basic-information string", len(cards))
		}
		return false, r.Insert(cards[i-1])
	case "remove":
		return false, r.Remove()
	case "status":
		st, err := strconv.ParseUint(arg, 0, 8)
		if err != nil {
			return false, fmt.Errorf("want a status byte such as 0x02: %w", err)
		}
		return false, r.InsertStatus(byte(st))
	case "noise":
		k, err := strconv.Atoi(arg)
		if err != nil || k < 1 || k > 1<<16 {
			return false, errors.New("want a byte count from 1 to 65536")
		}
		return false, r.Noise(k)
	case "badbcc":
		r.CorruptNext()
		return false, nil
	case "unplug":
		return false, pt.Unplug()
	case "replug":
		if err := pt.Replug(); err != nil {
			return false, err
		}
		return false, nil
	case "scan":
		if arg == "" {
			return false, errors.New("want a code to scan")
		}
		return false, scanner.ScanCode(arg)
	case "sleep":
		d, err := time.ParseDuration(arg)
		if err != nil || d < 0 {
			return false, errors.New("want a duration such as 500ms")
		}
		t := time.NewTimer(d)
		defer t.Stop()
		select {
		case <-ctx.Done():
		case <-t.C:
		}
		return false, nil
	case "quit":
		return true, nil
	}
	return false, errors.New("unknown command (card, remove, status, noise, badbcc, unplug, replug, scan, sleep, quit)")
}

// simReaderCards returns the social security cards `card N` inserts and the e-voucher
// codes a scan may use: the fixture persons' (the embedded demo fixture by default).
func simReaderCards(fixture string) (cards, vouchers []settle.Card, err error) {
	f := sim.DemoFixture()
	if fixture != "" {
		if f, err = sim.LoadFixture(fixture); err != nil {
			return nil, nil, err
		}
	}
	for _, c := range f.Cards() {
		if c.CertType == settle.CertEVoucher {
			vouchers = append(vouchers, c)
			continue
		}
		if _, err := cardreader.ParseBasic(cardreader.BasicString(c)); err != nil {
			return nil, nil, fmt.Errorf("fixture card %s: %w", c.CardNo, err)
		}
		cards = append(cards, c)
	}
	if len(cards) == 0 {
		cards = cardreader.DemoCards()
	}
	return cards, vouchers, nil
}
