//go:build windows

package config

import (
	"os"
	"path/filepath"
)

// programData is %ProgramData%, usually C:\ProgramData.
func programData() string {
	if d := os.Getenv("ProgramData"); d != "" {
		return d
	}
	return `C:\ProgramData`
}

// DefaultPath is where the configuration file lives when --config is not given.
func DefaultPath() string { return filepath.Join(programData(), "SettleAgent", "settle-agent.toml") }

// DefaultDataDir is the default store folder.
func DefaultDataDir() string { return filepath.Join(programData(), "SettleAgent", "data") }

// DefaultReaderPort is the usual serial device of a USB card reader.
func DefaultReaderPort() string { return "COM3" }

// PermissionWarnings returns nothing on Windows: ProgramData's ACLs, set by the
// installer, protect the configuration and the secret files.
func PermissionWarnings(path string) []string { return nil }
