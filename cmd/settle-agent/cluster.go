package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sort"
	"time"

	"github.com/settle-agent/settle-agent/agent"
	"github.com/settle-agent/settle-agent/cluster"
	"github.com/settle-agent/settle-agent/config"
	"github.com/settle-agent/settle-agent/internal/adminclient"
	"github.com/settle-agent/settle-agent/store"
	"github.com/settle-agent/settle-agent/store/etcdstore"
)

const (
	clusterUsage       = "cluster status [--config FILE] [--lang zh|en]\n       settle-agent " + clusterImportUsage
	clusterImportUsage = "cluster import --from DIR [--config FILE] [--lang zh|en]"
)

// runCluster is `settle-agent cluster status` (the group of front-end machines as
// the running agent of this machine sees it) and `cluster import` (docs/cluster.md).
func runCluster(ctx context.Context, env *cmdEnv, args []string) error {
	if len(args) > 0 && args[0] == "import" {
		return runClusterImport(ctx, env, args[1:])
	}
	if len(args) == 0 || args[0] != "status" {
		if len(args) > 0 && (args[0] == "-h" || args[0] == "--help") {
			fmt.Fprintln(env.stderr, "Usage: settle-agent "+clusterUsage)
			return nil
		}
		return fmt.Errorf("%w: say status or import", errUsage)
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

// runClusterImport is `settle-agent cluster import --from DIR`: the store of a single
// machine (its agent stopped) moves into the group of this configuration.
func runClusterImport(ctx context.Context, env *cmdEnv, args []string) error {
	fs := newFlags(env, "cluster import", clusterImportUsage+"\n\n"+
		"Moves a single machine's store (its bills, stays, queue and msgid reservation) into\n"+
		"a new group: stop the single machine's agent, start the group's agents, then run this\n"+
		"on a node of the group, --from naming the single machine's data folder (or a copy).\n"+
		"The group must hold no bill yet. The old store is marked moved and no agent opens it again.")
	configPath := fs.String("config", config.DefaultPath(), "the configuration of a node of the group")
	from := fs.String("from", "", "the single machine's data folder ([store] dir), its agent stopped")
	lang := fs.String("lang", "zh", "language of the output: zh (中文) or en")
	if err := fs.Parse(args); err != nil {
		return err
	}
	t := staffText(*lang)
	if *from == "" {
		return fmt.Errorf("%w: --from names the single machine's data folder", errUsage)
	}
	cfg, err := config.Load(*configPath, env.getenv)
	if cfg == nil {
		return fmt.Errorf("%s %s: %w", t("configuration", "配置文件"), *configPath, err)
	}
	if cfg.Cluster == nil {
		return &exitStatus{code: 1, msg: t("the configuration has no [cluster] section: name the configuration of a node of the group (docs/cluster.md)",
			"配置文件没有 [cluster] 段：请指定前置机组中某个节点的配置文件（见 docs/cluster.md）")}
	}
	ctx, cancel := context.WithTimeout(ctx, 30*time.Minute)
	defer cancel()
	res, err := agent.ImportToGroup(ctx, cfg, *from, nil)
	switch {
	case errors.Is(err, store.ErrMoved):
		return &exitStatus{code: 1, msg: t("this store was moved into a group already; its bills are in the group: "+err.Error(),
			"该数据已迁入前置机组，不能再次迁移："+err.Error())}
	case errors.Is(err, etcdstore.ErrNotEmpty):
		return &exitStatus{code: 1, msg: t("refused: "+err.Error()+"; a store is imported only into a new group, before windows use it",
			"已拒绝：前置机组中已有单据或队列任务，只能迁入新建且尚未接待窗口的组（"+err.Error()+"）")}
	case err != nil:
		return err
	}
	if res.AlreadyDone {
		fmt.Fprintln(env.stdout, t("the group already held this store (an earlier import finished); the old store is now marked moved",
			"组内已有该数据（之前的迁移已完成）；旧数据已标记为已迁出"))
		return nil
	}
	fmt.Fprintf(env.stdout, "%s %s → %s\n", t("moved", "已迁移"), *from, res.Group)
	kinds := make([]string, 0, len(res.Moved))
	for k := range res.Moved {
		kinds = append(kinds, k)
	}
	sort.Strings(kinds)
	for _, k := range kinds {
		fmt.Fprintf(env.stdout, "  %-8s %d\n", k, res.Moved[k])
	}
	fmt.Fprintln(env.stdout, t("the old store is marked moved: no agent opens it again; queued bills settle from the group's leader",
		"旧数据已标记为已迁出，不会再被任何 agent 打开；排队中的单据将由组内主节点补传"))
	return nil
}
