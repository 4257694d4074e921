package platform

import "fmt"

// SurpriseKind classifies what surprised the client in a successful answer.
type SurpriseKind string

// Kinds of Surprise.
const (
	SurpriseUnknownField SurpriseKind = "unknown_field" // a field this package does not know (ignored)
	SurpriseCoerced      SurpriseKind = "coerced"       // a value of another JSON type, reshaped or ignored
	SurpriseIdentity     SurpriseKind = "identity"      // amounts that do not add up
	SurpriseMissing      SurpriseKind = "missing"       // an optional field the agent uses is absent
	SurpriseMismatch     SurpriseKind = "mismatch"      // a value that contradicts the request
	SurpriseNegative     SurpriseKind = "negative"      // a negative amount where a positive one was expected
)

// Surprise is one thing in a successful answer the client did not expect. A surprise
// never makes an answer a failure: the platform's numbers are kept, the surprise is
// recorded (Response.Surprises) and shown to a person. Nothing is ever reversed because
// of one.
type Surprise struct {
	Kind   SurpriseKind `json:"kind"`
	Field  string       `json:"field"`
	Detail string       `json:"detail"`
}

// String is "kind field: detail".
func (s Surprise) String() string { return fmt.Sprintf("%s %s: %s", s.Kind, s.Field, s.Detail) }

// surprising is implemented by outputs that check themselves beyond Validate: what
// they return are surprises, never errors.
type surprising interface {
	Surprises(infno string) []Surprise
}

func sprintfField(format string, args ...any) string { return fmt.Sprintf(format, args...) }

// HasSurprise reports whether r carries a surprise of kind on field.
func (r *Response) HasSurprise(kind SurpriseKind, field string) bool {
	if r == nil {
		return false
	}
	for _, s := range r.Surprises {
		if s.Kind == kind && s.Field == field {
			return true
		}
	}
	return false
}
