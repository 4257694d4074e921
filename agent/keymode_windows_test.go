package agent_test

import "os"

// keyFileMode is the mode os.Stat reports for the generated store key. Windows has
// no POSIX modes (a writable file reads 0666); the key is protected by the data
// folder's access list, which the installer sets (installer/prepare_windows.go) and
// the key file inherits.
const keyFileMode os.FileMode = 0o666
