package platform

import (
	"context"
	"fmt"
)

// CatalogueFile asks a file download (1301, 1302, 1305, 1306, …) for the rows after
// ver ("0" the first time). The answer names the zip that 9102 then fetches with
// fixmedins_code CatalogueFixmedinsCode; data_cnt 0 means nothing is newer.
func (c *Client) CatalogueFile(ctx context.Context, m Meta, infno, ver string) (*CatalogueFileOutput, error) {
	if ver == "" {
		ver = "0"
	}
	var out CatalogueFileOutput
	if _, err := c.Call(ctx, infno, m, CatalogueFileInput{Data: CatalogueFileData{Ver: ver}}, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// DownloadCatalogueFile fetches a catalogue file by 9102 with fixmedins_code "plc"
// (CatalogueFixmedinsCode), as DownloadFile does for the hospital's own files.
func (c *Client) DownloadCatalogueFile(ctx context.Context, m Meta, fileQuryNo, filename string) ([]byte, error) {
	data, _, err := c.downloadFile(ctx, m, CatalogueFixmedinsCode, fileQuryNo, filename)
	return data, err
}

// queryPage runs one page of a paged catalogue query.
func queryPage[T any](ctx context.Context, c *Client, m Meta, infno string, q CatalogueQuery) (*Page[T], error) {
	if q.PageNum <= 0 || q.PageSize <= 0 {
		return nil, fmt.Errorf("%s: page_num and page_size must be positive: %w", infno, ErrNotSent)
	}
	var out Page[T]
	if _, err := c.Call(ctx, infno, m, CatalogueQueryInput{Data: q}, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// HilistPage is one page of 1312 医保目录信息查询.
func (c *Client) HilistPage(ctx context.Context, m Meta, q CatalogueQuery) (*Page[HilistRow], error) {
	return queryPage[HilistRow](ctx, c, m, InfnoHilistQuery, q)
}

// ListMatchPage is one page of 1316 医疗目录与医保目录匹配信息查询.
func (c *Client) ListMatchPage(ctx context.Context, m Meta, q CatalogueQuery) (*Page[ListMatchRow], error) {
	return queryPage[ListMatchRow](ctx, c, m, InfnoListMatchQuery, q)
}

// MedinsMatchPage is one page of 1317 医药机构目录匹配信息查询: this hospital's mapping
// as the platform holds it.
func (c *Client) MedinsMatchPage(ctx context.Context, m Meta, q CatalogueQuery) (*Page[MedinsMatchRow], error) {
	return queryPage[MedinsMatchRow](ctx, c, m, InfnoMedinsMatchQuery, q)
}

// LimitPricePage is one page of 1318 医保目录限价信息查询.
func (c *Client) LimitPricePage(ctx context.Context, m Meta, q CatalogueQuery) (*Page[LimitPriceRow], error) {
	return queryPage[LimitPriceRow](ctx, c, m, InfnoLimitPriceQuery, q)
}

// SelfpayPage is one page of 1319 医保目录先自付比例信息查询.
func (c *Client) SelfpayPage(ctx context.Context, m Meta, q CatalogueQuery) (*Page[SelfpayRow], error) {
	return queryPage[SelfpayRow](ctx, c, m, InfnoSelfpayQuery, q)
}

// UploadMapping sends 3301 目录对照上传 with rows in the province's envelope shape
// (MappingShapeObject: exactly one row).
func (c *Client) UploadMapping(ctx context.Context, m Meta, shape string, rows []MappingRow) error {
	in, err := MappingUploadInput(shape, rows)
	if err != nil {
		return fmt.Errorf("call %s %s: %w", InfnoMappingUpload, m.Msgid, err)
	}
	_, err = c.Call(ctx, InfnoMappingUpload, m, in, nil)
	return err
}

// WithdrawMapping sends 3302 目录对照撤销 for one row; fixmedins_code is the client's.
func (c *Client) WithdrawMapping(ctx context.Context, m Meta, hilistID, listType, medListCodg string) error {
	in := MappingWithdrawInput{Data: MappingWithdrawData{
		FixmedinsCode: c.o.FixmedinsCode, FixmedinsHilistID: hilistID, ListType: listType, MedListCodg: medListCodg,
	}}
	_, err := c.Call(ctx, InfnoMappingWithdraw, m, in, nil)
	return err
}
