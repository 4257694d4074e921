package agent

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"

	settle "github.com/settle-agent/settle-agent"
	"github.com/settle-agent/settle-agent/cardreader"
	"github.com/settle-agent/settle-agent/cardreader/libhost"
	"github.com/settle-agent/settle-agent/cardreader/vendorlib"
	"github.com/settle-agent/settle-agent/config"
	"github.com/settle-agent/settle-agent/ecvoucher"
)

// readerSet is every window's reader (serial, vendor library or remote) and the
// e-voucher decode between them and the windows (serial-reader.md).
type readerSet struct {
	serial []*cardreader.Reader
	libs   []*cardreader.LibReader
	remote *cardreader.RemoteHub
	demand *cardreader.Demand
	stage  *ecvoucher.Stage
	ecHost *libhost.Host // the NationECCode child, when [evoucher] mode is library
}

// buildReaders builds the readers of cfg's windows; their reads go through the
// e-voucher stage to publish.
func (a *Agent) buildReaders(publish func(settle.CardRead)) error {
	cfg := a.cfg
	rs := &a.rd
	rs.demand = cardreader.NewDemand()
	dec, err := a.voucherDecoder()
	if err != nil {
		return err
	}
	rs.stage = ecvoucher.NewStage(dec, publish, a.log)
	onRead := rs.stage.OnRead
	// The hub answers every window: 404 for one without a remote reader.
	rs.remote = cardreader.NewRemoteHub(cardreader.RemoteOptions{
		Token: a.remoteToken, OnRead: onRead, Demand: rs.demand, Now: a.now, Logger: a.log,
	})
	for i := range cfg.Windows {
		w := &cfg.Windows[i]
		for _, p := range []*config.Port{w.Reader, w.Scanner} {
			switch {
			case p == nil:
			case p.Remote:
				rs.remote.Expect(w.ID)
			case p.IsLibrary():
				lc := cardreader.LibConfig{Window: w.ID, Library: p.Library, Interface: p.Interface, CardType: p.CardType,
					Init: heasecInit(p.Init, p.InitJSON), Poll: p.Poll.Duration, Deadline: p.Deadline.Duration, NoSFZ: p.NoSFZ, HostExe: p.HostExe}
				r, err := cardreader.NewLib(lc, &cardreader.LibOptions{OnRead: onRead, Demand: rs.demand, Now: a.now, Logger: a.log,
					HostArgs: a.opts.ReaderHostArgs, HostEnv: a.opts.ReaderHostEnv})
				if err != nil {
					return fmt.Errorf("window %s reader %s: %w", w.ID, p.Library, err)
				}
				rs.libs = append(rs.libs, r)
			case p.Port != "":
				rc := cardreader.Config{Window: w.ID, Port: p.Port, Baud: p.Baud, DataBits: p.DataBits,
					Parity: p.Parity, StopBits: p.StopBits, Protocol: p.Protocol, ReadTimeout: p.ReadTimeout.Duration}
				r, err := cardreader.New(rc, &cardreader.Options{Open: a.opts.OpenPort, OnRead: onRead, Now: a.now, Logger: a.log})
				if err != nil {
					return fmt.Errorf("window %s reader %s: %w", w.ID, p.Port, err)
				}
				rs.serial = append(rs.serial, r)
			}
		}
	}
	return nil
}

// voucherDecoder is the [evoucher] decode service; nil when none is configured.
func (a *Agent) voucherDecoder() (*ecvoucher.Decoder, error) {
	e := a.cfg.EVoucher
	var t ecvoucher.Transport
	switch e.Mode {
	case "":
		return nil, nil
	case "http":
		t = ecvoucher.HTTP{URL: e.URL}
	case "library":
		a.rd.ecHost = libhost.New(libhost.Options{Exe: e.HostExe, Args: a.opts.ReaderHostArgs, Env: a.opts.ReaderHostEnv,
			Library: e.Library, Interface: vendorlib.NationEC, Deadline: e.Timeout.Duration, Logger: a.log})
		t = ecvoucher.Library{Host: a.rd.ecHost, URL: e.URL}
	default:
		return nil, fmt.Errorf("[evoucher] mode %q", e.Mode)
	}
	return &ecvoucher.Decoder{
		Query: ecvoucher.Query{OrgID: a.cfg.Hospital.FixmedinsCode, OperatorID: e.OperatorID, OperatorName: e.OperatorName,
			OfficeID: e.OfficeID, OfficeName: e.OfficeName, DeviceType: e.DeviceType},
		Transport: t, Timeout: e.Timeout.Duration, Logger: a.log,
	}, nil
}

// remoteToken is the token a window's remote reader host must present.
func (a *Agent) remoteToken(window string) (string, bool) {
	w, ok := a.cfg.Window(window)
	if !ok || !((w.Reader != nil && w.Reader.Remote) || (w.Scanner != nil && w.Scanner.Remote)) {
		return "", false
	}
	return w.Token.Value(), w.Token.Value() != ""
}

// heasecInit is heasec's Init values as the JSON object the library takes: init_json's
// keys (validated by config), then init's over them.
func heasecInit(in config.HeaSecInit, extra string) map[string]any {
	m := map[string]any{}
	if extra != "" {
		_ = json.Unmarshal([]byte(extra), &m)
	}
	if in.IP != "" {
		m["IP"] = in.IP
	}
	if in.PORT != 0 {
		m["PORT"] = in.PORT
	}
	if in.TIMEOUT != 0 {
		m["TIMEOUT"] = in.TIMEOUT
	}
	if in.LOG_PATH != "" {
		m["LOG_PATH"] = in.LOG_PATH
	}
	if in.SFZ_DRIVER_TYPE != 0 {
		m["SFZ_DRIVER_TYPE"] = in.SFZ_DRIVER_TYPE
	}
	return m
}

// remoteHandler is the RemoteHub as the API mounts it.
func (a *Agent) remoteHandler() http.Handler { return a.rd.remote }

// decodeVoucher decodes a code posted to the lookup endpoint.
func (a *Agent) decodeVoucher(ctx context.Context, code string) (settle.Card, error) {
	return a.rd.stage.Decode(ctx, code)
}

// runReaders starts every reader and the e-voucher stage on ctx.
func (a *Agent) runReaders(ctx context.Context) {
	a.goRun(func() { _ = a.rd.stage.Run(ctx) })
	for _, r := range a.rd.serial {
		a.goRun(func() { _ = r.Run(ctx) })
	}
	for _, r := range a.rd.libs {
		a.goRun(func() { _ = r.Run(ctx) })
	}
	if h := a.rd.ecHost; h != nil {
		a.goRun(func() { <-ctx.Done(); _ = h.Close() })
	}
}

// readerStates is every reader's state, for the status page, metrics and doctor.
func (a *Agent) readerStates() []cardreader.State {
	out := make([]cardreader.State, 0, len(a.rd.serial)+len(a.rd.libs))
	for _, r := range a.rd.serial {
		out = append(out, r.State())
	}
	for _, r := range a.rd.libs {
		out = append(out, r.State())
	}
	out = append(out, a.rd.remote.States()...)
	return out
}
