package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"sync"

	"github.com/kardianos/service"

	"github.com/settle-agent/settle-agent/cardreader"
	"github.com/settle-agent/settle-agent/cardreader/libhost"
	"github.com/settle-agent/settle-agent/installer"
)

const readerHostHelp = `reader-host runs a card reader for the agent, in one of two ways:

  --stdio   the child the agent starts for a vendor library (one per library reader):
            it loads the library and answers the agent's calls on stdin/stdout.
            Nobody runs this by hand.

  --agent   on the cashier's PC, where the reader hangs: it drives the reader (a vendor
            library, or a serial port) and delivers each read to the agent over the
            LAN, authenticated with the window's token, reconnecting by itself. In the
            agent's configuration that window has reader = { remote = true }.

On the cashier PC, install it as a service (one per window; Administrator or root):
  settle-agent reader-host install --agent URL --window W01 --token file:PATH (--library ... | --port ...)
  settle-agent reader-host uninstall --window W01

Examples:
  settle-agent reader-host --agent https://frontend:8443 --window W01 --token file:C:\settle\w01.token \
      --ca C:\settle\agent-ca.pem --library C:\vendor\HeaSecReadInfo.dll --interface heasec \
      --init '{"IP":"10.1.2.3","PORT":7020,"TIMEOUT":6}'
  settle-agent reader-host --agent http://10.0.0.5:8420 --window W02 --token env:W02_TOKEN --port COM3
See docs/readers.md.`

// runReaderHost runs `settle-agent reader-host`.
func runReaderHost(ctx context.Context, env *cmdEnv, args []string) error {
	if len(args) > 0 && (args[0] == "install" || args[0] == "uninstall") {
		return readerHostService(ctx, env, args[0], args[1:])
	}
	fs := newFlags(env, "reader-host", "reader-host --stdio | --agent URL --window W --token TOKEN (--library FILE --interface heasec|sscard | --port PORT)")
	stdio := fs.Bool("stdio", false, "serve a vendor library to the agent on stdin/stdout (the agent starts this)")
	agentURL := fs.String("agent", "", "the agent's API base URL, e.g. https://frontend:8443")
	window := fs.String("window", "", "the window the reader sits at, e.g. W01")
	token := fs.String("token", "", "the window's token, or file:PATH or env:NAME")
	caFile := fs.String("ca", "", "PEM file of the CA that signed the agent's certificate (https); empty: the system's")
	certFile := fs.String("cert", "", "client certificate (PEM) for an agent whose [api] client_ca requires one; with --key")
	keyFile := fs.String("key", "", "the client certificate's key (PEM)")
	library := fs.String("library", "", "the vendor library's path (HeaSecReadInfo.dll, libHeaSecReadInfo.so, SSCardDriver.dll)")
	iface := fs.String("interface", "heasec", "the library's interface: heasec or sscard")
	initJSON := fs.String("init", "", `heasec Init values as JSON, e.g. {"IP":"10.1.2.3","PORT":7020,"TIMEOUT":6}`)
	cardType := fs.Int("card-type", cardreader.DefaultCardType, "sscard: 1 contact, 2 contactless, 3 or 4 automatic")
	poll := fs.Duration("poll", cardreader.DefaultPoll, "how often the library is asked for a card while the window waits")
	deadline := fs.Duration("deadline", cardreader.DefaultCallDeadline, "longest one library call may take before its process is restarted")
	noSFZ := fs.Bool("no-sfz", false, "heasec: do not read resident ID cards")
	hostExe := fs.String("host-exe", "", "the reader-host that loads the library (e.g. the windows/386 build for a 32-bit DLL); empty: this program")
	port := fs.String("port", "", "a serial reader instead of a library: COM3, /dev/ttyUSB0")
	protocol := fs.String("protocol", cardreader.ProtocolFrame, "the serial reader's protocol: frame (card reader) or line (QR scanner)")
	baud := fs.Int("baud", cardreader.DefaultBaud, "the serial reader's baud rate")
	scanner := fs.String("scanner", "", "also a QR scanner (protocol line) on this serial port, for the same window")
	verbose := fs.Bool("v", false, "log debug lines")
	check := fs.Bool("check", false, "check the flags (and the token) and exit: what install does first")
	defaultUsage := fs.Usage
	fs.Usage = func() {
		defaultUsage()
		fmt.Fprintf(env.stderr, "\n%s\n", readerHostHelp)
	}
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("%w: unexpected argument %q", errUsage, fs.Arg(0))
	}
	if *stdio {
		return readerHostChild(ctx)
	}
	if *agentURL == "" || *window == "" || *token == "" {
		return fmt.Errorf("%w: --agent, --window and --token are required (or --stdio)", errUsage)
	}
	if (*library == "") == (*port == "") {
		return fmt.Errorf("%w: name the reader: --library FILE --interface heasec|sscard, or --port PORT", errUsage)
	}
	tok, err := resolveToken(*token, env.getenv)
	if err != nil {
		return err
	}
	level := slog.LevelInfo
	if *verbose {
		level = slog.LevelDebug
	}
	log := slog.New(slog.NewTextHandler(env.stderr, &slog.HandlerOptions{Level: level}))
	var tlsConf *tls.Config
	if *caFile != "" || *certFile != "" || *keyFile != "" {
		tlsConf = &tls.Config{MinVersion: tls.VersionTLS12}
	}
	if *caFile != "" {
		pem, err := os.ReadFile(*caFile)
		if err != nil {
			return fmt.Errorf("reader-host: --ca: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return fmt.Errorf("reader-host: --ca %s holds no PEM certificate", *caFile)
		}
		tlsConf.RootCAs = pool
	}
	if (*certFile == "") != (*keyFile == "") {
		return fmt.Errorf("%w: --cert and --key go together", errUsage)
	}
	if *certFile != "" {
		cert, err := tls.LoadX509KeyPair(*certFile, *keyFile)
		if err != nil {
			return fmt.Errorf("reader-host: --cert/--key: %w", err)
		}
		tlsConf.Certificates = []tls.Certificate{cert}
	}

	// The link to the agent comes first: the readers hand it their reads, and it asks
	// them (through status) what to say of them in every heartbeat.
	var status func() cardreader.Heartbeat
	link, err := cardreader.NewLink(cardreader.LinkOptions{Agent: *agentURL, Window: *window, Token: tok, TLS: tlsConf,
		Status: func() cardreader.Heartbeat { return status() }, Logger: log})
	if err != nil {
		return fmt.Errorf("%w: %v", errUsage, err)
	}
	var runners []func(context.Context) error
	if *library != "" {
		cfg := cardreader.LibConfig{Window: *window, Library: *library, Interface: *iface, CardType: *cardType,
			Poll: *poll, Deadline: *deadline, NoSFZ: *noSFZ, HostExe: *hostExe}
		if *initJSON != "" {
			if err := json.Unmarshal([]byte(*initJSON), &cfg.Init); err != nil {
				return fmt.Errorf("%w: --init is not a JSON object: %v", errUsage, err)
			}
		}
		// Poll while the agent's window waits, as the link mirrors it.
		lr, err := cardreader.NewLib(cfg, &cardreader.LibOptions{OnRead: link.OnRead, Demand: link.Demand(), Logger: log})
		if err != nil {
			return err
		}
		status = func() cardreader.Heartbeat { return cardreader.HeartbeatOf(lr.State(), installer.VersionLine()) }
		runners = append(runners, lr.Run)
	} else {
		r, err := cardreader.New(cardreader.Config{Window: *window, Port: *port, Baud: *baud, Protocol: *protocol},
			&cardreader.Options{OnRead: link.OnRead, Logger: log})
		if err != nil {
			return err
		}
		status = func() cardreader.Heartbeat { return cardreader.HeartbeatOf(r.State(), installer.VersionLine()) }
		runners = append(runners, r.Run)
	}
	if *scanner != "" {
		s, err := cardreader.New(cardreader.Config{Window: *window, Port: *scanner, Baud: *baud, Protocol: cardreader.ProtocolLine},
			&cardreader.Options{OnRead: link.OnRead, Logger: log})
		if err != nil {
			return err
		}
		runners = append(runners, s.Run)
	}
	runners = append(runners, link.Run)
	if *check {
		return nil
	}
	runAll := func(ctx context.Context) error {
		var wg sync.WaitGroup
		for _, run := range runners {
			wg.Add(1)
			go func() { defer wg.Done(); _ = run(ctx) }()
		}
		wg.Wait()
		return nil
	}
	if !service.Interactive() {
		// Started by the service manager (Windows SCM, systemd): it owns start and stop.
		return runHostService(*window, runAll, log)
	}
	fmt.Fprintf(env.stdout, "reader-host: window %s, delivering to %s\n", *window, *agentURL)
	return runAll(ctx)
}

// readerHostChild is `reader-host --stdio`: the library server the agent talks to.
func readerHostChild(ctx context.Context) error {
	out, err := libhost.ProtectStdout()
	if err != nil {
		return fmt.Errorf("reader-host: protect stdout: %w", err)
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, nil))
	return libhost.Serve(ctx, os.Stdin, out, log)
}

// resolveToken reads a token given as itself, file:PATH or env:NAME.
func resolveToken(s string, getenv func(string) string) (string, error) {
	switch {
	case strings.HasPrefix(s, "file:"):
		b, err := os.ReadFile(strings.TrimPrefix(s, "file:"))
		if err != nil {
			return "", fmt.Errorf("reader-host: --token: %w", err)
		}
		s = strings.TrimSpace(string(b))
	case strings.HasPrefix(s, "env:"):
		name := strings.TrimPrefix(s, "env:")
		s = strings.TrimSpace(getenv(name))
		if s == "" {
			return "", fmt.Errorf("reader-host: --token env:%s: the variable is empty", name)
		}
	}
	if s == "" {
		return "", fmt.Errorf("reader-host: the token is empty")
	}
	return s, nil
}
