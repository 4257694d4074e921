package cardreader

import (
	"errors"
	"io/fs"
	"os"
)

// portGone reports whether the device node behind path has disappeared, as
// /dev/ttyUSB0 does when the USB reader is unplugged (and a simulator's link when
// its pseudo-terminal is unplugged).
func portGone(path string) bool {
	_, err := os.Stat(path)
	return errors.Is(err, fs.ErrNotExist)
}
