package agent_test

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/settle-agent/settle-agent/agent"
	"github.com/settle-agent/settle-agent/config"
	"github.com/settle-agent/settle-agent/internal/poll"
	"github.com/settle-agent/settle-agent/platform/sim"
)

// The group test runs three agents as child processes (this test binary re-executed),
// each with an embedded etcd member on loopback, against the real simulator over
// HTTP. It drives bills at every node, takes the platform down, SIGKILLs the leader
// and a follower during the outage and again while the backlog drains, and checks
// the promises of cluster.md: the surviving nodes answer windows within 5 s, a new
// leader within 5 s, the killed nodes rejoin, and every bill is settled exactly once
// at the simulator's ledger.

const groupChildEnv = "SETTLE_AGENT_GROUP_CHILD"

// groupTestKey is the group's [store] key (every node has the same).
const groupTestKey = "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY="

// TestGroupChild is one agent of the group test; it does nothing otherwise.
func TestGroupChild(t *testing.T) {
	if os.Getenv(groupChildEnv) != "1" {
		t.Skip("helper process of TestGroup_KillLeaderAndFollower")
	}
	i, _ := strconv.Atoi(os.Getenv("GROUP_NODE"))
	cfg := groupConfig(t, os.Getenv("GROUP_SIM_URL"), os.Getenv("GROUP_DIR"), i,
		strings.Split(os.Getenv("GROUP_PEERS"), ","), os.Getenv("GROUP_CLIENT_URL"))
	ln, err := net.Listen("tcp", os.Getenv("GROUP_LISTEN"))
	if err != nil {
		t.Fatal(err)
	}
	a, err := agent.New(cfg, &agent.Options{Listener: ln})
	if err != nil {
		t.Fatal(err)
	}
	_ = a.Run(context.Background()) // runs until SIGKILL
}

// groupConfig is the configuration of node i (1..3) of the test group.
func groupConfig(t *testing.T, simURL, dir string, i int, peers []string, clientURL string) *config.Config {
	t.Helper()
	cfg := MustConfig(t, simURL, dir)
	cfg.Store.Dir = filepath.Join(dir, fmt.Sprintf("fe%d", i))
	cfg.Store.Key = config.NewSecret(groupTestKey)
	cfg.Windows = chaosWindows()
	cfg.Offline.Deadline = config.Duration{Duration: 2 * time.Second}
	cfg.Platform.Timeout = config.Duration{Duration: time.Second}
	cfg.Cluster = &config.Cluster{Node: fmt.Sprintf("fe%d", i), NodeDigit: i, Etcd: "embedded",
		Peers: peers, ClientURL: clientURL,
		QuotaBytes: config.DefaultClusterQuota, Lease: config.Duration{Duration: 2 * time.Second},
		History: config.Duration{Duration: time.Hour}, DefragInterval: config.Duration{Duration: 24 * time.Hour}}
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	return cfg
}

// testGroup is three agent processes of a group on loopback.
type testGroup struct {
	nodes      []*groupNode
	dir        string
	simURL     string
	peers      []string
	clientURLs []string
}

// startGroup starts three agents as a group against the simulator p at simURL and
// waits until each is ready; they are killed when the test ends.
func startGroup(t *testing.T, p *sim.Platform, simURL string) *testGroup {
	t.Helper()
	g := &testGroup{dir: t.TempDir(), simURL: simURL}
	ports := loopbackPorts(t, 9)
	for i := range 3 {
		g.peers = append(g.peers, fmt.Sprintf("fe%d=http://127.0.0.1:%d", i+1, ports[3*i]))
		g.clientURLs = append(g.clientURLs, fmt.Sprintf("http://127.0.0.1:%d", ports[3*i+1]))
	}
	g.nodes = make([]*groupNode, 3)
	for i := range 3 {
		addr := fmt.Sprintf("127.0.0.1:%d", ports[3*i+2])
		g.nodes[i] = &groupNode{name: fmt.Sprintf("fe%d", i+1),
			env: []string{groupChildEnv + "=1", "GROUP_SIM_URL=" + simURL, "GROUP_DIR=" + g.dir, "GROUP_NODE=" + strconv.Itoa(i+1),
				"GROUP_PEERS=" + strings.Join(g.peers, ","), "GROUP_CLIENT_URL=" + g.clientURLs[i],
				"GROUP_LISTEN=" + addr},
			sys: &testSystem{tb: t, Sim: p, URL: "http://" + addr}}
		g.nodes[i].start(t)
		t.Cleanup(g.nodes[i].kill)
	}
	for _, n := range g.nodes {
		if _, ok := within(60*time.Second, func() bool { return n.ready() }); !ok {
			t.Fatalf("%s: not ready within 60 s of starting the group", n.name)
		}
	}
	return g
}

// config is the configuration of node i (1..3), as its agent has it.
func (g *testGroup) config(t *testing.T, i int) *config.Config {
	return groupConfig(t, g.simURL, g.dir, i, g.peers, g.clientURLs[i-1])
}

// ready: the node answers /readyz with 200.
func (n *groupNode) ready() bool { st, _ := n.sys.tryDo("GET", "/readyz", "", nil); return st == 200 }

// groupNode is one agent process of the group.
type groupNode struct {
	name string
	env  []string
	sys  *testSystem
	mu   sync.Mutex
	cmd  *exec.Cmd
}

func (n *groupNode) start(t *testing.T) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestGroupChild$", "-test.v=false")
	cmd.Env = append(os.Environ(), n.env...)
	if testing.Verbose() {
		cmd.Stderr = os.Stderr
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	n.mu.Lock()
	n.cmd = cmd
	n.mu.Unlock()
}

func (n *groupNode) kill() {
	n.mu.Lock()
	cmd := n.cmd
	n.cmd = nil
	n.mu.Unlock()
	if cmd != nil {
		_ = cmd.Process.Signal(syscall.SIGKILL)
		_ = cmd.Wait()
	}
}

func loopbackPorts(t *testing.T, n int) []int {
	t.Helper()
	var ls []net.Listener
	var out []int
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		ls = append(ls, l)
		out = append(out, l.Addr().(*net.TCPAddr).Port)
	}
	for _, l := range ls {
		l.Close()
	}
	return out
}

// within polls cond until it holds or d passes; it reports how long it took and
// whether it held (the 5 s promises are contract checks with a deadline).
func within(d time.Duration, cond func() bool) (time.Duration, bool) {
	start := time.Now()
	ok := poll.Within(d, 20*time.Millisecond, cond)
	return time.Since(start), ok
}

func TestGroup_KillLeaderAndFollower(t *testing.T) {
	if testing.Short() {
		t.Skip("re-executes the test binary as three agents")
	}
	p, simURL := MustSim(t)
	nodes := startGroup(t, p, simURL).nodes
	ready := func(n *groupNode) bool { return n.ready() }
	leaderOf := func(n *groupNode) string {
		st, m := n.sys.tryDo("GET", "/v1/cluster", tokAdmin, nil)
		if st != 200 {
			return ""
		}
		return str(m, "leader")
	}
	byName := func(name string) *groupNode {
		for _, n := range nodes {
			if n.name == name {
				return n
			}
		}
		return nil
	}
	var leader string
	if _, ok := within(10*time.Second, func() bool { leader = leaderOf(nodes[0]); return leader != "" }); !ok {
		t.Fatal("no leader within 10 s of a ready group")
	}

	var mu sync.Mutex
	var all []string
	cards := []string{cardLocalEmployee, cardLocalResident, cardShanghaiFiled, cardChronic}
	seq := 0
	// settleOn settles one bill through node n, retrying until a definite answer.
	settleOn := func(n *groupNode) {
		mu.Lock()
		seq++
		w := seq%4 + 1
		b := newBill(cards[seq%len(cards)])
		mu.Unlock()
		b.Window = fmt.Sprintf("W%02d", w)
		tok := fmt.Sprintf("token-w%02d-0123456789", w)
		n.sys.retry(func() bool { st, _ := n.sys.tryDo("POST", "/v1/bills", tok, b); return st == 201 || st == 200 })
		n.sys.retry(func() bool {
			st, _ := n.sys.tryDo("POST", "/v1/bills/"+b.BillNo+"/settle", tok, nil)
			return st == 200 || st == 202
		})
		mu.Lock()
		all = append(all, b.BillNo)
		mu.Unlock()
	}
	alive := func() []*groupNode {
		var out []*groupNode
		for _, n := range nodes {
			n.mu.Lock()
			if n.cmd != nil {
				out = append(out, n)
			}
			n.mu.Unlock()
		}
		return out
	}
	load := func(k int) {
		for i := range k {
			as := alive()
			settleOn(as[i%len(as)])
		}
	}
	// answersWindow: a window's request gets a definite answer from n.
	answersWindow := func(n *groupNode) bool {
		st, _ := n.sys.tryDo("GET", "/v1/bills?limit=1", tokW01, nil)
		return st == 200
	}
	// kill takes node name down with SIGKILL and checks the promises on the others.
	kill := func(name, when string) {
		t.Helper()
		victim := byName(name)
		wasLeader := name == leader
		victim.kill()
		for _, n := range alive() {
			if d, ok := within(5*time.Second, func() bool { return answersWindow(n) }); !ok {
				t.Errorf("%s, %s killed: %s answered no window within 5 s", when, name, n.name)
			} else {
				t.Logf("%s, %s killed: %s answers windows after %v", when, name, n.name, d.Round(time.Millisecond))
			}
		}
		if wasLeader {
			d, ok := within(5*time.Second, func() bool {
				l := leaderOf(alive()[0])
				if l != "" && l != name {
					leader = l
					return true
				}
				return false
			})
			if !ok {
				t.Errorf("%s, leader %s killed: no new leader within 5 s", when, name)
			} else {
				t.Logf("%s, leader %s killed: %s leads after %v", when, name, leader, d.Round(time.Millisecond))
			}
		}
		load(4) // the survivors take bills
		victim.start(t)
		if _, ok := within(60*time.Second, func() bool { return ready(victim) }); !ok {
			t.Fatalf("%s: killed %s did not rejoin within 60 s", when, name)
		}
		l := leaderOf(victim)
		if l == "" {
			t.Errorf("%s: rejoined %s sees no leader", when, name)
		} else {
			leader = l
		}
	}
	follower := func() string {
		for _, n := range nodes {
			if n.name != leader {
				return n.name
			}
		}
		return ""
	}

	load(6) // online
	p.SetFaults(sim.Faults{Down: true})
	load(9) // queued during the outage
	kill(leader, "outage")
	kill(follower(), "outage")
	p.SetFaults(sim.Faults{LatencyMS: 30})
	load(3)
	kill(leader, "drain")
	kill(follower(), "drain")
	p.SetFaults(sim.Faults{})

	// Every bill settles, exactly once at the platform; the killed nodes are back.
	for _, no := range all {
		var last map[string]any
		if !poll.Within(90*time.Second, 50*time.Millisecond, func() bool {
			_, last = nodes[0].sys.tryDo("GET", "/v1/bills/"+no, tokAdmin, nil)
			return str(last, "state") == "settled"
		}) {
			t.Fatalf("bill %s not settled: %v", no, last)
		}
	}
	settled := settledByBill(p)
	for _, no := range all {
		if settled[no] != 1 {
			t.Errorf("bill %s: %d live settlements at the platform; want exactly 1", no, settled[no])
		}
	}
	if len(settled) != len(all) {
		t.Errorf("platform holds settlements for %d bills; want %d", len(settled), len(all))
	}
	_, st := nodes[0].sys.tryDo("GET", "/v1/cluster", tokAdmin, nil)
	healthy := 0
	for _, m := range asSlice(st["members"]) {
		if mm, _ := m.(map[string]any); mm["healthy"] == true {
			healthy++
		}
	}
	if healthy != 3 || st["quorum"] != true {
		t.Errorf("group at the end: %v; want 3 healthy members with quorum", st)
	}
	t.Logf("group: %d bills, 4 SIGKILLs, %d ledger entries", len(all), len(p.Ledger()))
}
