package doctor

import (
	"context"
	"fmt"
	"strings"

	"github.com/settle-agent/settle-agent/cardreader"
	"github.com/settle-agent/settle-agent/config"
)

// readers checks each window's card reader and scanner: a frame reader must
// answer PING (its firmware is shown), a line scanner's port must open. While
// the agent runs it holds the ports, so its /readyz is asked instead.
func (d *doctor) readers(ctx context.Context, cfg *config.Config) {
	type device struct {
		name string
		rc   cardreader.Config
	}
	var devs []device
	for _, w := range cfg.Windows {
		for _, p := range []struct {
			kind string
			port *config.Port
		}{{"reader", w.Reader}, {"scanner", w.Scanner}} {
			if p.port == nil || p.port.Port == "" {
				continue
			}
			devs = append(devs, device{p.kind + " " + w.ID, cardreader.Config{
				Window: w.ID, Port: p.port.Port, Baud: p.port.Baud, DataBits: p.port.DataBits,
				Parity: p.port.Parity, StopBits: p.port.StopBits, Protocol: p.port.Protocol,
				ReadTimeout: p.port.ReadTimeout.Duration,
			}.WithDefaults()})
		}
	}
	var states []cardreader.State
	var statesErr error
	running := d.agentHoldsStore
	if running && (len(devs) > 0 || hasLibraryReaders(cfg)) {
		var r readyz
		r, statesErr = d.agentReadyz(ctx, cfg)
		states = r.Readers
	}
	libs := d.libraryReaders(ctx, cfg, running, states, statesErr) // vendor-library and remote readers, e-voucher (libreaders.go)
	if len(devs) == 0 {
		if libs == 0 {
			d.ok("readers", "none configured: cards are not read at the windows")
		}
		return
	}
	for _, dev := range devs {
		if running {
			d.readerOfAgent(dev.name, dev.rc, states, statesErr)
			continue
		}
		d.probeReader(ctx, dev.name, dev.rc)
	}
}

// probeReader opens the port and, for a frame reader, PINGs it.
func (d *doctor) probeReader(ctx context.Context, name string, rc cardreader.Config) {
	ctx, cancel := context.WithTimeout(ctx, d.o.Timeout)
	defer cancel()
	fw, err := cardreader.Probe(ctx, rc, &cardreader.Options{Open: d.o.OpenPort, Logger: d.log})
	if err != nil {
		detail := err.Error()
		if !strings.Contains(detail, rc.Port) {
			detail = rc.Port + ": " + detail
		}
		d.fail(name, detail, readerFix(rc))
		return
	}
	if rc.Protocol == cardreader.ProtocolFrame {
		d.ok(name, fmt.Sprintf("%s answers PING, firmware %q", rc.Port, fw))
		return
	}
	d.ok(name, fmt.Sprintf("%s opens (a %s scanner cannot be asked more; scan a code to try it)", rc.Port, rc.Protocol))
}

// readerOfAgent reports a reader from the running agent's view of it.
func (d *doctor) readerOfAgent(name string, rc cardreader.Config, states []cardreader.State, err error) {
	if err != nil {
		d.warn(name, fmt.Sprintf("%s is held by the running agent, which does not say how it is: %v", rc.Port, err),
			"look at the agent's status page")
		return
	}
	for _, s := range states {
		if s.Window != rc.Window || s.Port != rc.Port {
			continue
		}
		if !s.Connected {
			why := s.LastError
			if why == "" {
				why = "not connected (yet)"
			}
			d.fail(name, fmt.Sprintf("%s: the running agent cannot reach it: %s", rc.Port, why), readerFix(rc))
			return
		}
		fw := ""
		if s.Firmware != "" {
			fw = fmt.Sprintf(", firmware %q", s.Firmware)
		}
		d.ok(name, fmt.Sprintf("%s: connected to the running agent%s", rc.Port, fw))
		return
	}
	d.warn(name, rc.Port+": the running agent does not use it",
		"the agent runs with another configuration: restart it ('settle-agent restart') to take this one")
}

func readerFix(rc cardreader.Config) string {
	return fmt.Sprintf("check the cable, the power and the port name ([[window]] %s port = %q; Windows: Device Manager shows the COM number); "+
		"on Linux the service account must be in the dialout group; baud %d must match the device", rc.Window, rc.Port, rc.Baud)
}
