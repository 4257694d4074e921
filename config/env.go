package config

import (
	"encoding"
	"fmt"
	"reflect"
	"sort"
	"strconv"
	"strings"

	"github.com/settle-agent/settle-agent"
)

// EnvPrefix starts every environment override: SETTLE_AGENT_<SECTION>_<KEY>.
const EnvPrefix = "SETTLE_AGENT_"

// EnvVar is the environment variable that overrides key ("platform.base_url" ->
// "SETTLE_AGENT_PLATFORM_BASE_URL").
func EnvVar(key string) string {
	return EnvPrefix + strings.ToUpper(strings.ReplaceAll(key, ".", "_"))
}

// envField is one overridable setting.
type envField struct {
	key string        // "platform.base_url"
	v   reflect.Value // settable
}

// envFields lists every scalar key of the single-table sections of c.
func (c *Config) envFields() []envField {
	var out []envField
	root := reflect.ValueOf(c).Elem()
	rt := root.Type()
	for i := 0; i < rt.NumField(); i++ {
		sec := tomlName(rt.Field(i))
		sv := root.Field(i)
		if sv.Kind() == reflect.Pointer && sv.Type().Elem().Kind() == reflect.Struct && !sv.IsNil() {
			sv = sv.Elem() // an optional section ([cluster]) the file has
		}
		if sec == "" || sv.Kind() != reflect.Struct {
			continue
		}
		st := sv.Type()
		for j := 0; j < st.NumField(); j++ {
			name := tomlName(st.Field(j))
			if name == "" || !scalar(st.Field(j).Type) {
				continue
			}
			out = append(out, envField{sec + "." + name, sv.Field(j)})
		}
	}
	return out
}

var textUnmarshaler = reflect.TypeFor[encoding.TextUnmarshaler]()

func scalar(t reflect.Type) bool {
	if reflect.PointerTo(t).Implements(textUnmarshaler) {
		return true
	}
	switch t.Kind() {
	case reflect.String, reflect.Bool, reflect.Int, reflect.Int64, reflect.Float64:
		return true
	}
	return false
}

func tomlName(f reflect.StructField) string {
	if !f.IsExported() {
		return ""
	}
	name, _, _ := strings.Cut(f.Tag.Get("toml"), ",")
	if name == "-" {
		return ""
	}
	return name
}

// applyEnv applies SETTLE_AGENT_<SECTION>_<KEY> overrides; an empty variable is unset.
func (c *Config) applyEnv(getenv func(string) string, v *ValidationError) {
	if getenv == nil {
		return
	}
	for _, f := range c.envFields() {
		name := EnvVar(f.key)
		val := getenv(name)
		if val == "" {
			continue
		}
		c.src.env[f.key] = name
		if sp, ok := f.v.Addr().Interface().(*Secret); ok && !strings.HasPrefix(val, "file:") && !strings.HasPrefix(val, "env:") {
			// The value came from the environment: say so in Ref, as "env:NAME" would.
			*sp = Secret{ref: "env:" + name, value: val}
			continue
		}
		if err := setScalar(f.v, val); err != nil {
			shown := val
			if _, secret := f.v.Interface().(Secret); secret {
				shown = redacted
			}
			v.Problems = append(v.Problems, Problem{Field: f.key, Value: shown, Env: name, Reason: err.Error()})
		}
	}
}

// setScalar sets v from s; on error v keeps its value.
func setScalar(v reflect.Value, s string) error {
	old := reflect.New(v.Type()).Elem()
	old.Set(v)
	if err := setScalarValue(v, s); err != nil {
		v.Set(old)
		return err
	}
	return nil
}

func setScalarValue(v reflect.Value, s string) error {
	if u, ok := v.Addr().Interface().(encoding.TextUnmarshaler); ok {
		return u.UnmarshalText([]byte(s))
	}
	switch v.Kind() {
	case reflect.String:
		v.SetString(s)
	case reflect.Bool:
		b, err := strconv.ParseBool(s)
		if err != nil {
			return fmt.Errorf("must be true or false")
		}
		v.SetBool(b)
	case reflect.Int, reflect.Int64:
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil || v.OverflowInt(n) {
			return fmt.Errorf("must be a whole number")
		}
		v.SetInt(n)
	case reflect.Float64:
		f, err := strconv.ParseFloat(s, 64)
		if err != nil {
			return fmt.Errorf("must be a number")
		}
		v.SetFloat(f)
	default:
		return fmt.Errorf("cannot be set from the environment")
	}
	return nil
}

// textKeys maps every key that must be a TOML string (durations, money, secrets) to
// the reason given when it is not.
var textKeys = func() map[string]string {
	out := map[string]string{}
	for k, t := range keyTypeOf {
		switch t {
		case reflect.TypeFor[Duration]():
			out[k] = "write a duration as a string, e.g. \"3s\", \"500ms\" or \"168h\""
		case reflect.TypeFor[settle.Money]():
			out[k] = "write money as a decimal string in yuan, e.g. \"2000.00\""
		case reflect.TypeFor[Secret]():
			out[k] = "write a secret as a string: the value, \"file:PATH\" or \"env:NAME\""
		}
	}
	return out
}()

// knownKeys lists every key the configuration has, with array tables unindexed:
// "platform.timeout", "window.reader.port".
func knownKeys() []string { return knownKeyList }

var (
	keyTypeOf    = keyTypes()
	knownKeyList = func() []string {
		var out []string
		for k := range keyTypeOf {
			out = append(out, k)
		}
		sort.Strings(out)
		return out
	}()
)

// keyTypes maps every key, array tables unindexed, to its Go type.
func keyTypes() map[string]reflect.Type {
	out := map[string]reflect.Type{}
	var walk func(prefix string, t reflect.Type)
	walk = func(prefix string, t reflect.Type) {
		for i := 0; i < t.NumField(); i++ {
			name := tomlName(t.Field(i))
			if name == "" {
				continue
			}
			key := join(prefix, name)
			out[key] = t.Field(i).Type
			ft := t.Field(i).Type
			for ft.Kind() == reflect.Pointer || ft.Kind() == reflect.Slice {
				ft = ft.Elem()
			}
			if ft.Kind() == reflect.Struct && !scalar(ft) {
				walk(key, ft)
			}
		}
	}
	walk("", reflect.TypeFor[Config]())
	return out
}
