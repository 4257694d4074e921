//go:build !windows

package doctor

// underWine is false off Windows: Wine runs Windows programs only.
func underWine() bool { return false }
