package ecvoucher_test

import (
	"fmt"
	"testing"

	"github.com/settle-agent/settle-agent/internal/golden"
)

func checkGolden(t *testing.T, path, got string) {
	t.Helper()
	golden.Check(t, path, []byte(got))
}

func sprint(v any) string { return fmt.Sprintf("%+v", v) }
