package catalogue

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sort"

	settle "github.com/settle-agent/settle-agent"
	"github.com/settle-agent/settle-agent/hisadapter"
	"github.com/settle-agent/settle-agent/platform"
)

// Uploader is the part of platform.Client a mapping upload uses.
type Uploader interface {
	UploadMapping(ctx context.Context, m platform.Meta, shape string, rows []platform.MappingRow) error
	WithdrawMapping(ctx context.Context, m platform.Meta, hilistID, listType, medListCodg string) error
}

// UploadOptions configure a mapping upload.
type UploadOptions struct {
	// Shape is 3301's envelope shape (platform.MappingShapeObject by default).
	Shape string
	// Batch is how many rows one 3301 carries in the array shapes (at most 100).
	Batch int
	// DryRun computes and reports what would be sent, and sends nothing.
	DryRun bool
	// Check is where and when the mapping is checked before anything is sent.
	Check CheckOptions
	// Meta returns the envelope fields of the next call, with a fresh msgid.
	Meta func() (platform.Meta, error)
}

// UploadLine is one row the upload sent (or would send), and what became of it.
type UploadLine struct {
	Infno       string `json:"infno"`  // 3301 or 3302
	Action      string `json:"action"` // add, change, remove
	Line        int    `json:"line,omitempty"`
	HilistID    string `json:"fixmedins_hilist_id"`
	Name        string `json:"name,omitempty"`
	ListType    string `json:"list_type"`
	MedListCodg string `json:"med_list_codg"`
	Err         string `json:"error,omitempty"`
	Refused     bool   `json:"refused,omitempty"` // the platform refused it (final); else Err is a transport failure
}

// UploadReport says what an upload sent and what the platform refused.
type UploadReport struct {
	DryRun    bool         `json:"dry_run"`
	Check     *CheckReport `json:"check"`
	Unchanged int          `json:"unchanged"`
	Lines     []UploadLine `json:"lines"`
	Sent      int          `json:"sent"`
	Refused   int          `json:"refused"`
	Failed    int          `json:"failed"`
}

// ErrRefusedByCheck marks an upload not started because the mapping check failed.
var ErrRefusedByCheck = errors.New("mapping refused by the catalogue check; nothing was uploaded")

// mapKey is a mapping row's identity at the platform.
func mapKey(hilistID, listType, medListCodg string) string {
	return hilistID + "|" + listType + "|" + medListCodg
}

// Upload checks the mapping (raw CSV) against the catalogue, refreshes the
// platform's view of it (1317, through sy), and sends 3301 for rows new or changed
// and 3302 for rows the platform holds that the file no longer has. A mapping the
// check refuses is not uploaded at all (ErrRefusedByCheck, the report says why).
func Upload(ctx context.Context, raw []byte, s *Store, sy *Syncer, up Uploader, o UploadOptions) (*UploadReport, error) {
	if o.Batch <= 0 || o.Batch > platform.MaxMappingBatch {
		o.Batch = platform.MaxMappingBatch
	}
	if o.Shape == "" {
		o.Shape = platform.MappingShapeObject
	}
	check, err := CheckMapping(raw, s, o.Check)
	if err != nil {
		return nil, err
	}
	rep := &UploadReport{DryRun: o.DryRun, Check: check}
	if !check.OK() {
		return rep, ErrRefusedByCheck
	}
	if !check.Synced {
		return rep, fmt.Errorf("upload the mapping: %w: run settle-agent catalogue sync first", ErrNotSynced)
	}
	if _, err := sy.SyncQueries(ctx, platform.InfnoMedinsMatchQuery); err != nil {
		return rep, fmt.Errorf("read the platform's view of the mapping (1317): %w", err)
	}
	want, lines, err := s.desiredMapping(raw, o.Check)
	if err != nil {
		return rep, err
	}
	view, err := s.medinsView()
	if err != nil {
		return rep, err
	}
	var adds []UploadLine
	var addRows []platform.MappingRow
	held := map[string]Rule{}
	for _, r := range view {
		held[mapKey(r.Code, r.ListType, r.MedListCodg)] = r
	}
	keys := make([]string, 0, len(want))
	for k := range want {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool { return lines[keys[i]] < lines[keys[j]] })
	for _, k := range keys {
		w := want[k]
		action := "add"
		if h, ok := held[k]; ok {
			if h.Name == w.FixmedinsHilistName && h.Begin.String() == w.Begndate && h.End.String() == w.Enddate {
				rep.Unchanged++
				continue
			}
			action = "change"
		}
		adds = append(adds, UploadLine{Infno: platform.InfnoMappingUpload, Action: action, Line: lines[k], HilistID: w.FixmedinsHilistID,
			Name: w.FixmedinsHilistName, ListType: w.ListType, MedListCodg: w.MedListCodg})
		addRows = append(addRows, w)
	}
	var removes []UploadLine
	for _, r := range view {
		if _, ok := want[mapKey(r.Code, r.ListType, r.MedListCodg)]; !ok {
			removes = append(removes, UploadLine{Infno: platform.InfnoMappingWithdraw, Action: "remove", HilistID: r.Code, Name: r.Name,
				ListType: r.ListType, MedListCodg: r.MedListCodg})
		}
	}
	sort.Slice(removes, func(i, j int) bool { return removes[i].HilistID < removes[j].HilistID })
	if o.DryRun {
		rep.Lines = append(adds, removes...)
		return rep, nil
	}
	send := func(rows []platform.MappingRow) error {
		m, err := o.Meta()
		if err != nil {
			return err
		}
		return up.UploadMapping(ctx, m, o.Shape, rows)
	}
	step := o.Batch
	if o.Shape == platform.MappingShapeObject {
		step = 1
	}
	for i := 0; i < len(addRows); i += step {
		j := min(i+step, len(addRows))
		err := send(addRows[i:j])
		if err != nil && j-i > 1 && errors.Is(err, platform.ErrBusiness) {
			// One bad row refuses the batch: send its rows one by one to name it.
			for x := i; x < j; x++ {
				recordSend(&adds[x], send(addRows[x:x+1]))
			}
		} else {
			for x := i; x < j; x++ {
				recordSend(&adds[x], err)
			}
		}
		if ctx.Err() != nil {
			break
		}
	}
	for i := range removes {
		if ctx.Err() != nil {
			break
		}
		m, err := o.Meta()
		if err == nil {
			err = up.WithdrawMapping(ctx, m, removes[i].HilistID, removes[i].ListType, removes[i].MedListCodg)
		}
		recordSend(&removes[i], err)
	}
	rep.Lines = append(adds, removes...)
	for _, l := range rep.Lines {
		switch {
		case l.Err == "":
			rep.Sent++
		case l.Refused:
			rep.Refused++
		default:
			rep.Failed++
		}
	}
	// Keep the local view in step with what was sent.
	if _, err := sy.SyncQueries(ctx, platform.InfnoMedinsMatchQuery); err != nil && rep.Failed == 0 {
		return rep, fmt.Errorf("uploaded; refreshing the platform's view (1317) failed: %w", err)
	}
	return rep, nil
}

func recordSend(l *UploadLine, err error) {
	if err == nil {
		return
	}
	var be *platform.BusinessError
	if errors.As(err, &be) {
		l.Err, l.Refused = be.ErrMsg, true
		return
	}
	l.Err = err.Error()
}

// desiredMapping turns the mapping file into the rows 3301 sends, keyed by their
// identity at the platform, and the line each came from. A row's list_type is the
// file's or else its catalogue's; a row without dates takes the catalogue item's
// begndate and an open end (2099-12-31).
func (s *Store) desiredMapping(raw []byte, o CheckOptions) (map[string]platform.MappingRow, map[string]int, error) {
	want := map[string]platform.MappingRow{}
	lines := map[string]int{}
	for _, r := range readMappingRows(raw) {
		it, found, err := s.Item(r.MedListCodg)
		if err != nil {
			return nil, nil, err
		}
		lt := r.ListType
		if lt == "" && found {
			lt = it.ListType
		}
		from := r.From
		if from == 0 {
			from = it.Begin
		}
		if from == 0 {
			from = hisadapter.Date(20000101)
		}
		to := r.To
		if to == 0 {
			to = openEnd
		}
		k := mapKey(r.MedinsListCodg, lt, r.MedListCodg)
		row, ok := want[k]
		if !ok {
			lines[k] = r.Line
			row = platform.MappingRow{FixmedinsHilistID: r.MedinsListCodg, FixmedinsHilistName: r.Name, ListType: lt,
				MedListCodg: r.MedListCodg, Begndate: from.String(), Enddate: to.String(), Spec: it.Spec}
		} else {
			// The same mapping in several ranges: the platform holds it once, over all.
			if b, _ := hisadapter.ParseDate(row.Begndate); from < b {
				row.Begndate = from.String()
			}
			if e, _ := hisadapter.ParseDate(row.Enddate); to > e {
				row.Enddate = to.String()
			}
		}
		want[k] = row
	}
	return want, lines, nil
}

// openEnd is the enddate an open-ended mapping row is uploaded with.
const openEnd = hisadapter.Date(20991231)

// Write prints the report in lang (settle.Say): one line per row sent (or to send),
// refused or failed, and a summary.
func (r *UploadReport) Write(w io.Writer, lang string) {
	say := func(en, zh string) string { return settle.Say(lang, en, zh) }
	if r.Check != nil && !r.Check.OK() {
		r.Check.Write(w, lang)
		fmt.Fprintln(w, say("the mapping was not uploaded: fix the lines above first", "目录对照未上传：先改正上面各行"))
		return
	}
	verb := map[string]string{"add": say("add", "新增"), "change": say("change", "变更"), "remove": say("remove", "撤销")}
	for _, l := range r.Lines {
		where := ""
		if l.Line > 0 {
			where = fmt.Sprintf(say("line %d: ", "第 %d 行："), l.Line)
		}
		state := say("sent", "已发送")
		switch {
		case r.DryRun:
			state = say("to send", "将发送")
		case l.Refused:
			state = say("refused by the platform: ", "被平台拒绝：") + l.Err
		case l.Err != "":
			state = fmt.Sprintf(say("not confirmed (%s); upload again later", "未确认（%s）；稍后再上传一次"), l.Err)
		}
		fmt.Fprintf(w, "%s%s %s %s → %s (list_type %s)%s%s\n", where, l.Infno, verb[l.Action], l.HilistID, l.MedListCodg, l.ListType, say(": ", "："), state)
	}
	if r.DryRun {
		fmt.Fprintf(w, say("dry run: %d row(s) would be sent, %d match the platform; nothing was sent\n",
			"试运行：%d 行将发送，%d 行与平台一致；没有发送任何内容\n"), len(r.Lines), r.Unchanged)
		return
	}
	fmt.Fprintf(w, say("mapping upload: %d sent, %d refused, %d not confirmed, %d unchanged\n",
		"目录对照上传：发送成功 %d，被拒绝 %d，未确认 %d，无需变更 %d\n"), r.Sent, r.Refused, r.Failed, r.Unchanged)
}

// OK reports whether everything the upload meant to send was accepted.
func (r *UploadReport) OK() bool {
	return (r.Check == nil || r.Check.OK()) && r.Refused == 0 && r.Failed == 0
}
