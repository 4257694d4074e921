package cardreader_test

import (
	"testing"

	"github.com/settle-agent/settle-agent/internal/standin"
)

// TestMain doubles as the reader-host child (CARDREADER_CHILD=1).
func TestMain(m *testing.M) { standin.Main(m, "CARDREADER_CHILD") }
