package etcdstore_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"go.etcd.io/etcd/client/v3/concurrency"

	settle "github.com/settle-agent/settle-agent"
	"github.com/settle-agent/settle-agent/hisadapter"
	"github.com/settle-agent/settle-agent/offline"
	"github.com/settle-agent/settle-agent/platform"
	"github.com/settle-agent/settle-agent/platform/sim"
	"github.com/settle-agent/settle-agent/queue"
	"github.com/settle-agent/settle-agent/store/etcdstore"
	"github.com/settle-agent/settle-agent/workflow"
)

const (
	fixmedins         = "H33010200001"
	cardLocalEmployee = "A33010001" // 张伟, 330100, balance 2000 (the person of the record dictionary)
	cardLocalResident = "A33010002" // 李娜, 390: a person the record dictionary does not hold
)

// group is a simulated platform and the nodes of a group sharing one etcd.
type group struct {
	t      testing.TB
	sim    *sim.Platform
	simURL string
	cli    *clientv3.Client
	prefix string
	mapper workflow.Mapper
	bills  atomic.Int64
	base   int64
}

var groupBills atomic.Int64

func newGroup(t testing.TB, cli *clientv3.Client) *group {
	t.Helper()
	fx := sim.DemoFixture()
	g := &group{t: t, cli: cli, prefix: newPrefix(), base: groupBills.Add(100000)}
	g.sim = sim.New(fx, &sim.Options{Seed: 1})
	url, stop, err := sim.Start(context.Background(), "", g.sim)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = stop() })
	g.simURL = url
	t.Cleanup(func() {
		if rep := g.sim.RepeatedMsgids(); len(rep) > 0 {
			t.Errorf("msgids sent twice to the platform: %v", rep)
		}
	})
	m, err := hisadapter.ParseMapping(bytes.NewReader(fx.MappingCSV()))
	if err != nil {
		t.Fatal(err)
	}
	g.mapper = mapper{m}
	return g
}

type mapper struct{ m *hisadapter.Mapping }

func (m mapper) MapItems(b *settle.Bill) error { return m.m.Map(b, b.CreatedAt) }

// node is one front-end machine of the group: its own session (lease), locker,
// store handle, platform client and engine.
type node struct {
	sess *concurrency.Session
	st   *etcdstore.Store
	eng  *workflow.Engine
	pf   *hookPlatform
}

// hookPlatform lets a test act just before a message leaves a node.
type hookPlatform struct {
	workflow.Platform
	mu     sync.Mutex
	before func(infno string)
}

func (h *hookPlatform) Call(ctx context.Context, infno string, m platform.Meta, in, out any) (*platform.Response, error) {
	h.mu.Lock()
	f := h.before
	h.mu.Unlock()
	if f != nil {
		f(infno)
	}
	return h.Platform.Call(ctx, infno, m, in, out)
}

func (g *group) node(digit int) *node {
	t := g.t
	t.Helper()
	sess, err := concurrency.NewSession(g.cli, concurrency.WithTTL(5))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sess.Close() })
	st, err := etcdstore.Open(context.Background(), g.cli, &etcdstore.Options{Prefix: g.prefix, Key: []byte(testKey),
		Node: fmt.Sprintf("fe%d", digit), Queue: queue.Options{MinBackoff: time.Second, MaxBackoff: 30 * time.Second}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	client, err := platform.NewClient(platform.Options{BaseURL: g.simURL, FixmedinsCode: fixmedins, FixmedinsName: "T",
		MdtrtareaAdmvs: "330100", Timeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(client.Close)
	reserved, err := st.MsgidReservation()
	if err != nil {
		t.Fatal(err)
	}
	gen, err := platform.NewMsgidGenerator(platform.MsgidOptions{FixmedinsCode: fixmedins, Node: digit,
		Reserved: reserved, Reserve: st.ReserveMsgids})
	if err != nil {
		t.Fatal(err)
	}
	policy, _ := offline.ParsePolicy("full", "", 0, 0)
	pf := &hookPlatform{Platform: client}
	eng, err := workflow.New(workflow.Options{Store: st, Platform: pf, Msgids: gen, Mapper: g.mapper,
		Locker: etcdstore.NewLocker(sess, g.prefix+"lock/"), Admdvs: "330100", Deadline: 3 * time.Second,
		CallTimeout: 5 * time.Second, Policy: policy, BreakerThreshold: 3})
	if err != nil {
		t.Fatal(err)
	}
	if err := eng.Queue.Recover(context.Background()); err != nil {
		t.Fatal(err)
	}
	eng.Link.SignIn(context.Background(), true)
	return &node{sess: sess, st: st, eng: eng, pf: pf}
}

// bill is a valid two-line bill for the fixture's local employee.
func (g *group) bill(card string) settle.Bill {
	n := g.bills.Add(1) + g.base
	q1, _ := settle.ParseQty("1")
	p1, _ := settle.ParsePrice("25.00")
	q2, _ := settle.ParseQty("14")
	p2, _ := settle.ParsePrice("1.50")
	return settle.Bill{
		BillNo: fmt.Sprintf("MZ%08d", n), Window: "W01",
		Patient: settle.Patient{MdtrtCertType: settle.CertSSCard, MdtrtCertNo: card},
		MedType: settle.MedTypeOutpatient, Dept: settle.Code{Code: "0301", Name: "内科"},
		Doctor: settle.Code{Code: "D0042", Name: "王医生"},
		Items: []settle.Item{
			{Line: 1, HISCode: "ZL0001", Name: "普通门诊诊查费", Qty: q1, UnitPrice: p1, Amount: settle.MustMoney("25.00")},
			{Line: 2, HISCode: "YP0003", Name: "厄贝沙坦片", Qty: q2, UnitPrice: p2, Amount: settle.MustMoney("21.00")},
		},
		Total: settle.MustMoney("46.00"), CreatedAt: time.Now(),
	}
}

func (n *node) submit(t testing.TB, b settle.Bill) {
	t.Helper()
	if _, err := n.eng.Bills.SubmitBill(context.Background(), b, b.BillNo, "test"); err != nil {
		t.Fatalf("submit %s: %v", b.BillNo, err)
	}
}

// settledOnce checks that the platform holds exactly one standing settlement of
// every bill.
func (g *group) settledOnce(t testing.TB, bills []string) {
	t.Helper()
	got := g.sim.Settled()
	total := 0
	for _, n := range got {
		total += n
		if n != 1 {
			t.Errorf("a bill stands settled %d times at the platform; want 1 (%v)", n, got)
		}
	}
	if total != len(bills) {
		t.Errorf("settlements standing at the platform: got %d; want %d, one per bill", total, len(bills))
	}
}

// TestTwoNodesNeverSendOneStepTwice: two engines on one etcd are asked to settle the
// same bills at the same moment (a cashier retrying on another front-end): each bill
// is settled once, no msgid reaches the platform twice, and both nodes answer with
// the settled bill.
func TestTwoNodesNeverSendOneStepTwice(t *testing.T) {
	g := newGroup(t, shared.cli)
	a, b := g.node(1), g.node(2)
	var bills []string
	for range 12 {
		bl := g.bill(cardLocalEmployee)
		a.submit(t, bl)
		bills = append(bills, bl.BillNo)
	}
	var wg sync.WaitGroup
	errs := make(chan error, 2*len(bills))
	for _, no := range bills {
		for _, n := range []*node{a, b} {
			wg.Add(1)
			go func() {
				defer wg.Done()
				res, err := n.eng.Bills.SettleBill(context.Background(), no, "", "")
				switch {
				case err != nil:
					errs <- fmt.Errorf("settle %s: %w", no, err)
				case res.Bill.State != workflow.StateSettled:
					errs <- fmt.Errorf("settle %s: state %s; want settled", no, res.Bill.State)
				}
			}()
		}
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	g.settledOnce(t, bills)
}

// TestNodeThatLostItsLockCannotWrite: node A's lease expires while its 2207 is on the
// wire (A paused, or cut off). A's write of the answer fails as fenced instead of
// landing; node B takes the bill and resolves the message A left pending by the rules
// of an unknown outcome: the bill is settled once, and no msgid is sent twice.
func TestNodeThatLostItsLockCannotWrite(t *testing.T) {
	g := newGroup(t, shared.cli)
	a, b := g.node(1), g.node(2)
	bl := g.bill(cardLocalEmployee)
	a.submit(t, bl)
	var once sync.Once
	a.pf.before = func(infno string) {
		if infno == platform.InfnoSettle {
			once.Do(func() {
				// The lease runs out: etcd deletes A's lock key with it.
				if _, err := g.cli.Revoke(context.Background(), a.sess.Lease()); err != nil {
					t.Errorf("revoke A's lease: %v", err)
				}
			})
		}
	}
	_, err := a.eng.Bills.SettleBill(context.Background(), bl.BillNo, "", "")
	if err == nil {
		t.Fatal("A settled after its lease expired: got nil; want its write fenced")
	}
	t.Logf("A: %v", err)
	rec, err := b.eng.Bills.Bill(bl.BillNo)
	if err != nil {
		t.Fatal(err)
	}
	if rec.State == workflow.StateSettled {
		t.Fatalf("after A's fenced write the bill is %s in the store; want it not settled by A", rec.State)
	}
	if len(rec.Pending) == 0 {
		t.Errorf("the bill A left has no pending message; want the 2207 A reserved before it left")
	}
	res, err := b.eng.Bills.SettleBill(context.Background(), bl.BillNo, "", "")
	if err != nil {
		t.Fatalf("B settles: %v", err)
	}
	if res.Bill.State != workflow.StateSettled && res.Bill.State != workflow.StateQueued {
		t.Fatalf("B settles: state %s; want settled (or queued while resolving)", res.Bill.State)
	}
	g.settledOnce(t, []string{bl.BillNo})
}

// TestFenceRefusesTheWriteOfALostLock: a write under a lock whose session expired
// matches ErrFenced and is not kept; the node now holding the lock writes.
func TestFenceRefusesTheWriteOfALostLock(t *testing.T) {
	prefix := newPrefix()
	st := openStore(t, shared.cli, prefix, queue.Options{})
	sa, err := concurrency.NewSession(shared.cli, concurrency.WithTTL(5))
	if err != nil {
		t.Fatal(err)
	}
	defer sa.Close()
	sb, err := concurrency.NewSession(shared.cli, concurrency.WithTTL(5))
	if err != nil {
		t.Fatal(err)
	}
	defer sb.Close()
	la, lb := etcdstore.NewLocker(sa, prefix+"lock/"), etcdstore.NewLocker(sb, prefix+"lock/")
	actx, unlockA, err := la.Lock(context.Background(), "MZ1")
	if err != nil {
		t.Fatal(err)
	}
	defer unlockA()
	// B waits for the lock while A holds it.
	wctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	if _, _, err := lb.Lock(wctx, "MZ1"); err == nil {
		t.Fatal("B took the lock A holds")
	}
	cancel()
	setMeta := func(ctx context.Context, v string) error {
		return st.Update(ctx, func(tx workflow.Tx) error { return tx.SetMeta("owner", v) })
	}
	if err := setMeta(actx, "A"); err != nil {
		t.Fatalf("A writes under its lock: %v", err)
	}
	if _, err := shared.cli.Revoke(context.Background(), sa.Lease()); err != nil {
		t.Fatal(err)
	}
	bctx, unlockB, err := lb.Lock(context.Background(), "MZ1")
	if err != nil {
		t.Fatalf("B takes the lock after A's lease expired: %v", err)
	}
	defer unlockB()
	if err := setMeta(actx, "A late"); !errors.Is(err, etcdstore.ErrFenced) {
		t.Fatalf("A writes after its lease expired: got %v; want ErrFenced", err)
	}
	if err := setMeta(bctx, "B"); err != nil {
		t.Fatalf("B writes under its lock: %v", err)
	}
	var got string
	_ = st.View(func(tx workflow.ReadTx) error { got = tx.Meta("owner"); return nil })
	if got != "B" {
		t.Errorf("owner: got %q; want B (A's late write not kept)", got)
	}
}
