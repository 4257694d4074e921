package hisadapter

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	settle "github.com/settle-agent/settle-agent"
)

// DropFolder watches a folder an older HIS exports bills into as CSV files (see
// ParseCSV). A file is taken once complete: a *.tmp file only after it is renamed,
// any other file once its size and modification time stayed the same for QuietTime.
// When every bill in it is stored the file moves to done/; otherwise to error/ with
// FILE.err beside it saying, per line, what is wrong and which bills were stored
// anyway. When the Sink fails for a moment the file stays where it is and is tried
// again. A file half-processed when the process died is processed again from the
// start: each bill is built byte-identically from the same rows (created_at is the
// file's modification time), so the Sink's idempotency stores nothing twice.
//
// The zero value of every tuning field means its default.
type DropFolder struct {
	Dir           string        // the watched folder; done/ and error/ are made inside it
	Encoding      string        // "utf-8" (default) or "gbk" (GB 18030)
	QuietTime     time.Duration // how long a file must stay unchanged; 0: 2s
	PollInterval  time.Duration // how often the folder is listed; 0: 1s
	Sink          Sink          // required
	Logger        *slog.Logger  // nil: discard
	Now           func() time.Time
	DefaultWindow string        // for rows whose window column is empty
	MaxFileBytes  int64         // larger files go to error/; 0: 32 MiB
	SinkTimeout   time.Duration // how long one bill may take to store; 0: 30s
	RetryInterval time.Duration // wait after a temporary Sink failure; 0: 10s
	Windows       []string      // when set, bills for other windows are refused (into error/)
	Intake        *Intake       // the pace bills reach the Sink, shared with MLLP; nil: 20 a second
	MaxFileBills  int           // a file with more bills (or fee batches) goes to error/ whole; 0: 5000

	log     *slog.Logger
	seen    map[string]fileState
	waitTil map[string]time.Time
}

type fileState struct {
	size  int64
	mtime time.Time
	since time.Time // when this size and mtime were first seen
}

func (d *DropFolder) init() error {
	if d.log != nil {
		return nil
	}
	if d.Sink == nil {
		return errors.New("drop folder: no Sink")
	}
	if _, err := textEncoding(d.Encoding); err != nil {
		return fmt.Errorf("drop folder encoding: %w", err)
	}
	d.log = d.Logger
	if d.log == nil {
		d.log = slog.New(slog.DiscardHandler)
	}
	if d.QuietTime <= 0 {
		d.QuietTime = 2 * time.Second
	}
	if d.PollInterval <= 0 {
		d.PollInterval = time.Second
	}
	if d.Now == nil {
		d.Now = time.Now
	}
	if d.MaxFileBytes <= 0 {
		d.MaxFileBytes = 32 << 20
	}
	if d.SinkTimeout <= 0 {
		d.SinkTimeout = 30 * time.Second
	}
	if d.RetryInterval <= 0 {
		d.RetryInterval = 10 * time.Second
	}
	if d.Intake == nil {
		d.Intake = NewIntake(20, 0)
	}
	if d.MaxFileBills <= 0 {
		d.MaxFileBills = 5000
	}
	d.seen = make(map[string]fileState)
	d.waitTil = make(map[string]time.Time)
	for _, sub := range []string{"done", "error"} {
		// done/ and error/ hold names and card numbers: the service account's only.
		p := filepath.Join(d.Dir, sub)
		if err := os.MkdirAll(p, 0o700); err != nil {
			return fmt.Errorf("drop folder: %w", err)
		}
		if err := restrictDir(p); err != nil {
			d.log.Warn("drop folder: cannot make the folder private (0700)", "dir", p, "err", err)
		}
	}
	return nil
}

// errNotRegular marks a drop folder entry that is not the plain file listed when
// opened: a link, FIFO or device, a file with several hard links, or a swapped file.
var errNotRegular = errors.New("not a regular file")

// Run scans the folder every PollInterval until ctx ends (then it returns nil). It
// returns an error at once when the folder or the configuration is unusable.
func (d *DropFolder) Run(ctx context.Context) error {
	if err := d.init(); err != nil {
		return err
	}
	d.log.Info("drop folder watched", "dir", d.Dir, "encoding", d.Encoding)
	t := time.NewTicker(d.PollInterval)
	defer t.Stop()
	for {
		if err := d.Scan(ctx); err != nil && ctx.Err() == nil {
			d.log.Error("drop folder scan failed", "dir", d.Dir, "err", err)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

// Scan lists the folder once and takes every file that is complete. Run calls it;
// it is exported for tests and for a one-shot import. Not safe for concurrent use.
func (d *DropFolder) Scan(ctx context.Context) error {
	if err := d.init(); err != nil {
		return err
	}
	entries, err := os.ReadDir(d.Dir)
	if err != nil {
		return fmt.Errorf("list drop folder: %w", err)
	}
	now := d.Now()
	present := make(map[string]bool, len(entries))
	for _, e := range entries {
		name := e.Name()
		if !e.Type().IsRegular() || strings.HasPrefix(name, ".") || strings.HasSuffix(strings.ToLower(name), ".tmp") ||
			strings.HasSuffix(strings.ToLower(name), ".err") {
			continue
		}
		info, err := e.Info()
		if err != nil {
			continue // gone since listing
		}
		present[name] = true
		st, ok := d.seen[name]
		if !ok || st.size != info.Size() || !st.mtime.Equal(info.ModTime()) {
			d.seen[name] = fileState{size: info.Size(), mtime: info.ModTime(), since: now}
			continue
		}
		if now.Sub(st.since) < d.QuietTime || now.Before(d.waitTil[name]) {
			continue
		}
		if ctx.Err() != nil {
			return nil
		}
		if d.take(ctx, name, info) {
			delete(d.seen, name)
			delete(d.waitTil, name)
		} else {
			d.waitTil[name] = now.Add(d.RetryInterval)
		}
	}
	for name := range d.seen {
		if !present[name] {
			delete(d.seen, name)
			delete(d.waitTil, name)
		}
	}
	return nil
}

// take processes one complete file; false means it stays for a later try.
func (d *DropFolder) take(ctx context.Context, name string, info os.FileInfo) bool {
	path := filepath.Join(d.Dir, name)
	log := d.log.With("file", name)
	f, opened, err := openInput(path)
	if err == nil {
		if err = sameListed(path, info, opened); err != nil {
			f.Close()
		}
	}
	if errors.Is(err, errNotRegular) {
		log.Warn("drop folder entry refused: not the plain file listed (a link, FIFO or device, or swapped); left in place", "err", err)
		return false
	}
	if err != nil {
		log.Warn("drop folder file cannot be opened; will try again", "err", err)
		return false
	}
	if err := restrictFile(f); err != nil {
		log.Debug("drop folder file keeps its mode (owned by another account)", "err", err)
	}
	raw, err := io.ReadAll(io.LimitReader(f, d.MaxFileBytes+1))
	f.Close()
	if err != nil {
		log.Warn("drop folder file cannot be read; will try again", "err", err)
		return false
	}
	if int64(len(raw)) <= d.MaxFileBytes && isStayCSV(raw, d.Encoding) {
		return d.takeStayFees(ctx, name, raw)
	}
	var bills []*csvBill
	var problems []LineError
	if int64(len(raw)) > d.MaxFileBytes {
		problems = []LineError{{Reason: fmt.Sprintf("file is larger than %d bytes; export smaller batches", d.MaxFileBytes)}}
	} else if bills, problems, err = parseCSVBills(bytes.NewReader(raw), d.Encoding, d.DefaultWindow); err != nil {
		log.Error("drop folder file cannot be decoded", "err", err)
		return false
	} else if len(bills) > d.MaxFileBills {
		problems = []LineError{{Reason: fmt.Sprintf("file holds %d bills, more than the %d a file may hold (dropfolder.max_file_bills); export smaller batches", len(bills), d.MaxFileBills)}}
		bills = nil
	}
	createdAt := time.Unix(info.ModTime().Unix(), 0).In(chinaTime)
	var stored, refused []*csvBill
	for _, b := range bills {
		if b.bad {
			refused = append(refused, b)
			continue
		}
		if len(d.Windows) > 0 && !slices.Contains(d.Windows, b.bill.Window) {
			problems = append(problems, LineError{Line: b.first, BillNo: b.bill.BillNo, Field: "window", Reason: fmt.Sprintf(
				"window %q is not one this drop folder takes bills for (%s)", b.bill.Window, strings.Join(d.Windows, ", "))})
			b.bad = true
			refused = append(refused, b)
			continue
		}
		b.bill.CreatedAt = createdAt
		if err := d.Intake.await(ctx); err != nil {
			log.Info("drop folder file left for later: stopped while waiting for the intake rate", "err", err)
			return false
		}
		sctx, cancel := context.WithTimeout(ctx, d.SinkTimeout)
		err := d.Sink.SubmitBill(sctx, b.bill, "dropfolder "+name)
		cancel()
		var ve *settle.ValidationError
		switch {
		case err == nil:
			stored = append(stored, b)
			continue
		case errors.As(err, &ve):
			for _, f := range ve.Fields {
				problems = append(problems, b.lineError(f.Field, f.Reason))
			}
		case errors.Is(err, settle.ErrConflict):
			problems = append(problems, LineError{Line: b.first, BillNo: b.bill.BillNo, Field: "bill_no", Reason: fmt.Sprintf(
				"bill %s was received before with different content; a changed bill needs a new bill number (or cancel the old one first)", b.bill.BillNo)})
		default:
			log.Warn("drop folder bill NOT stored: temporary failure; the file stays and is tried again",
				"bill_no", b.bill.BillNo, "err", err, "retry_in", d.RetryInterval.String())
			return false
		}
		b.bad = true
		refused = append(refused, b)
	}
	if len(bills) == 0 && len(problems) == 0 {
		problems = append(problems, LineError{Reason: "the file holds no bills (only a header row?)"})
	}
	if len(problems) == 0 {
		to, err := d.move(name, "done")
		if err != nil {
			log.Error("drop folder file stored but cannot be moved to done/", "err", err)
			return false
		}
		log.Info("drop folder file taken", "bills", len(stored), "moved_to", to)
		return true
	}
	sort.SliceStable(problems, func(i, j int) bool { return problems[i].Line < problems[j].Line })
	report := errReport(name, createdAt, d.Now(), stored, refused, problems)
	to, err := d.moveWithReport(name, report)
	if err != nil {
		log.Error("drop folder file has problems but cannot be moved to error/", "err", err)
		return false
	}
	log.Warn("drop folder file refused in part or whole; see its .err file",
		"stored", len(stored), "refused", len(refused), "problems", len(problems), "moved_to", to)
	return true
}

// errReport is the .err file: what was stored, what was not, and every line's problem.
func errReport(name string, mtime, now time.Time, stored, refused []*csvBill, problems []LineError) []byte {
	var b bytes.Buffer
	fmt.Fprintf(&b, "settle-agent drop folder: %s was NOT taken whole (checked %s; file time %s)\n",
		strconv.Quote(name), now.In(chinaTime).Format(time.DateTime), mtime.Format(time.DateTime))
	if len(stored) > 0 {
		fmt.Fprintf(&b, "STORED (%d bill(s), already in the agent; do not send them again):", len(stored))
		for _, s := range stored {
			fmt.Fprintf(&b, " %s (%s)", s.bill.BillNo, lineSpan(s.lines))
		}
		b.WriteByte('\n')
	} else {
		b.WriteString("STORED: none\n")
	}
	if len(refused) > 0 {
		fmt.Fprintf(&b, "REFUSED (%d bill(s); fix them and drop a file with only these bills):", len(refused))
		for _, r := range refused {
			fmt.Fprintf(&b, " %s (%s)", r.bill.BillNo, lineSpan(r.lines))
		}
		b.WriteByte('\n')
	}
	b.WriteString("PROBLEMS:\n")
	for _, p := range problems {
		if p.BillNo != "" {
			fmt.Fprintf(&b, "line %d: bill %s: ", p.Line, p.BillNo)
			p.Line = 0
		}
		b.WriteString(p.String())
		b.WriteByte('\n')
	}
	return b.Bytes()
}

func lineSpan(lines []int) string {
	switch {
	case len(lines) == 0:
		return "no lines"
	case len(lines) == 1:
		return fmt.Sprintf("line %d", lines[0])
	}
	return fmt.Sprintf("lines %d-%d", lines[0], lines[len(lines)-1])
}

// move renames the file into done/ or error/ under a name not taken yet.
func (d *DropFolder) move(name, sub string) (string, error) {
	to := d.freeName(sub, name)
	if err := os.Rename(filepath.Join(d.Dir, name), to); err != nil {
		return "", err
	}
	return to, nil
}

// moveWithReport writes error/NAME.err (whole, via a temporary file) and then moves
// the file beside it, so a crash in between only means processing it again.
func (d *DropFolder) moveWithReport(name string, report []byte) (string, error) {
	to := d.freeName("error", name)
	tmp := to + ".err.tmp"
	if err := writePrivate(tmp, report); err != nil {
		return "", err
	}
	if err := os.Rename(tmp, to+".err"); err != nil {
		os.Remove(tmp)
		return "", err
	}
	if err := os.Rename(filepath.Join(d.Dir, name), to); err != nil {
		return "", err
	}
	return to, nil
}

// writePrivate writes a new file readable by the service account only (0600),
// replacing a leftover of an earlier crash rather than inheriting its mode.
func writePrivate(path string, data []byte) error {
	if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// freeName is sub/name, or sub/name-<time>[-n].ext when that is taken already.
func (d *DropFolder) freeName(sub, name string) string {
	to := filepath.Join(d.Dir, sub, name)
	if !exists(to) && !exists(to+".err") {
		return to
	}
	ext := filepath.Ext(name)
	base := strings.TrimSuffix(name, ext) + "-" + d.Now().In(chinaTime).Format("20060102T150405")
	for i := 0; ; i++ {
		n := base
		if i > 0 {
			n += fmt.Sprintf("-%d", i)
		}
		to = filepath.Join(d.Dir, sub, n+ext)
		if !exists(to) && !exists(to+".err") {
			return to
		}
	}
}

func exists(path string) bool {
	_, err := os.Lstat(path)
	return err == nil
}
