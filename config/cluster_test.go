package config

import (
	"strings"
	"testing"
	"time"
)

var clusterTOML = strings.Replace(validTOML, `dir = "/tmp/settle-agent-test"`,
	"dir = \"/tmp/settle-agent-test\"\nkey = \"MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=\"", 1) + `
[cluster]
node = "fe1"
node_digit = 1
peers = ["fe1=http://127.0.0.1:2380", "fe2=http://127.0.0.1:2480", "fe3=http://127.0.0.1:2580"]
client_url = "http://127.0.0.1:2379"
`

func TestCluster_AbsentMeansNone(t *testing.T) {
	c := mustParse(t, validTOML, nil)
	if c.Cluster != nil {
		t.Errorf("Cluster: got %+v; want nil without a [cluster] section", c.Cluster)
	}
	if strings.Contains(c.Redacted(), "[cluster]") {
		t.Errorf("Redacted shows a [cluster] section the file does not have")
	}
}

func TestCluster_EmbeddedOnLoopbackWithDefaults(t *testing.T) {
	c := mustParse(t, clusterTOML, nil)
	k := c.Cluster
	if k == nil {
		t.Fatal("Cluster: got nil; want the section")
	}
	if k.Etcd != "embedded" || k.QuotaBytes != 2<<30 || k.Lease.Duration != 2*time.Second || k.NodeDigit != 1 {
		t.Errorf("defaults: got etcd=%q quota=%d lease=%s digit=%d; want embedded 2147483648 2s 1", k.Etcd, k.QuotaBytes, k.Lease.Duration, k.NodeDigit)
	}
	if got, want := k.PeerURL(), "http://127.0.0.1:2380"; got != want {
		t.Errorf("PeerURL: got %q; want %q", got, want)
	}
	if got := k.InitialCluster(); !strings.HasPrefix(got, "fe1=http://127.0.0.1:2380,fe2=") {
		t.Errorf("InitialCluster: got %q", got)
	}
}

func TestCluster_EveryBadFieldNamedAtOnce(t *testing.T) {
	bad := validTOML + `
[cluster]
node = "FE_1"
etcd = "embedded"
peers = ["fe2=http://127.0.0.1:2480", "fe2=http://127.0.0.1:2580", "nonsense"]
client_url = "127.0.0.1:2379"
endpoints = ["http://127.0.0.1:2379"]
cert_file = "/nowhere/cert.pem"
quota_bytes = 9999999999
lease = "1500ms"
`
	_, err := Parse([]byte(bad), "settle-agent.toml", nil)
	ps := problemsOf(t, err)
	for _, f := range []string{"cluster.node", "cluster.node_digit", "cluster.peers[1]", "cluster.peers[2]", "cluster.client_url",
		"cluster.endpoints", "cluster.cert_file", "cluster.ca_file", "cluster.quota_bytes", "cluster.lease", "store.key"} {
		if _, ok := findProblem(ps, f); !ok {
			t.Errorf("no problem about %s; got problems about %s", f, fields(ps))
		}
	}
}

func TestCluster_TLSRequiredOffLoopback(t *testing.T) {
	for _, tt := range []struct{ name, section string }{
		{"embedded peer", `node = "fe1"
node_digit = 1
peers = ["fe1=http://127.0.0.1:2380", "fe2=http://10.0.0.2:2380"]
client_url = "http://127.0.0.1:2379"`},
		{"external endpoint", `node = "fe1"
node_digit = 1
etcd = "external"
endpoints = ["http://etcd1.hospital.lan:2379"]`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse([]byte(validTOML+"\n[cluster]\n"+tt.section+"\n"), "settle-agent.toml", nil)
			ps := problemsOf(t, err)
			p, ok := findProblem(ps, "cluster.ca_file")
			if !ok || !strings.Contains(p.Reason, "needs TLS") {
				t.Errorf("got problems %v; want cluster.ca_file saying it needs TLS", err)
			}
		})
	}
}

func TestCluster_EnvOverridesNodeWhenSectionPresent(t *testing.T) {
	c := mustParse(t, clusterTOML, map[string]string{"SETTLE_AGENT_CLUSTER_NODE": "fe2", "SETTLE_AGENT_CLUSTER_NODE_DIGIT": "2"})
	if c.Cluster.Node != "fe2" || c.Cluster.NodeDigit != 2 {
		t.Errorf("got node %q digit %d; want fe2 2", c.Cluster.Node, c.Cluster.NodeDigit)
	}
	if c := mustParse(t, validTOML, map[string]string{"SETTLE_AGENT_CLUSTER_NODE": "fe2"}); c.Cluster != nil {
		t.Errorf("a variable alone made a group: got %+v; want nil", c.Cluster)
	}
}

func TestCluster_MsgidNodeMustAgree(t *testing.T) {
	data := strings.Replace(clusterTOML, `admdvs = "330100"`, "admdvs = \"330100\"\nmsgid_node = 4", 1)
	_, err := Parse([]byte(data), "settle-agent.toml", nil)
	if _, ok := findProblem(problemsOf(t, err), "hospital.msgid_node"); !ok {
		t.Errorf("got %v; want a problem about hospital.msgid_node", err)
	}
}
