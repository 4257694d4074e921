package store_test

import (
	"testing"

	"github.com/settle-agent/settle-agent/queue"
	"github.com/settle-agent/settle-agent/store"
	"github.com/settle-agent/settle-agent/store/storetest"
	"github.com/settle-agent/settle-agent/workflow"
)

// TestContract: the bbolt store keeps the contract of workflow.Store.
func TestContract(t *testing.T) {
	storetest.Run(t, func(t *testing.T, q queue.Options) workflow.Store {
		s, err := store.Open(t.TempDir(), &store.Options{Queue: q})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		return s
	})
}
