//go:build !windows

// Package wine tells a Windows program that runs under Wine from one that runs on
// Windows, for the few tests whose result is Wine's and not Windows' (docs/install.md
// lists them). Nothing but tests uses it: the agent behaves the same on both.
package wine

// Running is false off Windows: Wine runs Windows programs only.
func Running() bool { return false }
