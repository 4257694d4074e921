package etcdstore_test

import (
	"context"
	"strings"
	"testing"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/settle-agent/settle-agent/workflow"
)

// maxBillBytes is what one settled bill may cost of etcd's space (docs/cluster.md).
const maxBillBytes = 2048

// TestSettledBillCostsAtMost2KB: bills settled online on a fresh etcd member, its
// history compacted and the member defragmented, cost at most 2 KB each of the
// database (what counts against etcd's quota).
func TestSettledBillCostsAtMost2KB(t *testing.T) {
	if testing.Short() {
		t.Skip("settles 200 bills on a fresh etcd member")
	}
	m, err := startEtcd(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer m.close()
	g := newGroup(t, m.cli)
	n := g.node(1)
	ep := m.cli.Endpoints()[0]
	settled := func() int64 {
		t.Helper()
		if _, err := n.st.Compact(context.Background()); err != nil {
			t.Fatal(err)
		}
		if err := n.st.Defragment(context.Background(), ep); err != nil {
			t.Fatal(err)
		}
		size, quota, err := n.st.Usage(context.Background())
		if err != nil || quota <= 0 {
			t.Fatalf("Usage: %d of %d, %v", size, quota, err)
		}
		return size
	}
	before := settled()
	const bills = 200
	for range bills {
		b := g.bill(cardLocalResident)
		n.submit(t, b)
		res, err := n.eng.Bills.SettleBill(context.Background(), b.BillNo, "", "")
		if err != nil || res.Bill.State != workflow.StateSettled {
			t.Fatalf("settle %s: %v", b.BillNo, err)
		}
	}
	after := settled()
	per := (after - before) / bills
	resp, err := m.cli.Get(context.Background(), g.prefix, clientv3.WithPrefix())
	if err != nil {
		t.Fatal(err)
	}
	var kv int
	byKind := map[string][2]int{}
	for _, e := range resp.Kvs {
		kv += len(e.Key) + len(e.Value)
		k := string(e.Key[len(g.prefix):])
		if i := strings.IndexByte(k[2:], '/'); i > 0 {
			k = k[:2+i]
		}
		c := byKind[k]
		byKind[k] = [2]int{c[0] + 1, c[1] + len(e.Key) + len(e.Value)}
	}
	t.Logf("keys by kind (count, bytes): %v", byKind)
	t.Logf("%d settled bills: etcd database %d -> %d bytes after compaction and defragmentation: %d bytes per bill; %d keys, %d bytes of keys and values per bill",
		bills, before, after, per, len(resp.Kvs), kv/bills)
	if per > maxBillBytes {
		t.Errorf("a settled bill costs %d bytes of etcd's space; want at most %d", per, maxBillBytes)
	}
}
