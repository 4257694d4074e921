// Package wine tells a Windows program that runs under Wine from one that runs on
// Windows, for the few tests whose result is Wine's and not Windows' (docs/install.md
// lists them). Nothing but tests uses it: the agent behaves the same on both.
package wine

import "golang.org/x/sys/windows"

// Running reports whether this program runs under Wine: Wine's ntdll.dll exports
// wine_get_version, Windows' does not.
func Running() bool {
	ntdll := windows.NewLazySystemDLL("ntdll.dll")
	return ntdll.NewProc("wine_get_version").Find() == nil
}
