package config

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// EnvFileName is the environment file beside the configuration that the systemd unit
// reads (EnvironmentFile=): the values of the env:NAME secrets, one NAME=value a line.
const EnvFileName = "environment"

// EnvFile is the environment file of the configuration at path: EnvFileName in its folder.
func EnvFile(path string) string { return filepath.Join(filepath.Dir(path), EnvFileName) }

// ReadEnvFile reads an environment file as systemd's EnvironmentFile= does: NAME=value
// lines, blank lines and lines starting with # or ; ignored, a value in single or
// double quotes unquoted, "export " before a name allowed.
func ReadEnvFile(path string) (map[string]string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	out := map[string]string{}
	sc := bufio.NewScanner(bytes.NewReader(b))
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || line[0] == '#' || line[0] == ';' {
			continue
		}
		name, value, ok := strings.Cut(strings.TrimPrefix(line, "export "), "=")
		name = strings.TrimSpace(name)
		if !ok || name == "" || strings.ContainsAny(name, " \t\"'") {
			return nil, fmt.Errorf("%s:%d: want NAME=value", path, n)
		}
		value = strings.TrimSpace(value)
		if len(value) >= 2 && (value[0] == '"' || value[0] == '\'') && value[len(value)-1] == value[0] {
			value = value[1 : len(value)-1]
		}
		out[name] = value
	}
	return out, sc.Err()
}
