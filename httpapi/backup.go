package httpapi

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"strconv"
	"time"
)

// StoreCopier writes a consistent copy of the store while the agent runs
// (*store.Store.Copy): begin gets what the copy holds and its size before the
// first byte.
type StoreCopier interface {
	Copy(w io.Writer, begin func(counts map[string]map[string]int, size int64) error) (int64, error)
}

// The headers of GET /v1/admin/store-copy. The copy's checksum comes as a trailer,
// once every byte is sent, so that `settle-agent backup` can prove it received the
// copy the agent wrote.
const (
	headerCopyCounts = "X-Settle-Counts" // JSON: {"bills":{state:n},"stays":{...},"queue":{...}}
	headerCopySize   = "X-Settle-Size"   // bytes of the copy
	trailerCopySHA   = "X-Settle-Sha256" // hex SHA-256 of the bytes sent
)

// handleStoreCopy: GET /v1/admin/store-copy (admin) streams a consistent copy of the
// store file (`settle-agent backup` while the agent runs and holds the file lock).
func (s *Server) handleStoreCopy(w http.ResponseWriter, r *http.Request) {
	if s.o.Backup == nil {
		writeJSON(w, http.StatusNotFound, errorBody("not_found", "this agent cannot copy its store", nil))
		return
	}
	// A large store takes longer than the API's write timeout.
	_ = http.NewResponseController(w).SetWriteDeadline(time.Now().Add(time.Hour))
	w.Header().Set("Trailer", trailerCopySHA)
	sum := sha256.New()
	started := false
	n, err := s.o.Backup.Copy(io.MultiWriter(w, sum), func(counts map[string]map[string]int, size int64) error {
		b, err := json.Marshal(counts)
		if err != nil {
			return err
		}
		h := w.Header()
		h.Set("Content-Type", "application/octet-stream")
		h.Set("Cache-Control", "no-store")
		h.Set(headerCopyCounts, string(b))
		h.Set(headerCopySize, strconv.FormatInt(size, 10))
		w.WriteHeader(http.StatusOK)
		started = true
		return nil
	})
	if err != nil {
		s.log.Error("store copy failed", "bytes", n, "err", err)
		if !started {
			s.writeErr(w, err)
		}
		// Started: no checksum trailer, so the receiver knows the copy is not whole.
		return
	}
	w.Header().Set(trailerCopySHA, hex.EncodeToString(sum.Sum(nil)))
	s.log.Info("store copied for a backup", "bytes", n)
}
