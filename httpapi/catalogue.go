package httpapi

import (
	"context"
	"errors"
	"io"
	"net/http"

	"github.com/settle-agent/settle-agent/catalogue"
)

// Catalogue is what the API needs of the agent's catalogue (a *catalogue.Service):
// the admin endpoints of docs/catalogue.md and the status page's catalogue line.
type Catalogue interface {
	Status() (catalogue.Status, error)
	StartSync() error
	CheckMapping(raw []byte) (*catalogue.CheckReport, error)
	UploadMapping(ctx context.Context, dryRun bool) (*catalogue.UploadReport, error)
}

// maxMappingUpload bounds a mapping file sent to POST /v1/mapping/check.
const maxMappingUpload = 64 << 20

func (s *Server) catalogueOr404(w http.ResponseWriter) (Catalogue, bool) {
	if s.o.Catalogue == nil {
		writeJSON(w, http.StatusNotFound, errorBody("no_catalogue", "this agent keeps no catalogue", nil))
		return nil, false
	}
	return s.o.Catalogue, true
}

// handleCatalogue: GET /v1/catalogue (admin): per catalogue the version, rows, age
// and last error, the running sync's progress and the age warning.
func (s *Server) handleCatalogue(w http.ResponseWriter, r *http.Request) {
	c, ok := s.catalogueOr404(w)
	if !ok {
		return
	}
	st, err := c.Status()
	if err != nil {
		s.writeErr(w, err)
		return
	}
	writeJSON(w, http.StatusOK, st)
}

// handleCatalogueSync: POST /v1/catalogue/sync (admin): starts a sync in the
// background (202); 409 when one is running (follow it with GET /v1/catalogue).
func (s *Server) handleCatalogueSync(w http.ResponseWriter, r *http.Request) {
	c, ok := s.catalogueOr404(w)
	if !ok {
		return
	}
	if err := c.StartSync(); err != nil {
		if errors.Is(err, catalogue.ErrBusy) {
			writeJSON(w, http.StatusConflict, errorBody("sync_running", "a catalogue sync is running: follow it with GET /v1/catalogue", nil))
			return
		}
		s.writeErr(w, err)
		return
	}
	writeJSON(w, http.StatusAccepted, map[string]string{"status": "started"})
}

// handleMappingCheck: POST /v1/mapping/check (admin), body the mapping CSV: the
// file's own checks and the catalogue's; 200 when usable, 422 with the same report
// when not.
func (s *Server) handleMappingCheck(w http.ResponseWriter, r *http.Request) {
	c, ok := s.catalogueOr404(w)
	if !ok {
		return
	}
	raw, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxMappingUpload))
	if err != nil {
		writeJSON(w, http.StatusRequestEntityTooLarge, errorBody("too_large", "the mapping file is larger than 64 MiB", nil))
		return
	}
	rep, err := c.CheckMapping(raw)
	if err != nil {
		s.writeErr(w, err)
		return
	}
	code := http.StatusOK
	if !rep.OK() {
		code = http.StatusUnprocessableEntity
	}
	writeJSON(w, code, rep)
}

// handleMappingUpload: POST /v1/mapping/upload[?dry_run=true] (admin): the agent's
// mapping file to the platform (3301/3302) after the check; 422 with the report when
// the check refuses it, 502 when the platform could not be asked.
func (s *Server) handleMappingUpload(w http.ResponseWriter, r *http.Request) {
	c, ok := s.catalogueOr404(w)
	if !ok {
		return
	}
	dry := r.URL.Query().Get("dry_run")
	rep, err := c.UploadMapping(r.Context(), dry == "1" || dry == "true")
	switch {
	case errors.Is(err, catalogue.ErrRefusedByCheck):
		writeJSON(w, http.StatusUnprocessableEntity, rep)
	case errors.Is(err, catalogue.ErrBusy):
		writeJSON(w, http.StatusConflict, errorBody("sync_running", "a catalogue sync is running: upload again when it ends", nil))
	case err != nil && (rep == nil || len(rep.Lines) == 0):
		// Nothing was sent: the platform's view (1317) could not be read.
		writeJSON(w, http.StatusBadGateway, errorBody("platform_failed", "the mapping was not uploaded: "+err.Error(), nil))
	case err != nil:
		// Sent; only the refresh of the platform's view afterwards failed.
		s.log.Warn("item mapping uploaded; 1317 refresh failed", "err", err)
		writeJSON(w, http.StatusOK, rep)
	default:
		writeJSON(w, http.StatusOK, rep)
	}
}
