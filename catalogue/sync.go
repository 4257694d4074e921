package catalogue

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/settle-agent/settle-agent/platform"
)

// Platform is the part of platform.Client a sync uses.
type Platform interface {
	CatalogueFile(ctx context.Context, m platform.Meta, infno, ver string) (*platform.CatalogueFileOutput, error)
	HilistPage(ctx context.Context, m platform.Meta, q platform.CatalogueQuery) (*platform.Page[platform.HilistRow], error)
	ListMatchPage(ctx context.Context, m platform.Meta, q platform.CatalogueQuery) (*platform.Page[platform.ListMatchRow], error)
	MedinsMatchPage(ctx context.Context, m platform.Meta, q platform.CatalogueQuery) (*platform.Page[platform.MedinsMatchRow], error)
	LimitPricePage(ctx context.Context, m platform.Meta, q platform.CatalogueQuery) (*platform.Page[platform.LimitPriceRow], error)
	SelfpayPage(ctx context.Context, m platform.Meta, q platform.CatalogueQuery) (*platform.Page[platform.SelfpayRow], error)
}

// DownloadFunc fetches a file by 9102 (with fixmedins_code "plc" for a catalogue).
type DownloadFunc func(ctx context.Context, fileQuryNo, filename string) ([]byte, error)

// SyncOptions wire a Syncer.
type SyncOptions struct {
	Store    *Store
	Platform Platform
	Download DownloadFunc
	// Meta returns the envelope fields of the next call, with a fresh msgid.
	Meta func() (platform.Meta, error)
	// PageSize is the page_size of the paged queries (100).
	PageSize int
	// Batch is how many rows one write transaction upserts (2000).
	Batch int
	// Kinds and Queries restrict what a sync fetches (nil: all of Kinds, Queries).
	Kinds   []Kind
	Queries []Query
	// Now is the clock (time.Now); Logger gets one line per catalogue (nil: discard).
	Now    func() time.Time
	Logger *slog.Logger
	// OnProgress, when set, is called after every chunk, page and batch.
	OnProgress func(Progress)
}

// Progress is where a running sync is.
type Progress struct {
	Running   bool      `json:"running"`
	StartedAt time.Time `json:"started_at,omitempty"`
	Infno     string    `json:"infno,omitempty"`
	Title     string    `json:"title,omitempty"`
	Step      int       `json:"step"`  // 1-based: which catalogue
	Steps     int       `json:"steps"` // how many catalogues this sync fetches
	Chunk     int       `json:"chunk,omitempty"`
	Done      int       `json:"done"`  // rows of this catalogue fetched in this sync
	Total     int       `json:"total"` // rows announced so far (data_cnt, recordCounts); 0 unknown
}

// Result is what a sync did to one catalogue.
type Result struct {
	Infno  string `json:"infno"`
	Title  string `json:"title"`
	Rows   int    `json:"rows"`   // rows fetched
	Chunks int    `json:"chunks"` // files or pages
	Ver    string `json:"ver,omitempty"`
	Err    string `json:"error,omitempty"`
}

// Report is what one sync did.
type Report struct {
	StartedAt time.Time     `json:"started_at"`
	Took      time.Duration `json:"took_ns"`
	Results   []Result      `json:"results"`
}

// Syncer downloads what changed. One sync runs at a time (ErrBusy otherwise); a
// failed sync resumes where it stopped: each file's rows and each page are committed
// as they come, and the version or page advances only after them.
type Syncer struct {
	o   SyncOptions
	log *slog.Logger

	run sync.Mutex // held for a whole sync
	mu  sync.Mutex
	cur Progress
}

// NewSyncer checks o and returns a Syncer.
func NewSyncer(o SyncOptions) (*Syncer, error) {
	if o.Store == nil || o.Platform == nil || o.Download == nil || o.Meta == nil {
		return nil, errors.New("catalogue syncer needs Store, Platform, Download and Meta")
	}
	if o.PageSize <= 0 {
		o.PageSize = 100
	}
	if o.Batch <= 0 {
		o.Batch = 2000
	}
	if o.Kinds == nil {
		o.Kinds = Kinds
	}
	if o.Queries == nil {
		o.Queries = Queries
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	s := &Syncer{o: o, log: o.Logger}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	return s, nil
}

// Progress returns where the running sync is (Running false when none runs).
func (s *Syncer) Progress() Progress {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.cur
}

func (s *Syncer) report(fn func(*Progress)) {
	s.mu.Lock()
	fn(&s.cur)
	p := s.cur
	s.mu.Unlock()
	if s.o.OnProgress != nil {
		s.o.OnProgress(p)
	}
}

// maxChunks bounds the files one catalogue's sync fetches.
const maxChunks = 10000

// Sync fetches every catalogue's changes. A catalogue that fails does not stop the
// others (its error is in its Result); the error returned joins them. A cancelled ctx
// stops at once; what was committed stays.
func (s *Syncer) Sync(ctx context.Context) (Report, error) {
	return s.sync(ctx, s.o.Kinds, s.o.Queries)
}

// SyncQueries runs only the named paged queries (1317 before a mapping upload).
func (s *Syncer) SyncQueries(ctx context.Context, infnos ...string) (Report, error) {
	var qs []Query
	for _, q := range Queries {
		for _, n := range infnos {
			if q.Infno == n {
				qs = append(qs, q)
			}
		}
	}
	return s.sync(ctx, nil, qs)
}

func (s *Syncer) sync(ctx context.Context, kinds []Kind, queries []Query) (Report, error) {
	if !s.run.TryLock() {
		return Report{}, ErrBusy
	}
	defer s.run.Unlock()
	rep := Report{StartedAt: s.o.Now()}
	steps := len(kinds) + len(queries)
	s.report(func(p *Progress) { *p = Progress{Running: true, StartedAt: rep.StartedAt, Steps: steps} })
	defer s.report(func(p *Progress) { p.Running = false })
	var errs []error
	step := 0
	for _, k := range kinds {
		step++
		s.report(func(p *Progress) {
			p.Infno, p.Title, p.Step, p.Chunk, p.Done, p.Total = k.Infno, k.Title, step, 0, 0, 0
		})
		res, err := s.syncFile(ctx, k)
		errs = s.finish(ctx, &rep, res, err, errs)
		if ctx.Err() != nil {
			break
		}
	}
	for _, q := range queries {
		if ctx.Err() != nil {
			break
		}
		step++
		s.report(func(p *Progress) {
			p.Infno, p.Title, p.Step, p.Chunk, p.Done, p.Total = q.Infno, q.Title, step, 0, 0, 0
		})
		res, err := s.syncQuery(ctx, q)
		errs = s.finish(ctx, &rep, res, err, errs)
	}
	rep.Took = s.o.Now().Sub(rep.StartedAt)
	if err := ctx.Err(); err != nil {
		errs = append(errs, err)
	}
	return rep, errors.Join(errs...)
}

func (s *Syncer) finish(ctx context.Context, rep *Report, res Result, err error, errs []error) []error {
	now := s.o.Now()
	if err != nil {
		res.Err = err.Error()
		errs = append(errs, fmt.Errorf("%s %s: %w", res.Infno, res.Title, err))
		s.log.Warn("catalogue sync failed", "infno", res.Infno, "rows", res.Rows, "err", err)
	} else {
		s.log.Info("catalogue synced", "infno", res.Infno, "rows", res.Rows, "chunks", res.Chunks, "ver", res.Ver)
	}
	if uerr := s.o.Store.updateState(res.Infno, func(st *State) {
		st.TriedAt = now
		st.LastError = res.Err
		if err == nil {
			st.SyncedAt = now
		}
	}); uerr != nil {
		errs = append(errs, uerr)
	}
	rep.Results = append(rep.Results, res)
	return errs
}

// syncFile fetches one catalogue by file until an answer brings no rows.
func (s *Syncer) syncFile(ctx context.Context, k Kind) (Result, error) {
	res := Result{Infno: k.Infno, Title: k.Title}
	for res.Chunks < maxChunks {
		st, err := s.o.Store.State(k.Infno)
		if err != nil {
			return res, err
		}
		ver := st.Ver
		if ver == "" {
			ver = "0"
		}
		res.Ver = ver
		m, err := s.o.Meta()
		if err != nil {
			return res, err
		}
		out, err := s.o.Platform.CatalogueFile(ctx, m, k.Infno, ver)
		if err != nil {
			return res, err
		}
		if out.DataCnt == 0 {
			return res, nil
		}
		res.Chunks++
		s.report(func(p *Progress) { p.Chunk = res.Chunks; p.Total += int(out.DataCnt) })
		data, err := s.o.Download(ctx, string(out.FileQuryNo), string(out.Filename))
		if err != nil {
			return res, fmt.Errorf("download %s (file_qury_no %s): %w", out.Filename, out.FileQuryNo, err)
		}
		r, err := OpenFile(data)
		if err != nil {
			return res, fmt.Errorf("%s: %w", out.Filename, err)
		}
		batch := make([]Item, 0, s.o.Batch)
		flush := func() error {
			if len(batch) == 0 {
				return nil
			}
			if err := s.o.Store.putItems(k.Infno, batch); err != nil {
				return err
			}
			res.Rows += len(batch)
			n := len(batch)
			s.report(func(p *Progress) { p.Done += n })
			batch = batch[:0]
			return ctx.Err()
		}
		ts, err := ParseText(k, r, func(it Item) error {
			batch = append(batch, it)
			if len(batch) >= s.o.Batch {
				return flush()
			}
			return nil
		})
		if err == nil {
			err = flush()
		}
		if err != nil {
			return res, err
		}
		if ts.Rows == 0 {
			return res, fmt.Errorf("%s says %d rows but holds none: %w", out.Filename, out.DataCnt, ErrFile)
		}
		if compareVer(ts.MaxVer, ver) <= 0 {
			return res, fmt.Errorf("asked for rows after version %s, got %d rows of version %q at most: %w", ver, ts.Rows, ts.MaxVer, ErrStuck)
		}
		// The version advances only after every row of the chunk is in.
		if err := s.o.Store.updateState(k.Infno, func(st *State) { st.Ver = ts.MaxVer }); err != nil {
			return res, err
		}
		res.Ver = ts.MaxVer
	}
	return res, fmt.Errorf("more than %d chunks in one sync: %w", maxChunks, ErrStuck)
}

// firstSince is the updt_time the first sync of a query asks from.
const firstSince = "2000-01-01"

// syncQuery fetches the rows of a paged query updated since the last sync, page by
// page; a failed sync resumes at the page it stopped at.
func (s *Syncer) syncQuery(ctx context.Context, q Query) (Result, error) {
	res := Result{Infno: q.Infno, Title: q.Title}
	st, err := s.o.Store.State(q.Infno)
	if err != nil {
		return res, err
	}
	since := st.Since
	if since == "" {
		since = firstSince
	}
	page := st.NextPage
	if page <= 0 {
		page = 1
	}
	maxSeen := st.MaxSeen
	today := s.o.Now().In(beijing).Format(time.DateOnly)
	for res.Chunks < maxChunks {
		m, err := s.o.Meta()
		if err != nil {
			return res, err
		}
		query := platform.CatalogueQuery{QueryDate: today, UpdtTime: since, PageNum: page, PageSize: s.o.PageSize}
		rules, pages, total, err := s.fetchPage(ctx, q.Infno, m, query)
		if err != nil {
			return res, err
		}
		res.Chunks++
		for _, r := range rules {
			if d := dayText(r.UpdtTime); d > maxSeen {
				maxSeen = d
			}
		}
		last := len(rules) == 0 || page >= pages
		err = s.o.Store.putRules(q.Infno, rules, func(st *State) {
			st.Since, st.NextPage, st.MaxSeen = since, page+1, maxSeen
			if last {
				// Rows updated on the last day seen are asked for again next time:
				// updt_time is a day, and more may come later that day.
				st.NextPage = 0
				if maxSeen != "" {
					st.Since = maxSeen
				}
			}
		})
		if err != nil {
			return res, err
		}
		res.Rows += len(rules)
		n := len(rules)
		s.report(func(p *Progress) { p.Chunk = res.Chunks; p.Done += n; p.Total = total })
		if last {
			return res, nil
		}
		if err := ctx.Err(); err != nil {
			return res, err
		}
		page++
	}
	return res, fmt.Errorf("more than %d pages in one sync: %w", maxChunks, ErrStuck)
}

// fetchPage runs one page of a query and converts its rows.
func (s *Syncer) fetchPage(ctx context.Context, infno string, m platform.Meta, q platform.CatalogueQuery) (rules []Rule, pages, total int, err error) {
	p := s.o.Platform
	conv := func(n int, pg, rc platform.Count, f func(i int) Rule) {
		rules = make([]Rule, 0, n)
		for i := 0; i < n; i++ {
			if r := f(i); r.Rid != "" && r.Code != "" {
				rules = append(rules, r)
			}
		}
		pages, total = int(pg), int(rc)
	}
	switch infno {
	case platform.InfnoHilistQuery:
		out, e := p.HilistPage(ctx, m, q)
		if e != nil {
			return nil, 0, 0, e
		}
		conv(len(out.Data), out.Pages, out.RecordCounts, func(i int) Rule { return hilistRule(out.Data[i]) })
	case platform.InfnoLimitPriceQuery:
		out, e := p.LimitPricePage(ctx, m, q)
		if e != nil {
			return nil, 0, 0, e
		}
		conv(len(out.Data), out.Pages, out.RecordCounts, func(i int) Rule { return limitPriceRule(out.Data[i]) })
	case platform.InfnoSelfpayQuery:
		out, e := p.SelfpayPage(ctx, m, q)
		if e != nil {
			return nil, 0, 0, e
		}
		conv(len(out.Data), out.Pages, out.RecordCounts, func(i int) Rule { return selfpayRule(out.Data[i]) })
	case platform.InfnoListMatchQuery:
		out, e := p.ListMatchPage(ctx, m, q)
		if e != nil {
			return nil, 0, 0, e
		}
		conv(len(out.Data), out.Pages, out.RecordCounts, func(i int) Rule { return listMatchRule(out.Data[i]) })
	case platform.InfnoMedinsMatchQuery:
		out, e := p.MedinsMatchPage(ctx, m, q)
		if e != nil {
			return nil, 0, 0, e
		}
		conv(len(out.Data), out.Pages, out.RecordCounts, func(i int) Rule { return medinsMatchRule(out.Data[i]) })
	default:
		return nil, 0, 0, fmt.Errorf("query %s is not a catalogue query", infno)
	}
	return rules, pages, total, nil
}

// dayText is the yyyy-MM-dd of an updt_time ("" when it has none).
func dayText(s string) string {
	d, ok := ParseDay(s)
	if !ok || d == 0 {
		return ""
	}
	return d.String()
}
