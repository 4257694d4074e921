package cardreader

import "testing"

// Issue 29 finding 7: subtle.ConstantTimeCompare on the raw tokens returned at once on
// a length difference, so the time of a refusal told the token's length. sameToken
// compares fixed-size digests: equal tokens match, and tokens of any other length or
// content do not.
func TestSameToken_ComparesDigests(t *testing.T) {
	want := "tok-w01-secret"
	for _, got := range []string{"", "t", "tok-w01-secre", "tok-w01-secret ", "tok-w01-secreT", want + want} {
		if sameToken(got, want) {
			t.Errorf("sameToken(%q, %q) = true; want false", got, want)
		}
	}
	if !sameToken(want, want) {
		t.Errorf("sameToken(%q, %q) = false; want true", want, want)
	}
}
