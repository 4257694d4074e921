package doctor

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/settle-agent/settle-agent/catalogue"
	"github.com/settle-agent/settle-agent/platform"
)

// syncCatalogue syncs the catalogue of dataDir from the simulator at baseURL, as
// `settle-agent catalogue sync` does.
func syncCatalogue(t *testing.T, dataDir, baseURL string) {
	t.Helper()
	s, err := catalogue.Open(filepath.Join(dataDir, catalogue.FileName), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	c, err := platform.NewClient(platform.Options{BaseURL: baseURL, FixmedinsCode: "H33010200001", MdtrtareaAdmvs: "330100"})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	g, err := platform.NewMsgidGenerator(platform.MsgidOptions{FixmedinsCode: "H33010200001", Node: -1})
	if err != nil {
		t.Fatal(err)
	}
	meta := func() (platform.Meta, error) { id, err := g.Next(); return platform.Meta{Msgid: id}, err }
	sy, err := catalogue.NewSyncer(catalogue.SyncOptions{Store: s, Platform: c, Meta: meta,
		Download: func(ctx context.Context, no, name string) ([]byte, error) {
			m, err := meta()
			if err != nil {
				return nil, err
			}
			return c.DownloadCatalogueFile(ctx, m, no, name)
		}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := sy.Sync(context.Background()); err != nil {
		t.Fatalf("catalogue sync: %v", err)
	}
}

// TestDoctor_Catalogue: never synced is a warning naming the command; synced is ok;
// older than max_age is a warning again.
func TestDoctor_Catalogue(t *testing.T) {
	t.Parallel()
	s := newDoctorSetup(t, nil)
	checks := s.Run(s.Options())
	wantCheck(t, checks, "catalogue", CheckWarn, "never synced completely")
	syncCatalogue(t, s.DataDir, s.BaseURL)
	checks = s.Run(s.Options())
	wantCheck(t, checks, "catalogue", CheckOK, "rows, oldest sync")
	o := s.Options()
	o.Now = func() time.Time { return time.Now().Add(72 * time.Hour) }
	checks = s.Run(o)
	wantCheck(t, checks, "catalogue", CheckWarn, "oldest sync 3d0h ago, over max_age 48h0m0s")
}
