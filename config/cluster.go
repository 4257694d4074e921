package config

import (
	"fmt"
	"net"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// Cluster is a group of front-end machines sharing one store on etcd (cluster.md).
// A configuration without a [cluster] section has none: one machine, one bbolt file.
type Cluster struct {
	Node      string `toml:"node"`       // this front-end's name in the group: [a-z0-9-]{1,32}
	NodeDigit int    `toml:"node_digit"` // 0-9: first digit of this node's msgid sequence, unique in the group
	Etcd      string `toml:"etcd"`       // embedded | external
	// Peers are every member of the group in etcd's --initial-cluster form
	// ("fe1=http://10.0.0.1:2380"); embedded only.
	Peers     []string `toml:"peers,omitempty"`
	ClientURL string   `toml:"client_url"`          // embedded: where this member serves etcd clients
	Endpoints []string `toml:"endpoints,omitempty"` // external: the etcd cluster's client URLs
	CAFile    string   `toml:"ca_file"`             // TLS for peer and client traffic
	CertFile  string   `toml:"cert_file"`
	KeyFile   string   `toml:"key_file"`
	// QuotaBytes is etcd's backend quota (2 GiB by default, 8 GiB at most).
	QuotaBytes int64 `toml:"quota_bytes"`
	// Lease is how long a node that stopped answering keeps its leadership and its
	// reserved steps (whole seconds; default 2s).
	Lease Duration `toml:"lease"`
	// History is how much of etcd's revision history is kept before the leader
	// compacts it; DefragInterval how often the leader defragments every member.
	History        Duration `toml:"history"`
	DefragInterval Duration `toml:"defrag_interval"`
}

// Defaults of [cluster] and the bounds of its quota.
const (
	DefaultClusterQuota = 2 << 30
	MaxClusterQuota     = 8 << 30
	MinClusterQuota     = 64 << 20
)

// PeerMember is one entry of [cluster] peers.
type PeerMember struct {
	Name string
	URL  string
}

// ParsePeers splits the peers list into names and peer URLs.
func (k *Cluster) ParsePeers() []PeerMember {
	out := make([]PeerMember, 0, len(k.Peers))
	for _, p := range k.Peers {
		name, u, _ := strings.Cut(p, "=")
		out = append(out, PeerMember{Name: strings.TrimSpace(name), URL: strings.TrimSpace(u)})
	}
	return out
}

// InitialCluster is the peers in etcd's --initial-cluster form.
func (k *Cluster) InitialCluster() string { return strings.Join(k.Peers, ",") }

// PeerURL is this node's own peer URL ("" when the node is not among the peers).
func (k *Cluster) PeerURL() string {
	for _, p := range k.ParsePeers() {
		if p.Name == k.Node {
			return p.URL
		}
	}
	return ""
}

// TLS reports whether etcd traffic uses TLS (a CA file is set).
func (k *Cluster) TLS() bool { return k.CAFile != "" }

// fillClusterDefaults completes a [cluster] section read from the file; node_digit
// stays -1 when the file does not set it, so that validation names it.
func (c *Config) fillClusterDefaults() {
	k := c.Cluster
	if k == nil {
		return
	}
	if !c.src.has("cluster.node_digit") {
		k.NodeDigit = -1
	}
	if k.Etcd == "" {
		k.Etcd = "embedded"
	}
	if k.QuotaBytes == 0 {
		k.QuotaBytes = DefaultClusterQuota
	}
	if k.Lease.Duration == 0 {
		k.Lease = Duration{2 * time.Second}
	}
	if k.History.Duration == 0 {
		k.History = Duration{time.Hour}
	}
	if k.DefragInterval.Duration == 0 {
		k.DefragInterval = Duration{24 * time.Hour}
	}
}

var clusterNodeRe = regexp.MustCompile(`^[a-z0-9-]{1,32}$`)

func (c *Config) validateCluster(v *ValidationError) {
	k := c.Cluster
	if k == nil {
		return
	}
	if !clusterNodeRe.MatchString(k.Node) {
		c.problem(v, "cluster.node", k.Node, "must be this front-end's name in the group: 1 to 32 of a-z, 0-9 and -, e.g. \"fe1\"")
	}
	if k.NodeDigit < 0 || k.NodeDigit > 9 {
		c.problem(v, "cluster.node_digit", strconv.Itoa(k.NodeDigit), "must be a digit 0-9, different on every node of the group (the first digit of this node's msgids)")
	}
	if c.Hospital.MsgidNode >= 0 && c.Hospital.MsgidNode != k.NodeDigit {
		c.problem(v, "hospital.msgid_node", strconv.Itoa(c.Hospital.MsgidNode), "differs from cluster.node_digit; in a group leave it out (cluster.node_digit is used)")
	}
	if c.Store.Key.Value() == "" {
		c.problem(v, "store.key", "", "is required in a group: every node seals documents with the same key before they reach etcd (openssl rand -base64 32)")
	}
	var addrs []string // every address etcd traffic goes to or comes from
	switch k.Etcd {
	case "embedded":
		if len(k.Peers) == 0 {
			c.problem(v, "cluster.peers", "", "must list every member of the group as name=peer URL, e.g. [\"fe1=http://10.0.0.1:2380\", \"fe2=http://10.0.0.2:2380\", \"fe3=http://10.0.0.3:2380\"]")
		}
		seen := map[string]bool{}
		for i, p := range k.ParsePeers() {
			key := fmt.Sprintf("cluster.peers[%d]", i)
			if !clusterNodeRe.MatchString(p.Name) {
				c.problem(v, key, k.Peers[i], "must be name=peer URL with a name of a-z, 0-9 and -, e.g. \"fe2=http://10.0.0.2:2380\"")
				continue
			}
			if seen[p.Name] {
				c.problem(v, key, k.Peers[i], "names "+p.Name+" twice; every member once")
			}
			seen[p.Name] = true
			if reason := etcdURL(p.URL); reason != "" {
				c.problem(v, key, k.Peers[i], reason)
				continue
			}
			addrs = append(addrs, p.URL)
		}
		if len(k.Peers) > 0 && clusterNodeRe.MatchString(k.Node) && !seen[k.Node] {
			c.problem(v, "cluster.peers", strings.Join(k.Peers, ","), "does not list this node ("+k.Node+"); every node lists the whole group, itself included")
		}
		if len(k.Endpoints) > 0 {
			c.problem(v, "cluster.endpoints", strings.Join(k.Endpoints, ","), "is for etcd = \"external\"; an embedded member is reached at client_url")
		}
		if reason := etcdURL(k.ClientURL); reason != "" {
			c.problem(v, "cluster.client_url", k.ClientURL, reason+" (where this member serves etcd clients, e.g. \"http://10.0.0.1:2379\")")
		} else {
			addrs = append(addrs, k.ClientURL)
		}
	case "external":
		if len(k.Endpoints) == 0 {
			c.problem(v, "cluster.endpoints", "", "must list the etcd cluster's client URLs, e.g. [\"https://etcd1:2379\", \"https://etcd2:2379\", \"https://etcd3:2379\"]")
		}
		for i, e := range k.Endpoints {
			if reason := etcdURL(e); reason != "" {
				c.problem(v, fmt.Sprintf("cluster.endpoints[%d]", i), e, reason)
				continue
			}
			addrs = append(addrs, e)
		}
		if len(k.Peers) > 0 {
			c.problem(v, "cluster.peers", strings.Join(k.Peers, ","), "is for etcd = \"embedded\"; an external cluster is reached at endpoints")
		}
	default:
		c.problem(v, "cluster.etcd", k.Etcd, "must be embedded (this agent runs one etcd member) or external (an etcd cluster the hospital runs)")
	}
	if (k.CertFile == "") != (k.KeyFile == "") {
		c.problem(v, "cluster.cert_file", k.CertFile, "cluster.cert_file and cluster.key_file go together")
	}
	if k.CertFile != "" && k.CAFile == "" {
		c.problem(v, "cluster.ca_file", "", "is required with cluster.cert_file (the CA that signed every member's certificate)")
	}
	for _, f := range []struct{ key, path string }{{"cluster.ca_file", k.CAFile}, {"cluster.cert_file", k.CertFile}, {"cluster.key_file", k.KeyFile}} {
		if f.path != "" {
			if reason := readableFile(f.path); reason != "" {
				c.problem(v, f.key, f.path, reason)
			}
		}
	}
	for _, a := range addrs {
		u, _ := url.Parse(a)
		switch {
		case !loopbackHost(u.Hostname()) && (k.CAFile == "" || k.CertFile == ""):
			c.problem(v, "cluster.ca_file", k.CAFile, a+" is not a loopback address: etcd traffic between machines needs TLS; set ca_file, cert_file and key_file (docs/cluster.md, \"Certificates\")")
		case k.TLS() && u.Scheme != "https":
			c.problem(v, "cluster", a, "with ca_file set every etcd URL must be https://")
		case !k.TLS() && u.Scheme == "https":
			c.problem(v, "cluster.ca_file", "", a+" is https://: set ca_file, cert_file and key_file")
		default:
			continue
		}
		break // one problem names the rule; the rest would repeat it
	}
	if k.QuotaBytes < MinClusterQuota || k.QuotaBytes > MaxClusterQuota {
		c.problem(v, "cluster.quota_bytes", strconv.FormatInt(k.QuotaBytes, 10), "must be from 67108864 (64 MiB) to 8589934592 (8 GiB, etcd's most); the default is 2147483648 (2 GiB)")
	}
	if d := k.Lease.Duration; d < 2*time.Second || d > time.Minute || d%time.Second != 0 {
		c.problem(v, "cluster.lease", d.String(), "must be whole seconds from \"2s\" to \"60s\" (etcd refuses shorter); \"2s\" lets a new leader take over within 5 s")
	}
	if k.History.Duration < time.Minute {
		c.problem(v, "cluster.history", k.History.Duration.String(), "must be at least \"1m\", e.g. \"1h\"")
	}
	if k.DefragInterval.Duration < time.Hour {
		c.problem(v, "cluster.defrag_interval", k.DefragInterval.Duration.String(), "must be at least \"1h\", e.g. \"24h\"")
	}
}

// etcdURL is "" when s is an http(s) URL with a host and a port and nothing else.
func etcdURL(s string) string {
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return "must be a URL such as \"http://10.0.0.1:2380\" or \"https://etcd1:2379\""
	}
	if _, port, err := net.SplitHostPort(u.Host); err != nil || port == "" {
		return "must name its port, e.g. \"http://10.0.0.1:2380\""
	}
	if (u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.User != nil {
		return "must be scheme://host:port only"
	}
	return ""
}

// loopbackHost reports whether host names this machine only (127.0.0.0/8, ::1, localhost).
func loopbackHost(h string) bool {
	if h == "localhost" {
		return true
	}
	ip := net.ParseIP(h)
	return ip != nil && ip.IsLoopback()
}
