package httpapi

import (
	"fmt"
	"io"
	"net/http"
)

// maxDrain bounds how much of a body over the limit is read and thrown away
// before the 413 goes out: a client still sending when the agent closes the
// connection sees a reset, not the answer, so a body up to this much larger is
// read to its end first. Beyond it the connection is closed after the answer.
const maxDrain = 4 << 20

// limitedBody is a request body that refuses to give more than limit bytes
// (with an *http.MaxBytesError, as http.MaxBytesReader does) and can still drain
// what the client sends after that.
type limitedBody struct {
	rc    io.ReadCloser
	left  int64 // bytes the handler may still read
	limit int64
	over  bool
}

func newLimitedBody(rc io.ReadCloser, limit int64) *limitedBody {
	return &limitedBody{rc: rc, left: limit, limit: limit}
}

func (b *limitedBody) Read(p []byte) (int, error) {
	if b.over {
		return 0, &http.MaxBytesError{Limit: b.limit}
	}
	if int64(len(p)) > b.left+1 {
		p = p[:b.left+1] // one byte more tells "at the limit" from "over it"
	}
	n, err := b.rc.Read(p)
	if int64(n) > b.left {
		n, b.left, b.over = int(b.left), 0, true
		return n, &http.MaxBytesError{Limit: b.limit}
	}
	b.left -= int64(n)
	return n, err
}

func (b *limitedBody) Close() error { return b.rc.Close() }

// drain reads and discards up to maxDrain bytes of what is left; it reports
// whether the body ended.
func (b *limitedBody) drain() bool {
	n, err := io.CopyN(io.Discard, b.rc, maxDrain)
	return err != nil && n < maxDrain
}

// tooLarge answers 413 in a way the client reads: a body announced larger than
// the limit is drained first (unless the client waits for 100 Continue, which
// it then never gets), and the connection is closed after the answer when the
// body could not be read to its end.
func tooLarge(w http.ResponseWriter, r *http.Request, limit int64) {
	ended := false
	switch b := r.Body.(type) {
	case *limitedBody:
		ended = b.drain()
	default:
		if r.Body != nil && r.Header.Get("Expect") == "" && r.ContentLength <= limit+maxDrain {
			n, err := io.CopyN(io.Discard, r.Body, maxDrain)
			ended = err != nil && n < maxDrain
		}
	}
	if !ended {
		w.Header().Set("Connection", "close")
	}
	size := ""
	if r.ContentLength > 0 {
		size = fmt.Sprintf(" of %d bytes", r.ContentLength)
	}
	writeJSON(w, http.StatusRequestEntityTooLarge, errorBody("too_large",
		fmt.Sprintf("the request body%s is over the agent's limit of %d bytes ([api] max_body_bytes): send a smaller request (a bill has at most a few hundred items)", size, limit), nil))
}
