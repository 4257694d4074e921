package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/settle-agent/settle-agent/cluster"
	"github.com/settle-agent/settle-agent/config"
	"github.com/settle-agent/settle-agent/internal/adminclient"
)

const clusterUsage = "cluster status [--config FILE] [--lang zh|en]"

// runCluster is `settle-agent cluster status`: the group of front-end machines as
// the running agent of this machine sees it (docs/cluster.md).
func runCluster(ctx context.Context, env *cmdEnv, args []string) error {
	if len(args) == 0 || args[0] != "status" {
		if len(args) > 0 && (args[0] == "-h" || args[0] == "--help") {
			fmt.Fprintln(env.stderr, "Usage: settle-agent "+clusterUsage)
			return nil
		}
		return fmt.Errorf("%w: say status", errUsage)
	}
	fs := newFlags(env, "cluster status", clusterUsage+"\n\n"+
		"Shows the group this machine's agent belongs to: its members and whether they answer,\n"+
		"the leader that runs the background work, quorum, clock offsets and etcd's quota use.")
	configPath := fs.String("config", config.DefaultPath(), "the agent's configuration file")
	lang := fs.String("lang", "zh", "language of the output: zh (中文) or en")
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	t := staffText(*lang)
	cfg, err := config.Load(*configPath, env.getenv)
	if cfg == nil {
		return fmt.Errorf("%s %s: %w", t("configuration", "配置文件"), *configPath, err)
	}
	if cfg.Cluster == nil {
		return &exitStatus{code: 1, msg: t("this machine is not in a group: the configuration has no [cluster] section (docs/cluster.md)",
			"本机不在前置机组中：配置文件没有 [cluster] 段（见 docs/cluster.md）")}
	}
	api, err := newAdminClient(cfg)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	st, err := api.Cluster(ctx)
	if err != nil {
		var answered *adminclient.Error
		if !errors.As(err, &answered) {
			return &exitStatus{code: 1, msg: t("the agent of this machine does not answer at "+api.Base()+": start it (settle-agent start) and ask again, or ask another node",
				"本机的 agent 在 "+api.Base()+" 无应答：请先启动（settle-agent start）再查询，或到组内另一台前置机上查询")}
		}
		return err
	}
	printClusterStatus(env.stdout, st, t)
	if !st.Quorum {
		return &exitStatus{code: 1}
	}
	return nil
}

// printClusterStatus writes the group for people.
func printClusterStatus(w io.Writer, st cluster.Status, t func(en, zh string) string) {
	yes := func(b bool) string {
		if b {
			return t("yes", "是")
		}
		return t("NO", "否")
	}
	leader := st.Leader
	if leader == "" {
		leader = t("none", "无")
	}
	fmt.Fprintf(w, "%s: %s\n", t("this node", "本机"), st.Node)
	fmt.Fprintf(w, "%s: %s\n", t("leader (runs the queue drain, retention, drop folder)", "主节点（负责队列补传、数据保留、投递文件夹）"), leader)
	fmt.Fprintf(w, "%s: %s\n", t("quorum (a majority answers; without it this node settles nothing)", "多数派在线（否则本机暂停结算）"), yes(st.Quorum))
	fmt.Fprintln(w, t("members:", "成员："))
	for _, m := range st.Members {
		role := ""
		if m.IsLeader {
			role = " " + t("(leader)", "（主）")
		}
		state := t("answers", "在线")
		if !m.Healthy {
			state = t("DOES NOT ANSWER", "无应答")
		}
		fmt.Fprintf(w, "  %-12s %-10s %s%s\n", m.Name, state, m.PeerURL, role)
	}
	if len(st.Nodes) > 0 {
		fmt.Fprintln(w, t("clocks (offset from this machine; a heartbeat is up to 1 s old):", "时钟（相对本机的偏差；心跳最多滞后 1 秒）："))
		for _, c := range st.Nodes {
			fmt.Fprintf(w, "  %-12s %+.1fs  %s\n", c.Node, c.Offset.Seconds(), c.API)
		}
	}
	r := st.Etcd.Ratio()
	fmt.Fprintf(w, "etcd: %d / %d MiB (%.0f%%)", st.Etcd.DBSizeBytes>>20, st.Etcd.QuotaBytes>>20, 100*r)
	if r >= cluster.QuotaWarn {
		fmt.Fprint(w, "  ", t("WARNING: 80% of the quota; raise [cluster] quota_bytes or shorten [store] retention",
			"警告：已用配额 80% 以上；请调大 [cluster] quota_bytes 或缩短 [store] retention"))
	}
	fmt.Fprintln(w)
}
