// Package platform speaks the provincial medical-insurance platform's protocol (the NHSA
// interface spec for designated medical institutions, the subset in
// docs/platform.md): the request and response envelopes, the input and output objects
// of each transaction with the spec's field names, exact wire numbers (Amount, Cnt,
// Pric, Ratio), gateway signing, the msgid scheme, and a resty-based Client whose every
// error falls into one outcome class (ErrBusiness, ErrOutcomeUnknown, ErrNotSent,
// ErrUnauthorized, with ErrBadResponse a kind of unknown outcome).
//
// The simulator in platform/sim imports these types, so both sides of the wire agree.
package platform
