package main

import (
	"context"
	"errors"

	"github.com/settle-agent/settle-agent/catalogue"
	"github.com/settle-agent/settle-agent/platform"
)

// catalogueDownload fetches a catalogue file by 9102 with fixmedins_code "plc".
// Until the platform client's 9102 is merged, the downloads report that they are not
// available and the paged queries still sync.
func catalogueDownload(c *platform.Client, meta func() (platform.Meta, error)) catalogue.DownloadFunc {
	return func(ctx context.Context, fileQuryNo, filename string) ([]byte, error) {
		return nil, errors.New("9102 file download is not in this build yet")
	}
}
