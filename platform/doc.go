// Package platform speaks the provincial medical-insurance platform's protocol (the NHSA
// interface spec for designated medical institutions, the subset in
// docs/platform.md): the request and response envelopes, the input and output objects
// of each transaction with the spec's field names, exact wire numbers (Amount, Cnt,
// Pric, Ratio), gateway signing, the msgid scheme, and a resty-based Client whose every
// error falls into one outcome class (ErrBusiness, ErrOutcomeUnknown, ErrNotSent,
// ErrUnauthorized, with ErrBadResponse a kind of unknown outcome), business refusals
// refined by phrase (ErrOriginalNotFound, ErrAlreadySettled, ErrSessionExpired,
// ErrNothingToCancel). Answers are decoded liberally, as real platforms write them;
// what surprised the client is a Surprise on the Response, never a failure. The 3202
// file exchange (9101, 3202, 9102 and the zip files) is Client.DetailReconByFile.
//
// The simulator in platform/sim imports these types, so both sides of the wire agree.
package platform
