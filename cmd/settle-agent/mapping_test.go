package main

import (
	"path/filepath"
	"regexp"
	"testing"
)

// `mapping check FILE` ends with one total line, in Chinese unless --lang en.
func TestMappingCheck_OneTotalLineInItsLanguage(t *testing.T) {
	file := filepath.Join("..", "..", "examples", "dryrun", "mapping.csv")
	for lang, want := range map[string]string{
		"":   `^目录对照文件可用：\d+ 行，\d+ 个 HIS 编码\n$`,
		"en": `^mapping file OK: \d+ row\(s\), \d+ HIS code\(s\)\n$`,
	} {
		args := []string{"mapping", "check", file}
		if lang != "" {
			args = append(args, "--lang", lang)
		}
		code, out, errOut := runCmd(t, nil, args...)
		if code != 0 || !regexp.MustCompile(want).MatchString(out) {
			t.Errorf("mapping check (lang %q): exit %d, got %q%s; want one line matching %s", lang, code, out, errOut, want)
		}
	}
}
