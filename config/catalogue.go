package config

import (
	"strconv"
	"time"
)

// Catalogue is the agent's local copy of the platform's catalogue and the upload
// of the item mapping (catalogue.md).
type Catalogue struct {
	SyncAt      string   `toml:"sync_at"`      // daily sync at this local time "HH:MM"; "" off
	MaxAge      Duration `toml:"max_age"`      // the status page and doctor warn past it
	PageSize    int      `toml:"page_size"`    // page_size of the paged queries 1312–1319
	UploadShape string   `toml:"upload_shape"` // 3301 envelope: object | array | catalogcompin
	UploadBatch int      `toml:"upload_batch"` // rows per 3301 in the array shapes (≤ 100)
}

// defaultCatalogue is the off-peak daily sync at 02:30 and a warning after two days.
func defaultCatalogue() Catalogue {
	return Catalogue{SyncAt: "02:30", MaxAge: Duration{48 * time.Hour}, PageSize: 100, UploadShape: "object", UploadBatch: 100}
}

// SyncClock returns the hour and minute of sync_at; ok is false when it is off or
// not a time.
func (c Catalogue) SyncClock() (hour, minute int, ok bool) {
	if c.SyncAt == "" {
		return 0, 0, false
	}
	t, err := time.Parse("15:04", c.SyncAt)
	if err != nil {
		return 0, 0, false
	}
	return t.Hour(), t.Minute(), true
}

func (c *Config) validateCatalogue(v *ValidationError) {
	k := c.Catalogue
	if _, _, ok := k.SyncClock(); k.SyncAt != "" && !ok {
		c.problem(v, "catalogue.sync_at", k.SyncAt, "must be a time of day HH:MM such as \"02:30\" (an off-peak hour), or \"\" for no daily sync")
	}
	if k.MaxAge.Duration < time.Hour {
		c.problem(v, "catalogue.max_age", k.MaxAge.String(), "must be at least 1h, e.g. \"48h\"")
	}
	if k.PageSize < 1 || k.PageSize > 1000 {
		c.problem(v, "catalogue.page_size", strconv.Itoa(k.PageSize), "must be from 1 to 1000 (the platform's page size; 100 suits most provinces)")
	}
	switch k.UploadShape {
	case "object", "array", "catalogcompin":
	default:
		c.problem(v, "catalogue.upload_shape", k.UploadShape, "must be \"object\" (data{}, one row per 3301), \"array\" (data[]) or \"catalogcompin\" (catalogcompin[]), as the province's interface document says")
	}
	if k.UploadBatch < 1 || k.UploadBatch > 100 {
		c.problem(v, "catalogue.upload_batch", strconv.Itoa(k.UploadBatch), "must be from 1 to 100")
	}
}
