package cardreader

import (
	"fmt"
	"strings"
	"testing"

	"github.com/settle-agent/settle-agent/ecvoucher"
)

func TestMessage(t *testing.T) {
	for _, m := range zhMessages {
		err := fmt.Errorf("context: %w", m.err)
		if got := Message(err, "zh"); !strings.HasPrefix(got, m.zh) {
			t.Errorf("Message(%v, zh) = %q; want %q", m.err, got, m.zh)
		}
		if got := Message(err, "en"); got != err.Error() {
			t.Errorf("Message(%v, en) = %q; want the English text", m.err, got)
		}
		if back := errorOfCode(ErrorCode(err)); back != m.err {
			t.Errorf("code %q of %v names %v", ErrorCode(err), m.err, back)
		}
	}
	se := &StatusError{Status: StatusPSAM}
	if got := Message(se, "zh"); !strings.Contains(got, "PSAM") {
		t.Errorf("Message(PSAM status) = %q", got)
	}
	if back, ok := errorOfCode(ErrorCode(se)).(*StatusError); !ok || back.Status != StatusPSAM {
		t.Errorf("status code round trip = %v", back)
	}
	remote := &ErrRemote{Msg: "the card has expired", Err: errorOfCode("card_expired")}
	if got := Message(remote, "zh"); !strings.HasPrefix(got, "社保卡已过期") {
		t.Errorf("Message(remote expired) = %q", got)
	}
	if got := Message(fmt.Errorf("x: %w", ecvoucher.ErrRefused), "zh"); !strings.Contains(got, "拒绝") {
		t.Errorf("Message(refused) = %q", got)
	}
}
