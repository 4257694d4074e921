package catalogue

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/settle-agent/settle-agent/platform"
	"github.com/settle-agent/settle-agent/platform/sim"
)

// testNow is the tests' clock: 2026-12-01 10:00 Beijing time.
var testNow = time.Date(2026, 12, 1, 10, 0, 0, 0, beijing)

const testCode = "H33010200001"

// mustStore opens a catalogue file in a fresh folder.
func mustStore(tb testing.TB) *Store {
	tb.Helper()
	s, err := Open(filepath.Join(tb.TempDir(), FileName), &StoreOptions{Now: func() time.Time { return testNow }})
	if err != nil {
		tb.Fatalf("Open: %v", err)
	}
	tb.Cleanup(func() { s.Close() })
	return s
}

// simEnv is a simulator on loopback and a client of it.
type simEnv struct {
	p      *sim.Platform
	client *platform.Client
	msgids *platform.MsgidGenerator
}

func mustSimEnv(tb testing.TB) *simEnv {
	tb.Helper()
	p := sim.New(nil, &sim.Options{Now: func() time.Time { return testNow }})
	url, stop, err := sim.Start(context.Background(), "", p)
	if err != nil {
		tb.Fatalf("sim.Start: %v", err)
	}
	tb.Cleanup(func() { stop() })
	c, err := platform.NewClient(platform.Options{BaseURL: url, FixmedinsCode: testCode, MdtrtareaAdmvs: "330100", Timeout: 10 * time.Second})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(c.Close)
	g, err := platform.NewMsgidGenerator(platform.MsgidOptions{FixmedinsCode: testCode, Node: -1})
	if err != nil {
		tb.Fatal(err)
	}
	return &simEnv{p: p, client: c, msgids: g}
}

func (e *simEnv) meta() (platform.Meta, error) {
	id, err := e.msgids.Next()
	return platform.Meta{Msgid: id, Opter: "catalogue", OpterName: "catalogue sync"}, err
}
