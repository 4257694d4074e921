package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"time"

	"github.com/settle-agent/settle-agent/internal/simagent"
	"github.com/settle-agent/settle-agent/platform/sim"
)

// simPlatform is the simulated platform of a run: a child process of its own when
// Options.SimCommand is set (so that its CPU is measured apart from the windows'), in
// this process otherwise. Either way the benchmark controls it over its /sim/ API.
type simPlatform struct {
	url    string
	client *http.Client
	proc   *agentProc   // the child process; nil in process
	stop   func() error // stops the in-process platform; nil for a child
}

// startPlatform starts the simulated platform with the demo fixture and fault seed 1.
func startPlatform(ctx context.Context, dir string, o Options) (*simPlatform, error) {
	s := &simPlatform{client: &http.Client{Timeout: 30 * time.Second}}
	if o.SimCommand == nil {
		_, url, stop, err := simagent.StartSim(context.Background(), 1)
		if err != nil {
			return nil, fmt.Errorf("bench e2e: %w", err)
		}
		s.url, s.stop = url, stop
		return s, nil
	}
	port, err := freePort()
	if err != nil {
		return nil, fmt.Errorf("bench e2e: find a free port for the platform: %w", err)
	}
	listen := fmt.Sprintf("127.0.0.1:%d", port)
	s.url = "http://" + listen
	out := filepath.Join(dir, "platform.out")
	if s.proc, err = startAgent(ctx, o.SimCommand(listen), out); err != nil {
		return nil, fmt.Errorf("bench e2e: start the simulated platform: %w", err)
	}
	err = poll(ctx, 30*time.Second, 5*time.Millisecond, "the simulated platform to answer (see "+out+")", func() (bool, error) {
		if s.proc.exited() {
			return false, fmt.Errorf("bench e2e: the simulated platform exited: %v (see %s)", s.proc.waitErr(), out)
		}
		var f sim.Faults
		return s.control(ctx, "GET", "/sim/faults", nil, &f) == nil, nil
	})
	if err != nil {
		_ = s.close()
		return nil, err
	}
	return s, nil
}

func (s *simPlatform) close() error {
	if s.proc != nil {
		return s.proc.stop(10 * time.Second)
	}
	return s.stop()
}

// pid is the platform's process: a child's, or this one's.
func (s *simPlatform) pid() int {
	if s.proc != nil {
		return s.proc.pid()
	}
	return os.Getpid()
}

// control calls the /sim/ API and decodes its JSON answer into out.
func (s *simPlatform) control(ctx context.Context, method, path string, in, out any) error {
	var body io.Reader
	if in != nil {
		data, err := json.Marshal(in)
		if err != nil {
			return err
		}
		body = bytes.NewReader(data)
	}
	req, err := http.NewRequestWithContext(ctx, method, s.url+path, body)
	if err != nil {
		return err
	}
	resp, err := s.client.Do(req)
	if err != nil {
		return fmt.Errorf("bench e2e: platform control %s %s: %w", method, path, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%w: platform control %s %s: %d %s", ErrUnexpected, method, path, resp.StatusCode, data)
	}
	return json.Unmarshal(data, out)
}

// setDown cuts the platform (it answers nothing) or brings it back.
func (s *simPlatform) setDown(ctx context.Context, down bool) error {
	var f sim.Faults
	return s.control(ctx, "PUT", "/sim/faults", sim.Faults{Down: down}, &f)
}

// settled is the platform's count of live settlements per chrg_bchno.
func (s *simPlatform) settled(ctx context.Context) (map[string]int, error) {
	var v struct {
		Settled map[string]int `json:"settled"`
	}
	err := s.control(ctx, "GET", "/sim/settled", nil, &v)
	return v.Settled, err
}

// repeatedMsgids are the msgids the platform received more than once.
func (s *simPlatform) repeatedMsgids(ctx context.Context) ([]string, error) {
	var v struct {
		Repeated []string `json:"repeated_msgids"`
	}
	err := s.control(ctx, "GET", "/sim/stats", nil, &v)
	return v.Repeated, err
}
