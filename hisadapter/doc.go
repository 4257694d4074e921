// Package hisadapter takes bills from a hospital's HIS the ways HIS products send them
// (his-input.md) and hands every one, in the same settle.Bill shape, to one Sink:
//
//   - HL7 v2 DFT^P03 over MLLP (MLLPServer, ParseMessage, DFTToBill, BuildACK),
//   - CSV files in a watched drop folder (DropFolder, ParseCSV),
//
// and it owns the item code mapping (目录对照) that turns HIS item codes into the
// national and hospital codes the platform wants (ParseMapping, MappingFile).
//
// No input is acknowledged before the Sink says the bill is durably stored.
package hisadapter

import (
	"context"
	"errors"

	settle "github.com/settle-agent/settle-agent"
)

// Sink is where every input delivers its bills; the agent implements it.
//
// SubmitBill returns nil once the bill is durably stored and its workflow started.
// An error that errors.As to *settle.ValidationError lists field problems (JSON paths
// such as "items[2].his_code" for unmapped codes); errors.Is(err, settle.ErrConflict)
// means the same bill_no was stored before with a different body. Any other error is a
// temporary failure: the input asks its sender to try again later. The same bill_no
// with the same body must answer what it answered the first time (idempotency), which
// is what makes re-delivery after a crash safe.
type Sink interface {
	SubmitBill(ctx context.Context, b settle.Bill, source string) error
}

// Errors of this package. Callers decide with errors.Is.
var (
	// ErrMalformed marks an HL7 message or MLLP stream that cannot be parsed.
	ErrMalformed = errors.New("malformed HL7 message")

	// ErrUnsupported marks an HL7 message type other than DFT^P03 or an unknown
	// character set (MSH-18); it is answered with MSA|AR.
	ErrUnsupported = errors.New("unsupported HL7 message")

	// ErrTooLarge marks an MLLP message over MLLPServer.MaxMessageBytes or a drop
	// folder file over DropFolder.MaxFileBytes.
	ErrTooLarge = errors.New("too large")

	// ErrMapping marks an item code mapping file with problems; the error lists them.
	ErrMapping = errors.New("bad item code mapping")

	// ErrEncoding marks an unknown text encoding name.
	ErrEncoding = errors.New("unknown text encoding")
)
