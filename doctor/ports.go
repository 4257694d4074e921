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
		d.fail(name, key+" is empty", "set "+key+", e.g. "+config.DefaultListen).zh(key+" 未填写", "请设置 "+key+"，例如 "+config.DefaultListen)
		return
	}
	ln, err := net.Listen("tcp", addr)
	if err == nil {
		ln.Close()
		d.ok(name, addr+" is free").zh(addr+" 空闲", "")
		return
	}
	if !errors.Is(err, syscall.EADDRINUSE) && !isAddrInUse(err) {
		d.fail(name, fmt.Sprintf("cannot listen on %s: %v", addr, err),
			"set "+key+" to an address of this machine (127.0.0.1:PORT, 0.0.0.0:PORT or one of its own IPs)").
			zh(fmt.Sprintf("无法在 %s 上监听：%v", addr, err), "请把 "+key+" 设为本机地址（127.0.0.1:PORT、0.0.0.0:PORT 或本机的某个 IP）")
		return
	}
	if d.agentHoldsStore {
		d.ok(name, addr+" is in use by the running agent").zh(addr+" 正被运行中的 agent 使用", "")
		return
	}
	_, port, _ := net.SplitHostPort(addr)
	findZh := fmt.Sprintf("请找到占用者（Linux 用 'ss -ltnp sport = :%s'，Windows 用 'netstat -ano | findstr :%s'）并停止它，或修改 %s", port, port, key)
	find := fmt.Sprintf("find it ('ss -ltnp sport = :%s' on Linux, 'netstat -ano | findstr :%s' on Windows) and stop it, or change %s", port, port, key)
	if key == "[api] listen" && d.agentRunning(ctx, cfg) == nil {
		d.fail(name, addr+" is taken by another settle-agent, one that does not use the store of this configuration", find).
			zh(addr+" 被另一个 settle-agent 占用，它用的不是本配置的存储", findZh)
		return
	}
	d.fail(name, addr+" is taken by another program", find).zh(addr+" 被其他程序占用", findZh)
}
