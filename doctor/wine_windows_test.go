package doctor

import "golang.org/x/sys/windows"

// underWine reports whether this Windows test binary runs under Wine (ntdll exports
// wine_get_version there only), for the few tests that must name a Wine-only skip.
func underWine() bool {
	ntdll := windows.NewLazySystemDLL("ntdll.dll")
	return ntdll.NewProc("wine_get_version").Find() == nil
}
