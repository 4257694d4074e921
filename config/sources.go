package config

import (
	"errors"
	"fmt"
	"reflect"
	"regexp"
	"sort"
	"strings"

	"github.com/pelletier/go-toml/v2"
	"github.com/pelletier/go-toml/v2/unstable"

	settle "github.com/settle-agent/settle-agent"
)

// position is where a key is written in the file (1-based).
type position struct{ line, column int }

// sources remembers where each setting came from, so that problems name the file's
// line or the environment variable.
type sources struct {
	name    string              // file name for messages
	nl      []int               // offsets of the document's newlines, to turn offsets into lines
	unknown int                 // keys the scan found that the configuration does not have
	pos     map[string]position // "platform.timeout", "window[1].reader.port" -> position
	env     map[string]string   // key -> environment variable that set it
}

// scan walks the document's syntax tree and records the position of every key. It
// also refuses money written as a number. A syntax error is left to the decoder.
func (s *sources) scan(data []byte, v *ValidationError) {
	var p unstable.Parser
	p.Reset(data)
	s.nl = s.nl[:0]
	for i, b := range data {
		if b == '\n' {
			s.nl = append(s.nl, i)
		}
	}
	arrays := map[string]int{} // array-table path -> elements seen
	prefix := ""
	for p.NextExpression() {
		e := p.Expression()
		switch e.Kind {
		case unstable.Table, unstable.ArrayTable:
			parts, first := keyParts(e)
			prefix = s.resolvePath(parts, arrays, e.Kind == unstable.ArrayTable)
			s.record(&p, prefix, first)
		case unstable.KeyValue:
			s.keyValue(&p, v, prefix, e, arrays)
		}
	}
}

func (s *sources) keyValue(p *unstable.Parser, v *ValidationError, prefix string, e *unstable.Node, arrays map[string]int) {
	parts, first := keyParts(e)
	full := join(prefix, strings.Join(parts, "."))
	s.record(p, full, first)
	val := e.Value()
	if reason, ok := textKeys[unindexed(full)]; ok && val.Kind != unstable.String {
		// Money as an integer would silently be read as fen; a duration as an
		// integer would fail without a line. Both must be strings.
		pos := s.pos[full]
		raw := ""
		if val.Raw.Length > 0 {
			raw = string(p.Raw(val.Raw))
		}
		if keyTypeOf[unindexed(full)] == reflect.TypeFor[Secret]() {
			raw = redacted
		}
		v.Problems = append(v.Problems, Problem{Field: full, Value: raw, Line: pos.line, Column: pos.column, Reason: reason})
	}
	if _, ok := textKeys[unindexed(full)]; ok && val.Kind == unstable.String {
		s.textProblem(p, v, full, val)
	} else if !ok {
		s.kindProblem(p, v, full, val)
	}
	switch val.Kind {
	case unstable.InlineTable:
		it := val.Children()
		for it.Next() {
			if it.Node().Kind == unstable.KeyValue {
				s.keyValue(p, v, full, it.Node(), arrays)
			}
		}
	case unstable.Array:
		it := val.Children()
		for i := 0; it.Next(); i++ {
			if n := it.Node(); n.Kind == unstable.InlineTable {
				elem := fmt.Sprintf("%s[%d]", full, i)
				s.record(p, elem, first)
				sub := n.Children()
				for sub.Next() {
					if sub.Node().Kind == unstable.KeyValue {
						s.keyValue(p, v, elem, sub.Node(), arrays)
					}
				}
			}
		}
	}
}

// kindProblem records a value whose TOML kind the key cannot take (a quoted
// number, a bare word for a string, a table for a list, ...). The decoder stops
// at the first such value; the scan names every one of them with its line.
func (s *sources) kindProblem(p *unstable.Parser, v *ValidationError, full string, val *unstable.Node) {
	t, known := keyTypeOf[unindexed(full)]
	if !known {
		return
	}
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	var want string
	switch t.Kind() {
	case reflect.String:
		if val.Kind != unstable.String {
			want = "a string in quotes"
		}
	case reflect.Int, reflect.Int64, reflect.Int32:
		if val.Kind != unstable.Integer {
			want = "a whole number, without quotes"
		}
	case reflect.Float64:
		if val.Kind != unstable.Float && val.Kind != unstable.Integer {
			want = "a number, without quotes"
		}
	case reflect.Bool:
		if val.Kind != unstable.Bool {
			want = "true or false, without quotes"
		}
	case reflect.Slice:
		if val.Kind != unstable.Array {
			want = "a list [ ... ]"
		}
	case reflect.Struct:
		if val.Kind != unstable.InlineTable {
			want = "a table { ... }"
		}
	}
	if want == "" {
		return
	}
	line, col := s.valuePos(p, full, val)
	v.Problems = append(v.Problems, Problem{Field: full, Line: line, Column: col,
		Reason: fmt.Sprintf("must be %s, not a TOML %s", want, tomlKind(val.Kind))})
}

// valuePos is the line and column of a value (where the decoder would point), or
// of its key when the value has no position.
func (s *sources) valuePos(p *unstable.Parser, full string, val *unstable.Node) (int, int) {
	if val.Raw.Length > 0 {
		sh := p.Shape(val.Raw)
		return sh.Start.Line, sh.Start.Column
	}
	pos := s.pos[full]
	return pos.line, pos.column
}

// textProblem records a duration or money string that does not parse.
func (s *sources) textProblem(p *unstable.Parser, v *ValidationError, full string, val *unstable.Node) {
	var err error
	switch keyTypeOf[unindexed(full)] {
	case reflect.TypeFor[Duration]():
		var d Duration
		err = d.UnmarshalText(val.Data)
	case reflect.TypeFor[settle.Money]():
		var m settle.Money
		if err = m.UnmarshalText(val.Data); err != nil {
			err = fmt.Errorf("%q is not an amount: %w; write money as a decimal string in yuan, e.g. \"2000.00\"", val.Data, err)
		}
	default:
		return
	}
	if err == nil {
		return
	}
	line, col := s.valuePos(p, full, val)
	v.Problems = append(v.Problems, Problem{Field: full, Line: line, Column: col, Reason: err.Error()})
}

// tomlKind names a value's kind as the TOML specification does.
func tomlKind(k unstable.Kind) string {
	switch k {
	case unstable.String:
		return "string"
	case unstable.Integer:
		return "integer"
	case unstable.Float:
		return "float"
	case unstable.Bool:
		return "boolean"
	case unstable.Array:
		return "array"
	case unstable.InlineTable:
		return "inline table"
	case unstable.DateTime, unstable.LocalDate, unstable.LocalDateTime, unstable.LocalTime:
		return "date-time"
	}
	return "value"
}

// keyParts returns the parts of a node's key and the node of its first part.
func keyParts(e *unstable.Node) ([]string, *unstable.Node) {
	var parts []string
	var first *unstable.Node
	it := e.Key()
	for it.Next() {
		if first == nil {
			first = it.Node()
		}
		parts = append(parts, string(it.Node().Data))
	}
	return parts, first
}

// resolvePath turns a table header into a path with array indexes: after
// [[window]] twice, [window.reader] is "window[1].reader".
func (s *sources) resolvePath(parts []string, arrays map[string]int, arrayTable bool) string {
	path := ""
	for i, part := range parts {
		path = join(path, part)
		if i == len(parts)-1 && arrayTable {
			n := arrays[path]
			arrays[path] = n + 1
			return fmt.Sprintf("%s[%d]", path, n)
		}
		if n, ok := arrays[path]; ok {
			path = fmt.Sprintf("%s[%d]", path, n-1)
		}
	}
	return path
}

func (s *sources) record(p *unstable.Parser, key string, first *unstable.Node) {
	if first == nil || key == "" {
		return
	}
	if _, ok := s.pos[key]; ok {
		return
	}
	off := int(first.Raw.Offset)
	n := sort.SearchInts(s.nl, off) // newlines before off
	col := off + 1
	if n > 0 {
		col = off - s.nl[n-1]
	}
	s.pos[key] = position{n + 1, col}
	if _, ok := keyTypeOf[unindexed(key)]; !ok {
		s.unknown++
	}
}

func join(prefix, key string) string {
	if prefix == "" {
		return key
	}
	return prefix + "." + key
}

// has reports whether the file wrote key (or anything under it).
func (s *sources) has(key string) bool {
	for k := range s.pos {
		if k == key || strings.HasPrefix(k, key+".") || strings.HasPrefix(k, key+"[") {
			return true
		}
	}
	return false
}

// where finds the position of key or, failing that, of its nearest parent.
func (s *sources) where(key string) position {
	for k := key; k != ""; {
		if p, ok := s.pos[k]; ok {
			return p
		}
		i := strings.LastIndexAny(k, ".[")
		if i < 0 {
			break
		}
		k = k[:i]
	}
	return position{}
}

// atLine returns the key recorded at line:column, if any.
func (s *sources) atLine(line, column int) string {
	best := ""
	for k, p := range s.pos {
		if p.line == line && p.column == column && (best == "" || len(k) > len(best)) {
			best = k
		}
	}
	return best
}

// decodeProblems turns the decoder's error into problems. fatal is false when the
// document decoded apart from unknown keys.
func (s *sources) decodeProblems(err error, v *ValidationError) (fatal bool) {
	var strict *toml.StrictMissingError
	if errors.As(err, &strict) {
		at := map[position]string{}
		for k, p := range s.pos {
			if len(k) > len(at[p]) {
				at[p] = k
			}
		}
		for i := range strict.Errors {
			de := &strict.Errors[i]
			line, col := de.Position()
			key := at[position{line, col}]
			if key == "" {
				key = strings.Join(de.Key(), ".")
			}
			v.Problems = append(v.Problems, Problem{Field: key, Line: line, Column: col,
				Reason: ReasonUnknownKey + suggest(key)})
		}
		return false
	}
	var de *toml.DecodeError
	if errors.As(err, &de) {
		line, col := de.Position()
		key := strings.Join(de.Key(), ".")
		if k := s.atLine(line, col); k != "" {
			key = k
		} else if k := s.keyOnLine(line, col, de.Key()); k != "" {
			key = k
		}
		for _, p := range v.Problems {
			if p.Line == line && !strings.HasPrefix(p.Reason, ReasonUnknownKey) {
				return true // the scan already named this value
			}
		}
		v.Problems = append(v.Problems, Problem{Field: key, Line: line, Column: col,
			Reason: plainReason(strings.TrimPrefix(de.Error(), "toml: "))})
		return true
	}
	if len(v.Problems) == 0 { // else scan already named the key (a number for a string)
		v.Problems = append(v.Problems, Problem{Reason: err.Error()})
	}
	return true
}

// keyOnLine returns the key written on line closest before column col: the key
// whose value the decoder refused. want, the decoder's own key, breaks ties.
func (s *sources) keyOnLine(line, col int, want []string) string {
	best, bestCol := "", 0
	for k, p := range s.pos {
		if p.line != line || p.column > col {
			continue
		}
		if p.column > bestCol || (p.column == bestCol && unindexed(k) == strings.Join(want, ".")) {
			best, bestCol = k, p.column
		}
	}
	return best
}

var typeMismatchRe = regexp.MustCompile(`^cannot decode TOML (\w+) into .* of type (\S+)$`)

// plainReason rewords the decoder's Go-type messages for hospital IT.
func plainReason(msg string) string {
	m := typeMismatchRe.FindStringSubmatch(msg)
	if m == nil {
		return msg
	}
	got, target := m[1], m[2]
	var want string
	switch {
	case strings.HasPrefix(target, "[]"):
		want = "a list [ ... ]"
	case target == "int" || target == "int64":
		want = "a whole number, without quotes"
	case target == "float64":
		want = "a number, without quotes"
	case target == "bool":
		want = "true or false, without quotes"
	case target == "string":
		want = "a string in quotes"
	default:
		want = "a table { ... }"
	}
	return fmt.Sprintf("must be %s, not a TOML %s", want, got)
}

// suggest proposes the known key closest to an unknown one.
func suggest(key string) string {
	sec, name := "", key
	if i := strings.LastIndex(key, "."); i >= 0 {
		sec, name = key[:i], key[i+1:]
	}
	generic := unindexed(sec)
	var cands []string
	for _, k := range knownKeys() {
		ksec, kname := "", k
		if i := strings.LastIndex(k, "."); i >= 0 {
			ksec, kname = k[:i], k[i+1:]
		}
		if ksec == generic && distance(name, kname) <= 2 {
			cands = append(cands, kname)
		}
	}
	if len(cands) == 0 {
		return ""
	}
	sort.Slice(cands, func(i, j int) bool { return distance(name, cands[i]) < distance(name, cands[j]) })
	return fmt.Sprintf(" (did you mean %s?)", join(sec, cands[0]))
}

// distance is the Levenshtein distance of two short keys.
func distance(a, b string) int {
	if len(a) > 64 || len(b) > 64 {
		return 99
	}
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

// unindexed strips array indexes: "window[0].reader" -> "window.reader".
func unindexed(key string) string {
	for {
		i := strings.Index(key, "[")
		if i < 0 {
			return key
		}
		j := strings.Index(key[i:], "]")
		if j < 0 {
			return key
		}
		key = key[:i] + key[i+j+1:]
	}
}

// unknownProblems lists the first max unknown keys the scan found, in file order, and
// how many more there are.
func (s *sources) unknownProblems(v *ValidationError, max int) {
	var keys []string
	for k := range s.pos {
		if _, ok := keyTypeOf[unindexed(k)]; !ok {
			keys = append(keys, k)
		}
	}
	sort.Slice(keys, func(i, j int) bool {
		a, b := s.pos[keys[i]], s.pos[keys[j]]
		if a.line != b.line {
			return a.line < b.line
		}
		return a.column < b.column
	})
	for i, k := range keys {
		if i == max {
			v.Problems = append(v.Problems, Problem{Reason: fmt.Sprintf("and %d more unknown keys: is this a settle-agent configuration? 'settle-agent config example' prints one", len(keys)-max)})
			break
		}
		p := s.pos[k]
		v.Problems = append(v.Problems, Problem{Field: k, Line: p.line, Column: p.column, Reason: ReasonUnknownKey + suggest(k)})
	}
}
