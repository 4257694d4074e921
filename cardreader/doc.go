// Package cardreader talks to the social security card readers, ID card readers and
// e-voucher QR scanners at the cashier windows (serial-reader.md), in three ways:
//   - Reader: a serial port speaking the "frame" protocol of card readers or the "line"
//     protocol of QR scanners (tarm/serial), with simulators of both devices;
//   - LibReader: a vendor's library (interface heasec or sscard) run in a reader-host
//     child process (package libhost), polled while a window waits (Demand), one
//     report per insertion, resident ID cards through heasec's ReadSFZ;
//   - RemoteHub and Link: a reader-host on the cashier's PC delivering its reads to the
//     agent over HTTP(S) with the window's token.
//
// Framing is kept apart from the transport: parseFrame and the Decoder work on bytes,
// ParseBasic and ParseSFZ on the strings a card yields, and the readers join them to a
// port, a library or a link. Every reader's State (what the status page, the metrics
// and `doctor` show) is a State; Carrier names what a card read came from.
package cardreader

import "errors"

// Errors a caller decides on with errors.Is. Their text is what a cashier sees, so
// each says what to do next. Status bytes from the reader arrive as *StatusError.
var (
	// ErrBadBasic marks a basic-information string that is not the 11 fields it must be.
	ErrBadBasic = errors.New("the card data could not be understood: remove the card and insert it again; if it repeats, use the e-voucher QR code")

	// ErrBadIDNumber marks a social security number that fails the GB 11643 check.
	ErrBadIDNumber = errors.New("the social security number on the card fails its check digit: the card may be damaged; ask for the patient's ID card or e-voucher")

	// ErrBadRegion marks an issuing region code that is not 6 digits.
	ErrBadRegion = errors.New("the card's issuing region code is not 6 digits: the card cannot be settled; ask for the patient's e-voucher")

	// ErrBadDate marks an issue or expiry date that is not a real yyyyMMdd date, or an
	// issue date later than today or than the expiry date.
	ErrBadDate = errors.New("the card's issue or expiry date is not valid: the card cannot be settled; ask for the patient's e-voucher")

	// ErrCardExpired marks a card past its expiry date.
	ErrCardExpired = errors.New("the card has expired: the patient must renew it at the social security office, or pay with the e-voucher QR code")

	// ErrBadLine marks a scanned line that is not a printable ASCII e-voucher code.
	ErrBadLine = errors.New("the scanned code is not an e-voucher code: ask the patient to open the medical-insurance e-voucher and scan it again")

	// ErrLineTooLong marks a scanned line over 512 bytes.
	ErrLineTooLong = errors.New("the scanned code is longer than 512 characters: it is not an e-voucher code; scan the e-voucher QR code again")

	// ErrNoReply marks a reader that did not answer a command after every retry.
	ErrNoReply = errors.New("the card reader does not answer: check its cable or USB plug and its power; the agent keeps trying")

	// ErrNotConnected marks a request to a reader whose port is not open right now.
	ErrNotConnected = errors.New("the card reader is not connected: check its cable or USB plug; the agent reconnects by itself")

	// ErrPortGone marks a port that vanished while open (USB unplugged, device removed).
	ErrPortGone = errors.New("the reader's port vanished (unplugged or powered off)")

	// ErrNotFrameReader marks a command a line-protocol scanner cannot do.
	ErrNotFrameReader = errors.New("this device is a QR scanner (protocol line): it cannot be asked to read; scan the code instead")

	// ErrUnplugged marks a write to a simulated port that is unplugged.
	ErrUnplugged = errors.New("the simulated port is unplugged")

	// ErrPTYUnsupported marks a platform without pseudo-terminals (Windows: use com0com).
	ErrPTYUnsupported = errors.New("pseudo-terminal readers need Linux; on Windows pair two virtual COM ports with com0com and run the simulator on one")

	// ErrBadIDCard marks resident ID card data (heasec ReadSFZ) that is not the 9 fields
	// it must be, or whose birth date is not the ID number's.
	ErrBadIDCard = errors.New("the ID card data could not be understood: take the ID card off the reader and put it on again; if it repeats, type the ID number")

	// ErrIDCardExpired marks a resident ID card past its validity.
	ErrIDCardExpired = errors.New("the ID card has expired: ask for the social security card or the e-voucher QR code")

	// ErrReaderFault marks a read lost to the vendor's library hanging or crashing; the
	// agent restarts the library by itself.
	ErrReaderFault = errors.New("the card reader's driver stopped working and is being restarted: take the card out and insert it again in a few seconds")

	// ErrFrameTooLong marks a frame whose DATA exceeds the protocol's 1023 bytes.
	ErrFrameTooLong = errors.New("frame longer than 1024 bytes")
)
