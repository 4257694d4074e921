package config

import (
	"strings"
	"testing"
	"time"
)

func TestCatalogue_Defaults(t *testing.T) {
	c := mustParse(t, validTOML, nil)
	want := Catalogue{SyncAt: "02:30", MaxAge: Duration{48 * time.Hour}, PageSize: 100, UploadShape: "object", UploadBatch: 100}
	if c.Catalogue != want {
		t.Fatalf("catalogue = %+v; want %+v", c.Catalogue, want)
	}
	if h, m, ok := c.Catalogue.SyncClock(); !ok || h != 2 || m != 30 {
		t.Fatalf("SyncClock = %d, %d, %v; want 2, 30, true", h, m, ok)
	}
}

func TestCatalogue_FileAndEnv(t *testing.T) {
	c := mustParse(t, validTOML+"\n[catalogue]\nsync_at = \"\"\nupload_shape = \"catalogcompin\"\nupload_batch = 50\n",
		map[string]string{"SETTLE_AGENT_CATALOGUE_MAX_AGE": "24h"})
	if c.Catalogue.SyncAt != "" || c.Catalogue.UploadShape != "catalogcompin" || c.Catalogue.UploadBatch != 50 || c.Catalogue.MaxAge.Duration != 24*time.Hour {
		t.Fatalf("catalogue = %+v", c.Catalogue)
	}
	if _, _, ok := c.Catalogue.SyncClock(); ok {
		t.Fatal("SyncClock of \"\" is on; want off")
	}
}

func TestCatalogue_Validate(t *testing.T) {
	tests := []struct {
		name, toml, field string
	}{
		{"SyncAtBad", "sync_at = \"25:00\"", "catalogue.sync_at"},
		{"SyncAtWords", "sync_at = \"night\"", "catalogue.sync_at"},
		{"MaxAgeShort", "max_age = \"10m\"", "catalogue.max_age"},
		{"PageSizeZero", "page_size = 0", "catalogue.page_size"},
		{"PageSizeHuge", "page_size = 5000", "catalogue.page_size"},
		{"ShapeUnknown", "upload_shape = \"list\"", "catalogue.upload_shape"},
		{"BatchHuge", "upload_batch = 101", "catalogue.upload_batch"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse([]byte(validTOML+"\n[catalogue]\n"+tt.toml+"\n"), "test.toml", envMap(nil))
			ps := problemsOf(t, err)
			p, ok := findProblem(ps, tt.field)
			line := strings.Count(validTOML+"\n[catalogue]\n", "\n") + 1
			if !ok || p.Line != line {
				t.Fatalf("problems %s (line %d); want %s on line %d", fields(ps), p.Line, tt.field, line)
			}
		})
	}
}
