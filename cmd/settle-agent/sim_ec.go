package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"time"

	"github.com/settle-agent/settle-agent/ecvoucher"
	"github.com/settle-agent/settle-agent/platform/sim"
)

// defaultSimECListen is where `sim ec` listens unless told otherwise.
const defaultSimECListen = "127.0.0.1:8432"

// simECVouchers returns the e-voucher of every fixture person who has one.
func simECVouchers(f *sim.Fixture) []ecvoucher.Voucher {
	var vs []ecvoucher.Voucher
	for _, p := range f.Persons {
		if p.ECToken != "" {
			vs = append(vs, ecvoucher.Voucher{ECToken: p.ECToken, IDNo: p.Certno, IDType: "01", UserName: p.Name, InsuOrg: p.InsuplcAdmdvs})
		}
	}
	return vs
}

// runSimEC serves the stand-in e-voucher decode service until ctx ends (Ctrl-C).
func runSimEC(ctx context.Context, env *cmdEnv, args []string) error {
	fs := newFlags(env, "sim ec", "sim ec [--listen ADDR] [--fixture FILE] [--ttl 5m] [--data-string]")
	listen := fs.String("listen", defaultSimECListen, "address to listen on (host:port; port 0 picks a free one)")
	fixture := fs.String("fixture", "", "fixture file (as for sim platform) whose persons' ec_token the service knows; empty: the embedded demo fixture")
	ttl := fs.Duration("ttl", ecvoucher.DefaultCodeTTL, "how long an issued QR code stays valid")
	asString := fs.Bool("data-string", false, "answer with data as a JSON string holding the object, as some provinces do")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("%w: unexpected argument %q", errUsage, fs.Arg(0))
	}
	f := sim.DemoFixture()
	if *fixture != "" {
		var err error
		if f, err = sim.LoadFixture(*fixture); err != nil {
			return err
		}
	}
	s := ecvoucher.NewSimulator(simECVouchers(f))
	s.TTL, s.DataAsString = *ttl, *asString
	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		return fmt.Errorf("sim ec: listen on %s: %w", *listen, err)
	}
	srv := &http.Server{Handler: s, ReadHeaderTimeout: 5 * time.Second}
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ln) }()
	base := "http://" + ln.Addr().String()
	fmt.Fprintf(env.stdout, "simulated e-voucher decode service (ec.query): %s%s\n", base, ecvoucher.Path)
	fmt.Fprintf(env.stdout, "configure: [evoucher] mode = \"http\", url = \"%s%s\"\n", base, ecvoucher.Path)
	fmt.Fprintf(env.stdout, "QR codes valid for %s from now (scan one: `scan <code>` in sim reader):\n", *ttl)
	now := time.Now()
	for _, v := range s.Vouchers() {
		fmt.Fprintf(env.stdout, "  %s %s\n", ecvoucher.Code(v.ECToken, now), v.UserName)
	}
	fmt.Fprintf(env.stdout, "an expired one: %s\nCtrl-C stops it.\n", ecvoucher.Code("any", now.Add(-2**ttl)))
	select {
	case <-ctx.Done():
	case err := <-done:
		return fmt.Errorf("sim ec: %w", err)
	}
	sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("sim ec: stop: %w", err)
	}
	return nil
}
