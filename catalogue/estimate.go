package catalogue

import (
	"time"

	settle "github.com/settle-agent/settle-agent"
	"github.com/settle-agent/settle-agent/hisadapter"
)

// Estimator splits a bill line by the catalogue for the offline estimate of an item
// the agent has never seen settled (就医地目录: the treatment area's catalogue).
type Estimator struct {
	Store  *Store
	Admdvs string // the treatment area
}

// SplitItem divides one line of a bill fee'd on day for a patient of insutype:
// own (丙, wholly own pay), overlimit (above the price cap) and preself (a 乙 item's
// share paid first). ok is false when the catalogue does not know the item's class.
func (e Estimator) SplitItem(it settle.Item, insutype string, day time.Time) (own, overlimit, preself settle.Money, ok bool) {
	if e.Store == nil || it.MedListCodg == "" {
		return 0, 0, 0, false
	}
	t, err := e.Store.Terms(it.MedListCodg, e.Admdvs, insutype, hisadapter.DateOf(day.In(beijing)))
	if err != nil {
		return 0, 0, 0, false
	}
	s, ok := t.Split(it.Amount, it.Qty, it.UnitPrice)
	return s.Fulamt, s.Overlmt, s.Preself, ok
}
