package cardreader

import (
	"errors"
	"fmt"
	"io"
	"io/fs"

	"github.com/tarm/serial"
)

// OpenSerial opens cfg's port with github.com/tarm/serial (Windows COM ports, Linux
// ttys and pseudo-terminals alike) with cfg's line settings, raw (no echo, no line
// editing), and a read timeout of at most 200 ms so that a read of a quiet port
// returns and the Reader can notice shutdown or a vanished device. It is the default
// Options.Open.
func OpenSerial(cfg Config) (io.ReadWriteCloser, error) {
	cfg = cfg.WithDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	p, err := serial.OpenPort(&serial.Config{
		Name:        cfg.Port,
		Baud:        cfg.Baud,
		Size:        byte(cfg.DataBits),
		Parity:      serial.Parity(cfg.Parity[0]),
		StopBits:    serial.StopBits(cfg.StopBits),
		ReadTimeout: cfg.portPoll(),
	})
	var pathErr *fs.PathError
	if err != nil && !errors.As(err, &pathErr) { // a PathError names the port already
		return nil, fmt.Errorf("open serial port %s: %w", cfg.Port, err)
	}
	if err != nil {
		return nil, err
	}
	return p, nil
}
