//go:build !windows

package agent_test

import "os"

// keyFileMode is the mode os.Stat reports for the generated store key: its owner's
// only.
const keyFileMode os.FileMode = 0o600
