// Package settle holds the domain types every other package of settle-agent shares:
// the HIS bill and its validation, the insured person and the card that names them,
// the fund/patient split of a settlement, and money as exact integer fen.
//
// It depends on nothing else in the module; every other package depends on it.
package settle

import "errors"

// Errors shared by every layer. Packages wrap them with their own context; callers
// decide with errors.Is.
var (
	// ErrInvalid marks input that breaks a rule; the error says which fields.
	ErrInvalid = errors.New("invalid input")

	// ErrNotFound marks a bill, person or record that does not exist.
	ErrNotFound = errors.New("not found")

	// ErrConflict marks a request that contradicts an earlier one (same key, other body).
	ErrConflict = errors.New("conflict")

	// ErrOverflow marks arithmetic on money or quantities whose exact result does not
	// fit the type (a quantity × price beyond int64 fen); it is never wrapped around.
	ErrOverflow = errors.New("amount out of range")
)
