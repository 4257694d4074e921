package hisadapter

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"time"

	settle "github.com/settle-agent/settle-agent"
)

// takeStayFees processes a complete drop folder file of inpatient fee batches (see
// ParseStayCSV) through the Sink's StaySink side, as take does for bills: done/ when
// every batch is stored, error/ with FILE.err otherwise, left in place for a later try
// on a temporary failure. A batch already stored is answered as stored (batch_no
// idempotency), so a file processed again after a crash stores nothing twice.
func (d *DropFolder) takeStayFees(ctx context.Context, name string, raw []byte) bool {
	log := d.log.With("file", name)
	batches, problems, err := parseStayCSVBatches(bytes.NewReader(raw), d.Encoding)
	if err != nil {
		log.Error("drop folder file cannot be decoded", "err", err)
		return false
	}
	ss, ok := d.Sink.(StaySink)
	if !ok {
		problems = append(problems, LineError{Reason: "this agent takes no inpatient fee files (ipt_no column); export bills instead"})
		batches = nil
	} else if len(batches) > d.MaxFileBills {
		problems = append(problems, LineError{Reason: fmt.Sprintf("file holds %d fee batches, more than the %d a file may hold (dropfolder.max_file_bills); export smaller batches", len(batches), d.MaxFileBills)})
		batches = nil
	}
	var stored, refused []*csvBatch
	for _, b := range batches {
		if b.bad {
			refused = append(refused, b)
			continue
		}
		if err := d.Intake.await(ctx); err != nil {
			log.Info("drop folder file left for later: stopped while waiting for the intake rate", "err", err)
			return false
		}
		sctx, cancel := context.WithTimeout(ctx, d.SinkTimeout)
		err := ss.SubmitStayFees(sctx, b.batch, "dropfolder "+name)
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
			problems = append(problems, LineError{Line: b.first, BillNo: b.key(), Field: "batch_no", Reason: fmt.Sprintf(
				"fee batch %s of stay %s was received before with different content; changed fees need a new batch number", b.batch.BatchNo, b.batch.IptNo)})
		case errors.Is(err, settle.ErrNotFound):
			problems = append(problems, LineError{Line: b.first, BillNo: b.key(), Field: "ipt_no", Reason: fmt.Sprintf(
				"no stay with ipt_no %s was admitted; admit it first, then drop its fees again", b.batch.IptNo)})
		default:
			log.Warn("drop folder fee batch NOT stored: temporary failure; the file stays and is tried again",
				"ipt_no", b.batch.IptNo, "batch_no", b.batch.BatchNo, "err", err, "retry_in", d.RetryInterval.String())
			return false
		}
		b.bad = true
		refused = append(refused, b)
	}
	if len(batches) == 0 && len(problems) == 0 {
		problems = append(problems, LineError{Reason: "the file holds no fee lines (only a header row?)"})
	}
	if len(problems) == 0 {
		to, err := d.move(name, "done")
		if err != nil {
			log.Error("drop folder file stored but cannot be moved to done/", "err", err)
			return false
		}
		log.Info("drop folder inpatient fee file taken", "batches", len(stored), "moved_to", to)
		return true
	}
	sort.SliceStable(problems, func(i, j int) bool { return problems[i].Line < problems[j].Line })
	to, err := d.moveWithReport(name, stayErrReport(name, d.Now(), stored, refused, problems))
	if err != nil {
		log.Error("drop folder file has problems but cannot be moved to error/", "err", err)
		return false
	}
	log.Warn("drop folder inpatient fee file refused in part or whole; see its .err file",
		"stored", len(stored), "refused", len(refused), "problems", len(problems), "moved_to", to)
	return true
}

// stayErrReport is the .err file of an inpatient fee file.
func stayErrReport(name string, now time.Time, stored, refused []*csvBatch, problems []LineError) []byte {
	var b bytes.Buffer
	fmt.Fprintf(&b, "settle-agent drop folder: %s (inpatient fees) was NOT taken whole (checked %s)\n",
		strconv.Quote(name), now.In(chinaTime).Format(time.DateTime))
	if len(stored) > 0 {
		fmt.Fprintf(&b, "STORED (%d batch(es), already in the agent; do not send them again):", len(stored))
		for _, s := range stored {
			fmt.Fprintf(&b, " %s (%s)", s.key(), lineSpan(s.lines))
		}
		b.WriteByte('\n')
	} else {
		b.WriteString("STORED: none\n")
	}
	if len(refused) > 0 {
		fmt.Fprintf(&b, "REFUSED (%d batch(es); fix them and drop a file with only these batches):", len(refused))
		for _, r := range refused {
			fmt.Fprintf(&b, " %s (%s)", r.key(), lineSpan(r.lines))
		}
		b.WriteByte('\n')
	}
	b.WriteString("PROBLEMS:\n")
	for _, p := range problems {
		if p.BillNo != "" {
			fmt.Fprintf(&b, "line %d: batch %s: ", p.Line, p.BillNo)
			p.Line = 0
		}
		b.WriteString(p.String())
		b.WriteByte('\n')
	}
	return b.Bytes()
}
