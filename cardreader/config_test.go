package cardreader

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/settle-agent/settle-agent"
)

func TestConfig_WithDefaults(t *testing.T) {
	got := Config{Window: "W01", Port: "COM3"}.WithDefaults()
	want := Config{Window: "W01", Port: "COM3", Baud: 9600, DataBits: 8, Parity: "N", StopBits: 1, Protocol: "frame", ReadTimeout: 500 * time.Millisecond}
	if got != want {
		t.Errorf("got %+v; want %+v", got, want)
	}
	if err := got.Validate(); err != nil {
		t.Errorf("defaults do not validate: %v", err)
	}
}

func TestConfig_Validate(t *testing.T) {
	bad := Config{Baud: 12345, DataBits: 9, Parity: "X", StopBits: 3, Protocol: "hid", ReadTimeout: 2 * time.Minute}
	err := bad.Validate()
	if !errors.Is(err, settle.ErrInvalid) {
		t.Fatalf("got %v; want a ValidationError", err)
	}
	var v *settle.ValidationError
	errors.As(err, &v)
	var fields []string
	for _, f := range v.Fields {
		fields = append(fields, f.Field)
	}
	if got, want := strings.Join(fields, ","), "window,port,baud,data_bits,parity,stop_bits,protocol,read_timeout"; got != want {
		t.Errorf("got bad fields %s; want %s", got, want)
	}
	if _, err := New(bad, nil); !errors.Is(err, settle.ErrInvalid) {
		t.Errorf("New: got %v; want ErrInvalid", err)
	}
}

func TestConfig_portPoll(t *testing.T) {
	cases := []struct{ read, want time.Duration }{
		{500 * time.Millisecond, 200 * time.Millisecond},
		{150 * time.Millisecond, 150 * time.Millisecond},
		{10 * time.Millisecond, 100 * time.Millisecond},
	}
	for _, c := range cases {
		if got := (Config{ReadTimeout: c.read}).portPoll(); got != c.want {
			t.Errorf("read timeout %s: got poll %s; want %s", c.read, got, c.want)
		}
	}
}
