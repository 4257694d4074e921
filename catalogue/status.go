package catalogue

import (
	"errors"
	"fmt"
	"time"
)

// Status is the catalogue as the status page, doctor and `catalogue status` show it.
type Status struct {
	Catalogues []State   `json:"catalogues"`
	Progress   Progress  `json:"progress"`
	OldestSync time.Time `json:"oldest_sync,omitempty"` // the least recent complete sync (zero: one never synced)
	MaxAge     string    `json:"max_age"`
	Stale      bool      `json:"stale"`             // never synced, or older than MaxAge
	Warning    string    `json:"warning,omitempty"` // what to tell IT when Stale
}

// Status reports every catalogue's state and whether the catalogue is older than
// maxAge; p is the running sync's progress (the zero value when none runs).
func (s *Store) Status(now time.Time, maxAge time.Duration, p Progress) (Status, error) {
	sts, err := s.States()
	if err != nil {
		return Status{}, err
	}
	st := Status{Catalogues: sts, Progress: p, MaxAge: maxAge.String()}
	never := 0
	for i, c := range sts {
		if c.SyncedAt.IsZero() {
			never++
			continue
		}
		if i == 0 || st.OldestSync.IsZero() || c.SyncedAt.Before(st.OldestSync) {
			st.OldestSync = c.SyncedAt
		}
	}
	switch {
	case never == len(sts):
		st.Stale = true
		st.Warning = "医保目录从未同步：运行 settle-agent catalogue sync（管理接口 POST /v1/catalogue/sync）"
		st.OldestSync = time.Time{}
	case never > 0:
		st.Stale = true
		st.Warning = fmt.Sprintf("%d 个目录从未同步成功：运行 settle-agent catalogue sync，看 catalogue status 里的错误", never)
		st.OldestSync = time.Time{}
	case maxAge > 0 && now.Sub(st.OldestSync) > maxAge:
		st.Stale = true
		st.Warning = fmt.Sprintf("医保目录已 %s 未同步（超过 [catalogue] max_age %s）：检查每日同步（sync_at）和平台连接，或运行 settle-agent catalogue sync",
			Age(now.Sub(st.OldestSync)), maxAge)
	}
	return st, nil
}

// Age writes a duration the way IT reads an age: 3天4小时, 5小时, 12分钟.
func Age(d time.Duration) string {
	switch {
	case d < time.Minute:
		return "不到1分钟"
	case d < time.Hour:
		return fmt.Sprintf("%d分钟", int(d/time.Minute))
	case d < 48*time.Hour:
		return fmt.Sprintf("%d小时", int(d/time.Hour))
	}
	return fmt.Sprintf("%d天%d小时", int(d/(24*time.Hour)), int(d%(24*time.Hour)/time.Hour))
}

// ReadStatus reads the status of the catalogue file at path without changing it (for
// doctor and `catalogue status` while the agent is stopped). A file that does not
// exist is a catalogue never synced; ErrLocked means the agent holds it (ask its
// admin API, GET /v1/catalogue).
func ReadStatus(path string, now time.Time, maxAge time.Duration) (Status, error) {
	s, err := Open(path, &StoreOptions{ReadOnly: true, LockTimeout: 300 * time.Millisecond})
	if errors.Is(err, ErrNotSynced) {
		st := Status{MaxAge: maxAge.String(), Stale: true,
			Warning: "医保目录从未同步：运行 settle-agent catalogue sync（管理接口 POST /v1/catalogue/sync）"}
		for _, k := range Kinds {
			st.Catalogues = append(st.Catalogues, State{Infno: k.Infno, Title: k.Title, Kind: "file"})
		}
		for _, q := range Queries {
			st.Catalogues = append(st.Catalogues, State{Infno: q.Infno, Title: q.Title, Kind: "query"})
		}
		return st, nil
	}
	if err != nil {
		return Status{}, err
	}
	defer s.Close()
	return s.Status(now, maxAge, Progress{})
}
