package httpapi

import (
	"context"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	settle "github.com/settle-agent/settle-agent"
)

// The day's samples are kept once a minute for 24 hours and drawn against the
// page's time: the newest at the right edge, the largest value at the top.
func TestDayChart_DrawsTheLastDay(t *testing.T) {
	var d dayChart
	now := time.Date(2026, 12, 8, 4, 0, 0, 0, time.UTC)
	d.add(daySample{At: now.Add(-25 * time.Hour), Queued: 99})
	if got := d.views(now); got != nil {
		t.Errorf("one sample: got %d charts; want none", len(got))
	}
	d.add(daySample{At: now.Add(-12 * time.Hour), Queued: 2, P99Ms: 40, Outstanding: settle.MustMoney("10.00")})
	d.add(daySample{At: now.Add(-12*time.Hour + 30*time.Second), Queued: 7}) // under a minute later: not kept
	d.add(daySample{At: now, Queued: 4, P99Ms: 80, Outstanding: settle.MustMoney("25.50")})
	if len(d.samples) != 2 {
		t.Fatalf("got %d samples kept; want 2 (a day old dropped, one under a minute later skipped)", len(d.samples))
	}
	v := d.views(now)
	if len(v) != 3 {
		t.Fatalf("got %d charts; want 3", len(v))
	}
	for i, want := range []chartView{
		{Title: "chart_queue", Max: "4", Points: "150.0,30.0 300.0,0.0"},
		{Title: "chart_p99", Max: "80 ms", Points: "150.0,30.0 300.0,0.0"},
		{Title: "chart_offline", Max: "¥25.50", Points: "150.0,36.5 300.0,0.0"},
	} {
		if v[i] != want {
			t.Errorf("chart %d: got %+v; want %+v", i, v[i], want)
		}
	}
}

// The page draws the charts inline, in its language, once two samples are kept.
func TestStatusPage_DrawsInlineSVG(t *testing.T) {
	f := newFakeAgent()
	at := time.Date(2026, 12, 8, 4, 0, 0, 0, time.UTC)
	var later atomic.Bool // the server reads the clock on its own goroutines
	srv := fakeAPI(t, f, func(o *Options) {
		o.Now = func() time.Time {
			if later.Load() {
				return at.Add(2 * time.Minute)
			}
			return at
		}
	})
	call(t, srv, "GET", "/", "", "")
	later.Store(true)
	zh := call(t, srv, "GET", "/", "", "").body
	for _, want := range []string{"<svg", "<polyline", "排队待上传", "平台响应 p99", "离线垫付金额"} {
		if !strings.Contains(zh, want) {
			t.Errorf("page lacks %q", want)
		}
	}
	if strings.Contains(zh, "http://") || strings.Contains(zh, "https://") {
		t.Errorf("page refers to another site; want everything inline")
	}
}

// The agent samples the day itself, without anybody reading the page: SampleDay
// keeps a sample at once and stops when its context ends.
func TestSampleDay_SamplesWithoutThePageBeingRead(t *testing.T) {
	f := newFakeAgent()
	s, err := New(Options{Bills: f, Stays: f, Persons: f, Link: f, Queue: f, Jobs: f, Listen: "127.0.0.1:0", AdminToken: adminToken})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); s.SampleDay(ctx) }()
	kept := func() int { s.day.mu.Lock(); defer s.day.mu.Unlock(); return len(s.day.samples) }
	for deadline := time.Now().Add(10 * time.Second); kept() == 0; {
		if time.Now().After(deadline) {
			t.Fatal("got no sample within 10 s of SampleDay starting; want one at once")
		}
		runtime.Gosched()
	}
	cancel()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("SampleDay still runs 10 s after its context ended; want it stopped")
	}
}
