package installer

import (
	"context"
	"log/slog"
	"strings"

	settle "github.com/settle-agent/settle-agent"
)

// piiKeys are the attribute keys whose values are personal data. Names are
// masked with settle.MaskName, everything else with settle.MaskID.
var piiKeys = map[string]func(string) string{
	"certno":        settle.MaskID,
	"id_number":     settle.MaskID,
	"ssn":           settle.MaskID,
	"card_no":       settle.MaskID,
	"mdtrt_cert_no": settle.MaskID,
	"card_sn":       settle.MaskID,
	"psn_name":      settle.MaskName,
	"name":          settle.MaskName,
}

// MaskPII wraps h so that the values of attributes keyed certno, id_number, ssn,
// psn_name, name, card_no, mdtrt_cert_no or card_sn (any letter case) are masked
// with settle.MaskID / settle.MaskName before h sees them, wherever they are:
// on the record, in logger.With attributes, inside groups, or produced by a
// slog.LogValuer. Other attributes pass unchanged.
func MaskPII(h slog.Handler) slog.Handler {
	if m, ok := h.(*maskHandler); ok {
		return m
	}
	return &maskHandler{h: h}
}

type maskHandler struct{ h slog.Handler }

func (m *maskHandler) Enabled(ctx context.Context, l slog.Level) bool { return m.h.Enabled(ctx, l) }

func (m *maskHandler) Handle(ctx context.Context, r slog.Record) error {
	out := slog.NewRecord(r.Time, r.Level, r.Message, r.PC)
	r.Attrs(func(a slog.Attr) bool {
		out.AddAttrs(maskAttr(a))
		return true
	})
	return m.h.Handle(ctx, out)
}

func (m *maskHandler) WithAttrs(as []slog.Attr) slog.Handler {
	masked := make([]slog.Attr, len(as))
	for i, a := range as {
		masked[i] = maskAttr(a)
	}
	return &maskHandler{h: m.h.WithAttrs(masked)}
}

func (m *maskHandler) WithGroup(name string) slog.Handler {
	return &maskHandler{h: m.h.WithGroup(name)}
}

// maskAttr masks a if its key names personal data, and recurses into groups.
func maskAttr(a slog.Attr) slog.Attr {
	a.Value = a.Value.Resolve()
	if a.Value.Kind() == slog.KindGroup {
		g := a.Value.Group()
		masked := make([]slog.Attr, len(g))
		for i, x := range g {
			masked[i] = maskAttr(x)
		}
		return slog.Attr{Key: a.Key, Value: slog.GroupValue(masked...)}
	}
	if mask, ok := piiKeys[strings.ToLower(a.Key)]; ok {
		// Value.String formats any kind, so a number or a Stringer is masked too.
		return slog.String(a.Key, mask(a.Value.String()))
	}
	return a
}
