package doctor

import (
	"context"
	"errors"
	"fmt"
	"net"
	"syscall"

	"github.com/settle-agent/settle-agent/config"
)

// listenPorts checks that [api] listen and [hl7] listen (when set) can be bound.
// A port held by the running agent is fine.
func (d *doctor) listenPorts(ctx context.Context, cfg *config.Config) {
	d.listenPort(ctx, cfg, "api listen", "[api] listen", cfg.API.Listen)
	if cfg.HL7.Listen != "" {
		d.listenPort(ctx, cfg, "hl7 listen", "[hl7] listen", cfg.HL7.Listen)
	}
}

func (d *doctor) listenPort(ctx context.Context, cfg *config.Config, name, key, addr string) {
	if addr == "" {
		d.fail(name, key+" is empty", "set "+key+", e.g. "+config.DefaultListen)
		return
	}
	ln, err := net.Listen("tcp", addr)
	if err == nil {
		ln.Close()
		d.ok(name, addr+" is free")
		return
	}
	if !errors.Is(err, syscall.EADDRINUSE) && !isAddrInUse(err) {
		d.fail(name, fmt.Sprintf("cannot listen on %s: %v", addr, err),
			"set "+key+" to an address of this machine (127.0.0.1:PORT, 0.0.0.0:PORT or one of its own IPs)")
		return
	}
	if d.agentHoldsStore {
		d.ok(name, addr+" is in use by the running agent")
		return
	}
	_, port, _ := net.SplitHostPort(addr)
	find := fmt.Sprintf("find it ('ss -ltnp sport = :%s' on Linux, 'netstat -ano | findstr :%s' on Windows) and stop it, or change %s", port, port, key)
	if key == "[api] listen" && d.agentRunning(ctx, cfg) == nil {
		d.fail(name, addr+" is taken by another settle-agent, one that does not use the store of this configuration", find)
		return
	}
	d.fail(name, addr+" is taken by another program", find)
}
