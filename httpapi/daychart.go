package httpapi

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"time"

	settle "github.com/settle-agent/settle-agent"
)

// daySample is what the status page draws over the day, sampled by the agent itself
// once a minute (Server.SampleDay, whether or not anybody reads the page) and when
// its status is read, at most once a minute: nothing is loaded from elsewhere.
type daySample struct {
	At          time.Time
	Queued      int
	P99Ms       float64
	Outstanding settle.Money
}

// dayChart keeps the samples of the last 24 hours.
type dayChart struct {
	mu      sync.Mutex
	samples []daySample
}

// Bounds of the samples.
const (
	chartSpan  = 24 * time.Hour
	chartEvery = time.Minute
)

// add keeps s unless the last sample is under a minute older, and forgets what is
// older than a day.
func (d *dayChart) add(s daySample) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if n := len(d.samples); n > 0 && s.At.Sub(d.samples[n-1].At) < chartEvery {
		return
	}
	d.samples = append(d.samples, s)
	drop := 0
	for drop < len(d.samples) && s.At.Sub(d.samples[drop].At) > chartSpan {
		drop++
	}
	d.samples = append(d.samples[:0], d.samples[drop:]...)
}

// chartView is one drawn line: its title (a pageText key), the largest value as
// the page says it, and the SVG polyline's points in a chartW×chartH box.
type chartView struct {
	Title  string
	Max    string
	Points string
}

// Size of a chart's drawing box.
const (
	chartW = 300
	chartH = 60
)

// views draws the queue depth, the platform's p99 and the offline money carried
// over the 24 hours before now; none while fewer than two samples are kept.
func (d *dayChart) views(now time.Time) []chartView {
	d.mu.Lock()
	samples := append([]daySample(nil), d.samples...)
	d.mu.Unlock()
	if len(samples) < 2 {
		return nil
	}
	line := func(title string, value func(daySample) float64, unit func(float64) string) chartView {
		top := 0.0
		for _, s := range samples {
			top = max(top, value(s))
		}
		var pts strings.Builder
		for i, s := range samples {
			x := float64(chartW) * (1 - now.Sub(s.At).Seconds()/chartSpan.Seconds())
			y := float64(chartH)
			if top > 0 {
				y = float64(chartH) * (1 - value(s)/top)
			}
			if i > 0 {
				pts.WriteByte(' ')
			}
			fmt.Fprintf(&pts, "%.1f,%.1f", max(x, 0), y)
		}
		return chartView{Title: title, Max: unit(top), Points: pts.String()}
	}
	return []chartView{
		line("chart_queue", func(s daySample) float64 { return float64(s.Queued) }, func(v float64) string { return fmt.Sprintf("%.0f", v) }),
		line("chart_p99", func(s daySample) float64 { return s.P99Ms }, func(v float64) string { return fmt.Sprintf("%.0f ms", v) }),
		line("chart_offline", func(s daySample) float64 { return float64(s.Outstanding) / 100 }, func(v float64) string { return fmt.Sprintf("¥%.2f", v) }),
	}
}

// SampleDay samples what the status page draws now and then once a minute until
// ctx ends, so that the chart also covers the hours nobody had the page open. The
// agent runs it for as long as it serves the API.
func (s *Server) SampleDay(ctx context.Context) {
	tick := time.NewTicker(chartEvery)
	defer tick.Stop()
	for {
		if err := s.sampleDay(); err != nil {
			s.log.Warn("day chart sample", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}

// sampleDay adds one sample of the queue depth, the platform's p99 and the offline
// money carried.
func (s *Server) sampleDay() error {
	qs, err := s.o.Queue.Stats()
	if err != nil {
		return err
	}
	s.day.add(daySample{At: s.now(), Queued: qs.Ready, P99Ms: s.platformP99Ms(), Outstanding: s.o.Bills.Outstanding()})
	return nil
}
