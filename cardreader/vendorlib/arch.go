package vendorlib

import (
	"debug/elf"
	"debug/pe"
	"fmt"
	"runtime"
)

// Arch returns the GOARCH a library file is built for ("386", "amd64", "arm64", ...),
// read from its PE (Windows DLL) or ELF (Linux .so) header, so that a 32-bit DLL in
// front of a 64-bit reader-host is named as such instead of failing to load with a
// vague message.
func Arch(path string) (string, error) {
	if f, err := pe.Open(path); err == nil {
		defer f.Close()
		switch f.Machine {
		case pe.IMAGE_FILE_MACHINE_I386:
			return "386", nil
		case pe.IMAGE_FILE_MACHINE_AMD64:
			return "amd64", nil
		case pe.IMAGE_FILE_MACHINE_ARM64:
			return "arm64", nil
		}
		return "", fmt.Errorf("%s: PE machine 0x%x", path, f.Machine)
	}
	f, err := elf.Open(path)
	if err != nil {
		return "", fmt.Errorf("%s is neither a PE (DLL) nor an ELF (.so) file: %w", path, err)
	}
	defer f.Close()
	switch f.Machine {
	case elf.EM_386:
		return "386", nil
	case elf.EM_X86_64:
		return "amd64", nil
	case elf.EM_AARCH64:
		return "arm64", nil
	case elf.EM_LOONGARCH:
		return "loong64", nil
	case elf.EM_MIPS:
		return "mips64le", nil
	}
	return "", fmt.Errorf("%s: ELF machine %s", path, f.Machine)
}

// bitnessHint says why a library may not load in this process, or "".
func bitnessHint(path string) string {
	a, err := Arch(path)
	if err != nil || a == runtime.GOARCH {
		return ""
	}
	if a == "386" && runtime.GOOS == "windows" {
		return fmt.Sprintf(" (the library is 32-bit x86 and this reader-host is %s: use the windows/386 build, host_exe)", runtime.GOARCH)
	}
	return fmt.Sprintf(" (the library is built for %s and this reader-host for %s)", a, runtime.GOARCH)
}
