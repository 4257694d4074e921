package queue

import (
	"errors"
	"time"

	bolt "go.etcd.io/bbolt"
	berrors "go.etcd.io/bbolt/errors"
)

// Held reports whether another process (normally the running agent) holds the
// store file at path, waiting at most timeout for its lock. The file is opened
// read-only and closed again: nothing in it changes. A file that does not exist or
// cannot be read is not held.
func Held(path string, timeout time.Duration) bool {
	db, err := bolt.Open(path, 0o600, &bolt.Options{ReadOnly: true, Timeout: timeout})
	if err != nil {
		return errors.Is(err, berrors.ErrTimeout)
	}
	db.Close()
	return false
}
