package agent

import (
	"context"
	"fmt"
	"time"

	"github.com/settle-agent/settle-agent/catalogue"
	"github.com/settle-agent/settle-agent/hisadapter"
	"github.com/settle-agent/settle-agent/platform"
)

// catalogueOpter names the catalogue's platform calls in the envelope.
const catalogueOpter = "catalogue"

// openCatalogue opens the catalogue file beside the store (catalogue.db) and wires
// its service: syncs through the agent's platform client and msgids, the daily sync
// at [catalogue] sync_at, the mapping check and upload (docs/catalogue.md).
func (a *Agent) openCatalogue(client *platform.Client, msgids *platform.MsgidGenerator) error {
	cfg := a.cfg
	s, err := catalogue.Open(cfg.DataPath(catalogue.FileName), &catalogue.StoreOptions{Now: a.now})
	if err != nil {
		return fmt.Errorf("catalogue: %w", err)
	}
	a.catStore = s
	// Every catalogue call carries the session: the platform requires the current
	// sign_no on every business call, and the start-up sync may come before the
	// engine's sign-in succeeded (the platform was down, or refused it).
	meta := func() (platform.Meta, error) {
		if client.SignNo() == "" && (a.engine == nil || !a.engine.Link.SignIn(context.Background(), true)) {
			return platform.Meta{}, ErrNotSignedIn
		}
		id, err := msgids.Next()
		return platform.Meta{Msgid: id, Opter: catalogueOpter, OpterName: "目录同步"}, err
	}
	sy, err := catalogue.NewSyncer(catalogue.SyncOptions{Store: s, Platform: client, Meta: meta,
		Download: func(ctx context.Context, fileQuryNo, filename string) ([]byte, error) {
			m, err := meta()
			if err != nil {
				return nil, err
			}
			return client.DownloadCatalogueFile(ctx, m, fileQuryNo, filename)
		},
		PageSize: cfg.Catalogue.PageSize, Now: a.now, Logger: a.log})
	if err != nil {
		return err
	}
	var daily *catalogue.DailyOptions
	if h, m, ok := cfg.Catalogue.SyncClock(); ok {
		daily = &catalogue.DailyOptions{Hour: h, Minute: m, Location: time.Local, Now: a.now}
	}
	a.catalogue, err = catalogue.NewService(catalogue.ServiceOptions{Store: s, Syncer: sy, Uploader: client, Meta: meta,
		MappingFile: cfg.Mapping.File, Check: a.catalogueCheck, Shape: cfg.Catalogue.UploadShape, Batch: cfg.Catalogue.UploadBatch,
		MaxAge: cfg.Catalogue.MaxAge.Duration, Daily: daily, Now: a.now, Logger: a.log})
	return err
}

// catalogueCheck is where and when the mapping is checked: the treatment area,
// today in Beijing time.
func (a *Agent) catalogueCheck() catalogue.CheckOptions {
	return catalogue.CheckOptions{Admdvs: a.cfg.Hospital.Admdvs, Today: hisadapter.DateOf(a.now().In(beijing))}
}

// beijing is the platform's time zone (China Standard Time).
var beijing = time.FixedZone("CST", 8*3600)
