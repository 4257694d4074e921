package sim

import (
	"context"
	"net/http"
	"sync"
	"testing"

	settle "github.com/settle-agent/settle-agent"
)

// Concurrent settlements of one person keep the books: the account pays exactly what
// the answers say, and every bill is settled once.
func TestPlatform_ConcurrentSettlements(t *testing.T) {
	p, c := mustSim(t, nil)
	const n = 40
	var mu sync.Mutex
	var paid settle.Money
	var wg sync.WaitGroup
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			chrg := "CC" + string(rune('A'+i%26)) + string(rune('a'+i/26))
			mdtrt, total := c.visitFlow(psnLocalEmployee, "310", chrg, line{codgCT, "1", "240"})
			s, _ := c.settle(psnLocalEmployee, mdtrt, chrg, "11", "310", total, "1")
			mu.Lock()
			paid += s.AcctPay
			mu.Unlock()
		}()
	}
	wg.Wait()
	if b, _ := p.Balance(psnLocalEmployee); b+paid != money("2000.00") {
		t.Errorf("balance %s + account paid %s != 2000.00", b, paid)
	}
	settled := p.Settled()
	if len(settled) != n {
		t.Errorf("%d bills settled; want %d", len(settled), n)
	}
	for k, v := range settled {
		if v != 1 {
			t.Errorf("%s settled %d times", k, v)
		}
	}
}

func TestStart_StopsWithContext(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	url, stop, err := Start(ctx, "", New(nil, nil))
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.Get(url + "/sim/faults")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	cancel()
	// stop waits for the shutdown the context started, and may be called again.
	if err := stop(); err != nil {
		t.Errorf("stop: %v", err)
	}
	if _, err := http.Get(url + "/sim/faults"); err == nil {
		t.Error("still serving after the context ended")
	}
}
