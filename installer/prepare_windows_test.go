package installer

import "testing"

func TestSharedDir(t *testing.T) {
	t.Setenv("ProgramData", `C:\ProgramData`)
	for d, want := range map[string]bool{
		`C:\`: true, `D:\`: true, `C:\ProgramData`: true, `c:\programdata\`: true, `C:\Users`: true, `C:\Users\bob`: true,
		`C:\ProgramData\SettleAgent`: false, `C:\ProgramData\SettleAgent\data`: false, `D:\settle`: false, `C:\Users\bob\settle`: false,
	} {
		if got := sharedDir(d); got != want {
			t.Errorf("sharedDir(%q) = %v; want %v", d, got, want)
		}
	}
}
