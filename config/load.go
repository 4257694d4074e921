package config

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/pelletier/go-toml/v2"
)

// maxUnknownKeys is how many unknown keys are listed before Parse gives up.
const maxUnknownKeys = 20

// MaxFileBytes bounds the configuration file; a real one is a few kilobytes.
const MaxFileBytes = 1 << 20

// Load reads the configuration at path: defaults, then the file decoded strictly, then
// SETTLE_AGENT_<SECTION>_<KEY> overrides from getenv (nil: none), then secrets, then
// Validate. Every problem is reported at once in a *ValidationError whose problems
// carry the file's line numbers.
func Load(path string, getenv func(string) string) (*Config, error) {
	data, err := readLimited(path)
	if err != nil {
		return nil, fmt.Errorf("read configuration: %w", err)
	}
	c, err := Parse(data, path, getenv)
	if c != nil {
		c.Path = path
	}
	return c, err
}

func readLimited(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, MaxFileBytes+1))
	if err != nil {
		return nil, err
	}
	if len(b) > MaxFileBytes {
		return nil, fmt.Errorf("%s is larger than %d bytes; is it the right file?", path, MaxFileBytes)
	}
	return b, nil
}

// Parse is Load without the file: name is used in error messages ("settle-agent.toml").
// Its only error is a *ValidationError, and with it Parse still returns the
// configuration as far as it was read, so that callers such as doctor can go on looking.
func Parse(data []byte, name string, getenv func(string) string) (*Config, error) {
	c := Default()
	c.Windows = nil
	c.src = sources{name: name, pos: map[string]position{}, env: map[string]string{}}
	v := &ValidationError{Name: name}

	// Positions and value kinds first: they also catch money written as a number.
	c.src.scan(data, v)
	if c.src.unknown > maxUnknownKeys {
		// Not a settle-agent configuration: list a few keys rather than thousands.
		c.src.unknownProblems(v, maxUnknownKeys)
		return c, v
	}
	dec := toml.NewDecoder(bytes.NewReader(data)).DisallowUnknownFields()
	if err := dec.Decode(c); err != nil {
		if fatal := c.src.decodeProblems(err, v); fatal {
			// The document did not decode, so its values are not known and checking
			// them would only add noise; its keys are, from the scan: name every
			// unknown one too, so one edit fixes them all.
			if c.src.unknown > 0 {
				c.src.unknownProblems(v, maxUnknownKeys)
			}
			v.sort()
			return c, v
		}
	}
	if len(c.Windows) == 0 && !c.src.has("window") {
		c.Windows = []Window{defaultWindow()}
	}
	c.fillPortDefaults()
	c.fillClusterDefaults()
	c.applyEnv(getenv, v)
	base := "."
	if name != "" {
		base = filepath.Dir(name)
	}
	c.resolveSecrets(base, getenv, v)
	c.validate(v)
	if len(v.Problems) > 0 {
		v.sort()
		return c, v
	}
	return c, nil
}

// fillPortDefaults completes every window's reader and scanner.
func (c *Config) fillPortDefaults() {
	for i := range c.Windows {
		if p := c.Windows[i].Reader; p != nil {
			p.fillDefaults("frame")
		}
		if p := c.Windows[i].Scanner; p != nil {
			p.fillDefaults("line")
		}
	}
}

// resolveSecrets turns every file:/env: reference into its value.
// A relative "file:" path is relative to the configuration file's folder (base).
func (c *Config) resolveSecrets(base string, getenv func(string) string, v *ValidationError) {
	for _, s := range c.secretFields() {
		if err := s.s.resolve(base, getenv); err != nil {
			c.problem(v, s.field, s.s.Ref(), strings.TrimPrefix(err.Error(), ErrSecret.Error()+": "))
			v.Problems[len(v.Problems)-1].secret = true
		}
	}
}

// namedSecret is one secret setting and its key.
type namedSecret struct {
	field string
	s     *Secret
}

// secretFields lists every secret of c with its TOML key.
func (c *Config) secretFields() []namedSecret {
	out := []namedSecret{
		{"platform.token", &c.Platform.Token},
		{"api.admin_token", &c.API.AdminToken},
		{"store.key", &c.Store.Key},
		{"platform.crypto.app_secret", &c.Platform.Crypto.AppSecret},
	}
	for i := range c.Store.OldKeys {
		out = append(out, namedSecret{fmt.Sprintf("store.old_keys[%d]", i), &c.Store.OldKeys[i]})
	}
	for i := range c.Windows {
		out = append(out, namedSecret{fmt.Sprintf("window[%d].token", i), &c.Windows[i].Token})
	}
	return out
}

// secretFile is a "file:" secret named by a configuration.
type secretFile struct{ field, path string }

// secretFiles reads the configuration at path leniently and lists its "file:" secrets.
func secretFiles(path string) []secretFile {
	data, err := readLimited(path)
	if err != nil {
		return nil
	}
	c := &Config{}
	if toml.Unmarshal(data, c) != nil {
		return nil
	}
	var out []secretFile
	for _, s := range c.secretFields() {
		if ref := s.s.Ref(); strings.HasPrefix(ref, "file:") {
			p := strings.TrimPrefix(ref, "file:")
			if !filepath.IsAbs(p) {
				p = filepath.Join(filepath.Dir(path), p)
			}
			out = append(out, secretFile{s.field, p})
		}
	}
	if p := c.Platform.Crypto.PrivateKeyFile; p != "" {
		if !filepath.IsAbs(p) {
			p = filepath.Join(filepath.Dir(path), p)
		}
		out = append(out, secretFile{"platform.crypto.private_key_file", p})
	}
	return out
}
