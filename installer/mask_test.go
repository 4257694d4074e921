package installer

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"testing"
)

// person is a LogValuer such as a domain type might be.
type person struct{ id, name string }

func (p person) LogValue() slog.Value {
	return slog.GroupValue(slog.String("certno", p.id), slog.String("psn_name", p.name))
}

func maskedText(t *testing.T, f func(*slog.Logger)) string {
	t.Helper()
	var buf bytes.Buffer
	h := slog.NewTextHandler(&buf, &slog.HandlerOptions{ReplaceAttr: dropTime})
	f(slog.New(MaskPII(h)))
	return buf.String()
}

func TestMaskPII(t *testing.T) {
	const id = "110101199003074512"
	const idMasked = "110101********4512"
	cases := []struct {
		name string
		log  func(*slog.Logger)
		want string
	}{
		{"Flat", func(l *slog.Logger) {
			l.Info("m", "certno", id, "psn_name", "张三", "bill", "B1", "amount", "12.50")
		}, `level=INFO msg=m certno=` + idMasked + ` psn_name=张* bill=B1 amount=12.50`},
		{"AllKeys", func(l *slog.Logger) {
			l.Info("m", "id_number", id, "ssn", "A12345678", "name", "王小明", "card_no", "K1234567890",
				"mdtrt_cert_no", id, "card_sn", "SN0001")
		}, `level=INFO msg=m id_number=` + idMasked + ` ssn=*******78 name=王** card_no=K12345*7890 mdtrt_cert_no=` + idMasked + ` card_sn=****01`},
		{"CaseInsensitive", func(l *slog.Logger) {
			l.Info("m", "CertNo", id)
		}, `level=INFO msg=m CertNo=` + idMasked},
		{"NotAString", func(l *slog.Logger) {
			l.Info("m", "ssn", 1234567890123)
		}, `level=INFO msg=m ssn=123456***0123`},
		{"Group", func(l *slog.Logger) {
			l.Info("m", slog.Group("req", "window", "W01", slog.Group("psn", "certno", id, "age", 30)))
		}, `level=INFO msg=m req.window=W01 req.psn.certno=` + idMasked + ` req.psn.age=30`},
		{"WithAttrs", func(l *slog.Logger) {
			l.With("card_sn", "SN0001", "window", "W02").Info("m")
		}, `level=INFO msg=m card_sn=****01 window=W02`},
		{"WithGroup", func(l *slog.Logger) {
			l.WithGroup("card").With("card_no", "K1234567890").Info("m", "psn_name", "李四")
		}, `level=INFO msg=m card.card_no=K12345*7890 card.psn_name=李*`},
		{"LogValuer", func(l *slog.Logger) {
			l.Info("m", "who", person{id, "赵六"})
		}, `level=INFO msg=m who.certno=` + idMasked + ` who.psn_name=赵*`},
		{"MessageAndOtherKeysUntouched", func(l *slog.Logger) {
			l.Info("name lookup", "names", "张三", "certno_count", 2)
		}, `level=INFO msg="name lookup" names=张三 certno_count=2`},
		{"Empty", func(l *slog.Logger) {
			l.Info("m", "certno", "")
		}, `level=INFO msg=m certno=""`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := strings.TrimSuffix(maskedText(t, c.log), "\n")
			if got != c.want {
				t.Errorf("got  %s\nwant %s", got, c.want)
			}
		})
	}
}

func TestMaskPII_Idempotent(t *testing.T) {
	h := MaskPII(slog.NewTextHandler(&bytes.Buffer{}, nil))
	if MaskPII(h) != h {
		t.Errorf("MaskPII(MaskPII(h)) wrapped twice")
	}
	if !h.Enabled(context.Background(), slog.LevelInfo) || h.Enabled(context.Background(), slog.LevelDebug) {
		t.Errorf("Enabled does not follow the wrapped handler")
	}
}

func FuzzMaskPII(f *testing.F) {
	f.Add("certno", "110101199003074512")
	f.Add("psn_name", "张三")
	f.Add("name", "\xff\xfe")
	f.Add("bill", "B1")
	f.Fuzz(func(t *testing.T, key, val string) {
		a := maskAttr(slog.String(key, val))
		if a.Key != key {
			t.Fatalf("key changed: %q -> %q", key, a.Key)
		}
		if _, pii := piiKeys[strings.ToLower(key)]; !pii {
			if a.Value.String() != val {
				t.Fatalf("non-PII %q changed: %q -> %q", key, val, a.Value.String())
			}
			return
		}
		if len(val) > 4 && strings.Contains(a.Value.String(), val) {
			t.Fatalf("PII %q=%q left visible: %q", key, val, a.Value.String())
		}
	})
}
