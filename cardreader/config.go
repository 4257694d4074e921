package cardreader

import (
	"fmt"
	"strings"
	"time"

	"github.com/settle-agent/settle-agent"
)

// Protocols a reader may speak.
const (
	ProtocolFrame = "frame" // card readers
	ProtocolLine  = "line"  // QR scanners
)

// Defaults for the zero values of Config.
const (
	DefaultBaud        = 9600
	DefaultDataBits    = 8
	DefaultParity      = "N"
	DefaultStopBits    = 1
	DefaultProtocol    = ProtocolFrame
	DefaultReadTimeout = 500 * time.Millisecond
)

// Bounds of Config.ReadTimeout.
const (
	minReadTimeout = 10 * time.Millisecond
	maxReadTimeout = time.Minute
)

// pollTimeout is how long one read of the port waits for a byte before the reader
// looks at its state (shutdown, a quiet line in mid-frame, a vanished port).
const pollTimeout = 200 * time.Millisecond

// portPoll is the read timeout the port is opened with: pollTimeout, or the reply
// timeout when that is shorter (never under the 100 ms a POSIX tty can wait).
func (c Config) portPoll() time.Duration {
	return max(min(c.ReadTimeout, pollTimeout), 100*time.Millisecond)
}

// Config is one reader at one window (the TOML `reader = {...}` of a window).
type Config struct {
	// Window is the cashier window the reader sits at ("W01").
	Window string `json:"window" toml:"window"`
	// Port is the device: "COM3" on Windows, "/dev/ttyUSB0" or "/dev/ttyACM0" on Linux.
	Port string `json:"port" toml:"port"`
	// Baud is the line speed; 0 means 9600.
	Baud int `json:"baud" toml:"baud"`
	// DataBits is 5 to 8; 0 means 8.
	DataBits int `json:"data_bits" toml:"data_bits"`
	// Parity is "N" (none), "O" (odd), "E" (even), "M" (mark) or "S" (space); "" means
	// none. Mark and space open on Windows only (tarm/serial refuses them on Linux).
	Parity string `json:"parity" toml:"parity"`
	// StopBits is 1 or 2; 0 means 1.
	StopBits int `json:"stop_bits" toml:"stop_bits"`
	// Protocol is "frame" (card reader) or "line" (QR scanner); "" means frame.
	Protocol string `json:"protocol" toml:"protocol"`
	// ReadTimeout is how long a command (PING, READ_BASIC) waits for its reply before it
	// is sent again, up to 3 times; 0 means the protocol's 500 ms.
	ReadTimeout time.Duration `json:"read_timeout" toml:"read_timeout"`
}

// WithDefaults returns c with every zero value replaced by its default.
func (c Config) WithDefaults() Config {
	if c.Baud == 0 {
		c.Baud = DefaultBaud
	}
	if c.DataBits == 0 {
		c.DataBits = DefaultDataBits
	}
	c.Parity = strings.ToUpper(c.Parity)
	if c.Parity == "" {
		c.Parity = DefaultParity
	}
	if c.StopBits == 0 {
		c.StopBits = DefaultStopBits
	}
	c.Protocol = strings.ToLower(c.Protocol)
	if c.Protocol == "" {
		c.Protocol = DefaultProtocol
	}
	if c.ReadTimeout == 0 {
		c.ReadTimeout = DefaultReadTimeout
	}
	return c
}

// Validate checks c (after WithDefaults) and names every bad field at once.
func (c Config) Validate() error {
	v := &settle.ValidationError{What: "reader " + c.Window}
	if strings.TrimSpace(c.Window) == "" {
		v.Add("window", "is required")
	}
	if strings.TrimSpace(c.Port) == "" {
		v.Add("port", "is required (COM3 on Windows, /dev/ttyUSB0 or /dev/ttyACM0 on Linux)")
	}
	if !StandardBaud(c.Baud) {
		v.Add("baud", "%d is not a standard rate (1200, 2400, 4800, 9600, 19200, 38400, 57600, 115200, ...)", c.Baud)
	}
	if c.DataBits < 5 || c.DataBits > 8 {
		v.Add("data_bits", "must be 5 to 8, got %d", c.DataBits)
	}
	switch c.Parity {
	case "N", "O", "E", "M", "S":
	default:
		v.Add("parity", "%q is not N, O, E, M or S", c.Parity)
	}
	if c.StopBits != 1 && c.StopBits != 2 {
		v.Add("stop_bits", "must be 1 or 2, got %d", c.StopBits)
	}
	switch c.Protocol {
	case ProtocolFrame, ProtocolLine:
	default:
		v.Add("protocol", "%q is not frame (card reader) or line (QR scanner)", c.Protocol)
	}
	if c.ReadTimeout < minReadTimeout || c.ReadTimeout > maxReadTimeout {
		v.Add("read_timeout", "must be between 10ms and 1m, got %s", c.ReadTimeout)
	}
	return v.Err()
}

// StandardBaud reports whether b is one of the standard rates (those tarm/serial can set on Linux; Windows
// takes any).
func StandardBaud(b int) bool {
	switch b {
	case 50, 75, 110, 134, 150, 200, 300, 600, 1200, 1800, 2400, 4800, 9600, 19200, 38400,
		57600, 115200, 230400, 460800, 500000, 576000, 921600, 1000000, 1152000, 1500000,
		2000000, 2500000, 3000000, 3500000, 4000000:
		return true
	}
	return false
}

func (c Config) String() string {
	return fmt.Sprintf("%s %s %d %d%s%d %s", c.Window, c.Port, c.Baud, c.DataBits, c.Parity, c.StopBits, c.Protocol)
}
