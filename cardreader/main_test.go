package cardreader_test

import (
	"context"
	"fmt"
	"os"
	"testing"

	"github.com/settle-agent/settle-agent/cardreader/libhost"
	"github.com/settle-agent/settle-agent/internal/standin"
)

// TestMain doubles as the reader-host child: re-executed with CARDREADER_CHILD=1 the
// test binary serves the library protocol on its stdin and stdout.
func TestMain(m *testing.M) {
	if os.Getenv("CARDREADER_CHILD") == "1" {
		out, err := libhost.ProtectStdout()
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(2)
		}
		if err := libhost.Serve(context.Background(), os.Stdin, out, nil); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	code := m.Run()
	standin.Cleanup()
	os.Exit(code)
}
