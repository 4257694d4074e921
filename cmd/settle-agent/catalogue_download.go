package main

import (
	"context"

	"github.com/settle-agent/settle-agent/catalogue"
	"github.com/settle-agent/settle-agent/platform"
)

// catalogueDownload fetches a catalogue file by 9102 with fixmedins_code "plc", each
// call with a fresh msgid.
func catalogueDownload(c *platform.Client, meta func() (platform.Meta, error)) catalogue.DownloadFunc {
	return func(ctx context.Context, fileQuryNo, filename string) ([]byte, error) {
		m, err := meta()
		if err != nil {
			return nil, err
		}
		return c.DownloadCatalogueFile(ctx, m, fileQuryNo, filename)
	}
}
