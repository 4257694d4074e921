package platform

import (
	"bytes"
	"context"
	"fmt"
	"mime"
	"strings"
	"time"
)

// QueryVisits sends 5201 and returns the visits the platform holds.
func (c *Client) QueryVisits(ctx context.Context, m Meta, d VisitQueryData) (*VisitQueryOutput, *Response, error) {
	var out VisitQueryOutput
	resp, err := c.Call(ctx, InfnoVisitQuery, m, VisitQueryInput{Data: d}, &out)
	if err != nil {
		return nil, resp, err
	}
	return &out, resp, nil
}

// QuerySettlement sends 5203 and returns the settlements it names (by setl_id, or a
// visit's by mdtrt_id).
func (c *Client) QuerySettlement(ctx context.Context, m Meta, d SettleQueryData) (*SettleQueryOutput, *Response, error) {
	var out SettleQueryOutput
	resp, err := c.Call(ctx, InfnoSettleQuery, m, SettleQueryInput{Data: d}, &out)
	if err != nil {
		return nil, resp, err
	}
	return &out, resp, nil
}

// QueryFees sends 5204 and returns the fee lines the platform holds for the visit. An
// output that is the list itself (as some provinces answer) is read as feedetail.
func (c *Client) QueryFees(ctx context.Context, m Meta, d FeeQueryData) (*FeeQueryOutput, *Response, error) {
	var out FeeQueryOutput
	resp, err := c.Call(ctx, InfnoFeeQuery, m, FeeQueryInput{Data: d}, &out)
	if err != nil {
		return nil, resp, err
	}
	return &out, resp, nil
}

// UploadFile sends 9101 with data as the file named filename and returns where the
// platform keeps it. The bytes go as base64 text, or as an array of byte values with
// Options.FileInArray.
func (c *Client) UploadFile(ctx context.Context, m Meta, filename string, data []byte) (FileInfo, *Response, error) {
	in := FileUploadInput{FsUploadIn: FileUploadData{
		In: FileContent{Bytes: data, AsArray: c.o.FileInArray}, Filename: filename, FixmedinsCode: c.o.FixmedinsCode,
	}}
	var out FileUploadOutput
	resp, err := c.Call(ctx, InfnoFileUpload, m, in, &out)
	if err != nil {
		return FileInfo{}, resp, err
	}
	return out.Info(), resp, nil
}

// DownloadFile sends 9102 and returns the file. The platform answers the file itself
// (application/octet-stream, or any body that is not a JSON envelope); a JSON envelope
// is a business error (no such file, expired) or, with infcode 0, a bad response. The
// *Response is returned when an envelope came.
func (c *Client) DownloadFile(ctx context.Context, m Meta, fileQuryNo, filename string) ([]byte, *Response, error) {
	return c.downloadFile(ctx, m, c.o.FixmedinsCode, fileQuryNo, filename)
}

// downloadFile is DownloadFile with the fixmedins_code of fsDownloadIn given (a
// catalogue file is fetched with CatalogueFixmedinsCode).
func (c *Client) downloadFile(ctx context.Context, m Meta, fixmedinsCode, fileQuryNo, filename string) ([]byte, *Response, error) {
	in := FileDownloadInput{FsDownloadIn: FileDownloadData{FileQuryNo: fileQuryNo, Filename: filename, FixmedinsCode: fixmedinsCode}}
	start := time.Now()
	hr, err := c.exchange(ctx, InfnoFileDownload, m, in, "application/octet-stream, application/json")
	if err != nil {
		c.logCall(InfnoFileDownload, m.Msgid, nil, err, time.Since(start))
		return nil, nil, err
	}
	body := hr.Body()
	if !isEnvelope(hr.Header().Get("Content-Type"), body) {
		c.logCall(InfnoFileDownload, m.Msgid, nil, nil, time.Since(start))
		return body, nil, nil
	}
	resp, err := c.answer(InfnoFileDownload, m, body, nil)
	c.logCall(InfnoFileDownload, m.Msgid, resp, err, time.Since(start))
	if err != nil {
		return nil, resp, err
	}
	// A success envelope: some gateways put the file in output as base64 text.
	var fc FileContent
	if t := bytes.TrimSpace(resp.Output); len(t) > 0 && (t[0] == '"' || t[0] == '[') && fc.UnmarshalJSON(t) == nil && len(fc.Bytes) > 0 {
		resp.Surprises = append(resp.Surprises, Surprise{Kind: SurpriseCoerced, Field: "output", Detail: "9102 file sent inside the envelope"})
		return fc.Bytes, resp, nil
	}
	return nil, resp, fmt.Errorf("call %s %s: %w", InfnoFileDownload, m.Msgid, badf("9102 answered an envelope without a file"))
}

// isEnvelope reports whether a 9102 answer is a JSON envelope rather than the file.
func isEnvelope(contentType string, body []byte) bool {
	mt, _, _ := mime.ParseMediaType(contentType)
	if mt == "application/octet-stream" || mt == "application/zip" || mt == "application/x-zip-compressed" {
		return false
	}
	t := bytes.TrimSpace(body)
	return len(t) > 0 && t[0] == '{' && bytes.Contains(t, []byte(`"infcode"`)) && (mt == "" || strings.Contains(mt, "json") || strings.HasPrefix(mt, "text/"))
}

// DetailRecon is one 3202 exchange: the three messages it takes (9101 upload, 3202,
// 9102 download), each with its own msgid, the totals and the hospital's rows.
type DetailRecon struct {
	Upload, Recon, Download Meta
	// Filename names the uploaded zip ("<fixmedins_code>_<yyyyMMdd>.zip" when empty);
	// its text entry has the same name with .txt.
	Filename string
	Data     DetailReconFileData
	Rows     []ReconFileRow
}

// DetailReconByFile runs 3202 through files: it builds the zip of r.Rows, uploads it
// (9101), sends 3202 naming it, fetches the result (9102) and parses it. The rows
// returned are the settlements that differ. An error names the step that failed and
// wraps its outcome class; every step books nothing, so the whole may be repeated with
// new msgids.
func (c *Client) DetailReconByFile(ctx context.Context, r DetailRecon) ([]ReconResultRow, error) {
	name := r.Filename
	if name == "" {
		day := strings.ReplaceAll(r.Data.StmtBegndate, "-", "")
		if len(day) > 8 {
			day = day[:8]
		}
		name = c.o.FixmedinsCode + "_" + day + ".zip"
	}
	entry := strings.TrimSuffix(name, ".zip") + ".txt"
	file, err := BuildReconFile(entry, r.Rows)
	if err != nil {
		return nil, fmt.Errorf("3202 build file: %v: %w", err, ErrNotSent)
	}
	fi, _, err := c.UploadFile(ctx, r.Upload, name, file)
	if err != nil {
		return nil, fmt.Errorf("3202 upload (9101): %w", err)
	}
	d := r.Data
	d.FileQuryNo = fi.FileQuryNo
	if d.FixmedinsSetlCnt == 0 {
		d.FixmedinsSetlCnt = len(r.Rows)
	}
	var out DetailReconFileOutput
	if _, err := c.Call(ctx, InfnoDetailRecon, r.Recon, DetailReconFileInput{Data: d}, &out); err != nil {
		return nil, fmt.Errorf("3202: %w", err)
	}
	result, _, err := c.DownloadFile(ctx, r.Download, out.Fileinfo.FileQuryNo, out.Fileinfo.Filename)
	if err != nil {
		return nil, fmt.Errorf("3202 result download (9102): %w", err)
	}
	rows, err := ParseReconResult(result, c.o.ReconResultColumns)
	if err != nil {
		return nil, fmt.Errorf("3202 result %s: %w", out.Fileinfo.Filename, err)
	}
	return rows, nil
}
