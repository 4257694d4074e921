// Package ecvoucher decodes the medical-insurance e-voucher (医保电子凭证) QR code a
// patient shows into the ecToken 1101 needs (serial-reader.md): the `ec.query` call of
// the e-voucher service, made over HTTP or through the province's NationECCode library
// (in a reader-host child, package libhost). A Stage puts the decode between the
// readers and the window, so a scanned code is decoded at once and never queued; a
// Simulator serves a stand-in decode service for tests, the demo and dry runs.
package ecvoucher

import "errors"

// Errors a caller decides on with errors.Is. Their text is what the cashier sees.
var (
	// ErrExpired marks a code the service says is expired or already used.
	ErrExpired = errors.New("the e-voucher QR code has expired: ask the patient to refresh the code in the app and scan it again")

	// ErrOffline marks a decode service that cannot be reached or did not answer in time.
	ErrOffline = errors.New("the e-voucher cannot be read now (the decode service is unreachable): use the social security card or the ID card")

	// ErrRefused marks a code the service refused for another reason; the service's
	// message follows.
	ErrRefused = errors.New("the e-voucher service refused the code")

	// ErrBadAnswer marks an answer that is not the ec.query answer.
	ErrBadAnswer = errors.New("the e-voucher service's answer could not be understood: use the social security card or the ID card")

	// ErrNotConfigured marks a scanned code at an agent without a decode service.
	ErrNotConfigured = errors.New("e-voucher codes cannot be read at this agent (no decode service configured): use the social security card or the ID card")

	// ErrBusy marks a code dropped because too many decodes wait already.
	ErrBusy = errors.New("the e-voucher decode is busy: scan the code again")
)
