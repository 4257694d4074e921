package libhost

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"runtime"

	"github.com/settle-agent/settle-agent/cardreader/vendorlib"
)

// Serve is the child's side: it reads Requests from in and answers each on out, calling
// the library from the one OS thread it locks, until in ends (the parent closed the
// pipe or died) or ctx ends. A call that hangs hangs Serve: the parent kills the child.
func Serve(ctx context.Context, in io.Reader, out io.Writer, log *slog.Logger) error {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()

	reqs := make(chan Request)
	readErr := make(chan error, 1)
	done := make(chan struct{})
	defer close(done)
	go func() { // owned by Serve: ends when in ends, or when Serve returns and it next reads
		for {
			var r Request
			if err := ReadFrame(in, &r); err != nil {
				readErr <- err
				return
			}
			select {
			case reqs <- r:
			case <-done:
				return
			}
		}
	}()
	s := &server{log: log}
	defer s.close()
	for {
		select {
		case <-ctx.Done():
			return nil
		case err := <-readErr:
			if errors.Is(err, io.EOF) {
				return nil
			}
			return fmt.Errorf("read request: %w", err)
		case r := <-reqs:
			resp := s.handle(r)
			resp.ID = r.ID
			if err := WriteFrame(out, resp); err != nil {
				return fmt.Errorf("write response: %w", err)
			}
		}
	}
}

// server holds the one library a child serves.
type server struct {
	log *slog.Logger
	lib *vendorlib.Lib
}

func (s *server) close() {
	if s.lib != nil {
		_ = s.lib.Close()
	}
}

func (s *server) handle(r Request) Response {
	if r.Op == OpPing {
		return Response{}
	}
	if r.Op == OpOpen {
		if s.lib != nil {
			return Response{Err: "library already open"}
		}
		l, err := vendorlib.Open(r.Library, r.Interface)
		if err != nil {
			return Response{Err: err.Error()}
		}
		s.lib = l
		s.log.Info("reader library loaded", "library", r.Library, "interface", r.Interface)
		var has []string
		if l.Has("ReadSFZ") {
			has = append(has, "ReadSFZ")
		}
		return Response{Has: has}
	}
	if s.lib == nil {
		return Response{Err: "no library open"}
	}
	var (
		res vendorlib.Result
		err error
	)
	switch r.Op {
	case OpInit:
		res, err = s.lib.Init(r.Init)
	case OpReadCard:
		if s.lib.Interface() == vendorlib.SSCard {
			res, err = s.lib.IReadCardBas(r.CardType)
		} else {
			res, err = s.lib.ReadCardBas()
		}
	case OpReadSFZ:
		res, err = s.lib.ReadSFZ(r.Photo)
	case OpECTrans:
		res, err = s.lib.NationEcTrans(r.URL, r.In)
	default:
		return Response{Err: fmt.Sprintf("unknown op %q", r.Op)}
	}
	if err != nil {
		return Response{Err: err.Error()}
	}
	return Response{RC: res.RC, Out: res.Out}
}
