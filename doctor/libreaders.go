package doctor

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"runtime"

	"github.com/settle-agent/settle-agent/cardreader"
	"github.com/settle-agent/settle-agent/cardreader/libhost"
	"github.com/settle-agent/settle-agent/cardreader/vendorlib"
	"github.com/settle-agent/settle-agent/config"
	"github.com/settle-agent/settle-agent/ecvoucher"
)

// libraryReaders checks each window's vendor-library and remote reader and the
// e-voucher decode service (docs/readers.md), and returns how many readers it saw.
// A library is loaded in a reader-host child, as the agent does, so a library that
// crashes or hangs here is reported, not suffered; while the agent runs, its view of
// the reader is reported instead (states, or why the agent did not give them).
func (d *doctor) libraryReaders(ctx context.Context, cfg *config.Config, running bool, states []cardreader.State, statesErr error) int {
	n := 0
	for _, w := range cfg.Windows {
		p := w.Reader
		if p == nil || (!p.IsLibrary() && !p.Remote) {
			continue
		}
		n++
		name := "reader " + w.ID
		if running {
			d.readerStateOfAgent(name, w.ID, p, states, statesErr)
			continue
		}
		if p.Remote {
			d.ok(name, "remote: read on the cashier's PC by settle-agent reader-host; the running agent shows whether it is connected")
			continue
		}
		d.probeLibrary(ctx, name, w.ID, p)
	}
	d.evoucher(ctx, cfg)
	return n
}

// hasLibraryReaders reports whether a window's reader is a vendor library or remote.
func hasLibraryReaders(cfg *config.Config) bool {
	for _, w := range cfg.Windows {
		if w.Reader != nil && (w.Reader.IsLibrary() || w.Reader.Remote) {
			return true
		}
	}
	return false
}

// probeLibrary loads the library in a reader-host child and calls Init.
func (d *doctor) probeLibrary(ctx context.Context, name, window string, p *config.Port) {
	if _, err := os.Stat(p.Library); err != nil {
		d.fail(name, fmt.Sprintf("library %s: %v", p.Library, err), "the [[window]] "+window+" reader's library must name the vendor's file (docs/readers.md)")
		return
	}
	arch, archErr := vendorlib.Arch(p.Library)
	if archErr == nil && arch != runtime.GOARCH && p.HostExe == "" {
		d.fail(name, fmt.Sprintf("%s is built for %s; this settle-agent (its reader-host) is %s/%s", p.Library, arch, runtime.GOOS, runtime.GOARCH),
			"a library loads only in a reader-host of its own bitness: set host_exe to the "+runtime.GOOS+"/"+arch+" build of settle-agent (docs/readers.md)")
		return
	}
	lc := cardreader.LibConfig{Window: window, Library: p.Library, Interface: p.Interface, CardType: p.CardType,
		Init: heasecInit(p.Init, p.InitJSON), Deadline: p.Deadline.Duration, HostExe: p.HostExe}
	ctx, cancel := context.WithTimeout(ctx, max(d.o.Timeout, libhost.DefaultDeadline)+libhost.DefaultSetupDeadline)
	defer cancel()
	st, err := cardreader.ProbeLib(ctx, lc, &cardreader.LibOptions{HostArgs: d.o.ReaderHostArgs, HostEnv: d.o.ReaderHostEnv, Logger: d.log})
	if err != nil {
		fix := "check the library's path and that the vendor's other files sit next to it"
		switch {
		case errors.Is(err, vendorlib.ErrOpen):
			fix = "a 32-bit DLL needs the windows/386 reader-host: set host_exe (docs/readers.md, bitness); on Linux `ldd` the library for missing dependencies"
		case errors.Is(err, vendorlib.ErrSymbol):
			fix = "the interface setting must match the library: heasec (HeaSecReadInfo) or sscard (SSCardDriver)"
		case errors.Is(err, libhost.ErrCrashed), errors.Is(err, libhost.ErrHung):
			fix = "the vendor library crashed or hung while loading: ask the vendor; the agent would restart it again and again"
		case errors.Is(err, libhost.ErrLibrary):
			fix = "Init failed: check the init values (IP, PORT of the card management server) and the vendor's own configuration file"
		}
		d.fail(name, err.Error(), fix)
		return
	}
	sfz := "does not read ID cards (no ReadSFZ)"
	if st.HasSFZ {
		sfz = "reads ID cards too (ReadSFZ)"
	}
	if archErr == nil {
		sfz += ", " + arch
	}
	d.ok(name, fmt.Sprintf("%s (%s) loads in reader-host and initialises; %s", p.Library, p.Interface, sfz))
}

// readerStateOfAgent reports a library or remote reader from the running agent's view.
func (d *doctor) readerStateOfAgent(name, window string, p *config.Port, states []cardreader.State, err error) {
	if err != nil {
		d.warn(name, "the running agent does not say how its reader is: "+err.Error(), "look at the agent's status page")
		return
	}
	for _, s := range states {
		if s.Window != window || (s.Kind != cardreader.KindLibrary && s.Kind != cardreader.KindRemote) {
			continue
		}
		what := s.Library
		if s.Kind == cardreader.KindRemote {
			what = "remote reader (reader-host on " + s.Peer + ")"
			if s.Peer == "" {
				what = "remote reader"
			}
		}
		faults := ""
		if s.Host != nil && (s.Host.Hangs > 0 || s.Host.Crashes > 0) {
			faults = fmt.Sprintf("; the library hung %d and crashed %d times (last: %s)", s.Host.Hangs, s.Host.Crashes, s.Host.LastFault)
		}
		switch {
		case s.Kind == cardreader.KindRemote && !s.Connected:
			d.fail(name, what+": not connected: "+s.LastError+faults, "start settle-agent reader-host on the cashier's PC with this window's token and the agent's URL (docs/readers.md)")
		case s.Kind == cardreader.KindLibrary && s.Host != nil && s.Host.Starts == 0:
			d.ok(name, what+": the running agent loads it at the first card wait"+faults)
		case !s.Connected:
			d.fail(name, what+": the running agent cannot use it: "+s.LastError+faults, "see the status page's last error and docs/readers.md")
		case faults != "":
			d.warn(name, what+": connected"+faults, "repeated faults: ask the reader's vendor")
		default:
			d.ok(name, what+": connected to the running agent")
		}
		return
	}
	d.warn(name, "the running agent does not use this reader", "restart the agent ('settle-agent restart') to take this configuration")
}

// evoucher checks that the e-voucher decode service answers ec.query: a refusal of a
// made-up code is the answer wanted.
func (d *doctor) evoucher(ctx context.Context, cfg *config.Config) {
	e := cfg.EVoucher
	var t ecvoucher.Transport
	switch e.Mode {
	case "":
		return // off: scanned codes are refused at the windows with a message
	case "http":
		t = ecvoucher.HTTP{URL: e.URL}
	case "library":
		h := libhost.New(libhost.Options{Exe: e.HostExe, Args: d.o.ReaderHostArgs, Env: d.o.ReaderHostEnv,
			Library: e.Library, Interface: vendorlib.NationEC, Logger: d.log})
		defer h.Close()
		t = ecvoucher.Library{Host: h, URL: e.URL}
	default:
		return // the configuration check names it
	}
	dec := &ecvoucher.Decoder{Query: ecvoucher.Query{OrgID: cfg.Hospital.FixmedinsCode, OperatorID: "doctor"}, Transport: t,
		Timeout: max(d.o.Timeout, e.Timeout.Duration)}
	_, err := dec.Decode(ctx, "SETTLE-AGENT-DOCTOR-PROBE")
	switch {
	case err == nil, errors.Is(err, ecvoucher.ErrRefused), errors.Is(err, ecvoucher.ErrExpired):
		d.ok("e-voucher", fmt.Sprintf("the decode service (%s) answers ec.query", e.Mode))
	case errors.Is(err, ecvoucher.ErrOffline):
		d.fail("e-voucher", err.Error(), "check [evoucher] url (or library) and that this machine reaches the e-voucher service")
	default:
		d.warn("e-voucher", err.Error(), "the service answers, but not as ec.query: check [evoucher] url")
	}
}

// heasecInit is heasec's Init values as the JSON object the library takes.
func heasecInit(in config.HeaSecInit, extra string) map[string]any {
	m := map[string]any{}
	if extra != "" {
		_ = json.Unmarshal([]byte(extra), &m) // config validated it
	}
	for k, v := range map[string]any{"IP": in.IP, "PORT": in.PORT, "TIMEOUT": in.TIMEOUT, "LOG_PATH": in.LOG_PATH, "SFZ_DRIVER_TYPE": in.SFZ_DRIVER_TYPE} {
		if v != "" && v != 0 {
			m[k] = v
		}
	}
	return m
}
