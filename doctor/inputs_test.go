package doctor

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"
)

func TestDoctor_Mapping(t *testing.T) {
	t.Parallel()
	header := "his_code,med_list_codg,medins_list_codg,name,valid_from,valid_to\n"
	for _, tt := range []struct {
		name, content, status string
		contains              []string
	}{
		{"OK", header + "ZL0001,001102000010000-110200001,ZL0001,普通门诊诊查费,2020-01-01,\n", CheckOK, []string{"1 HIS code in 1 row"}},
		{"HeaderOnly", header, CheckFail, []string{"holds no codes"}},
		{"Broken", "not,a,mapping\n", CheckFail, []string{"mapping.csv"}},
		{"Missing", "", CheckFail, []string{"no such file"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s := newDoctorSetup(t, nil)
			p := filepath.Join(t.TempDir(), "mapping.csv")
			if tt.name != "Missing" {
				if err := os.WriteFile(p, []byte(tt.content), 0o600); err != nil {
					t.Fatal(err)
				}
			}
			s.Tail += fmt.Sprintf("\n[mapping]\nfile = %q\n", filepath.ToSlash(p))
			c := wantCheck(t, s.Run(s.Options()), "item mapping", tt.status, tt.contains...)
			if tt.status != CheckOK && c.Fix == "" {
				t.Errorf("item mapping %s: got no fix; want what to do", tt.status)
			}
		})
	}
	t.Run("None", func(t *testing.T) {
		t.Parallel()
		s := newDoctorSetup(t, nil)
		wantCheck(t, s.Run(s.Options()), "item mapping", CheckWarn, "sent to the platform unchanged")
	})
}

func TestDoctor_DropFolder(t *testing.T) {
	t.Parallel()
	t.Run("Off", func(t *testing.T) {
		t.Parallel()
		s := newDoctorSetup(t, nil)
		wantCheck(t, s.Run(s.Options()), "drop folder", CheckOK, "off")
	})
	t.Run("Missing", func(t *testing.T) {
		t.Parallel()
		s := newDoctorSetup(t, nil)
		dir := filepath.Join(t.TempDir(), "drop")
		s.Tail += fmt.Sprintf("\n[dropfolder]\ndir = %q\n", filepath.ToSlash(dir))
		wantCheck(t, s.Run(s.Options()), "drop folder", CheckFail, filepath.ToSlash(dir)+" does not exist")
		if _, err := os.Stat(dir); err == nil {
			t.Errorf("doctor made %s; want it left alone", dir)
		}
	})
	t.Run("DoneIsAFile", func(t *testing.T) {
		t.Parallel()
		s := newDoctorSetup(t, nil)
		dir := t.TempDir()
		if err := os.WriteFile(filepath.Join(dir, "done"), nil, 0o600); err != nil {
			t.Fatal(err)
		}
		s.Tail += fmt.Sprintf("\n[dropfolder]\ndir = %q\n", filepath.ToSlash(dir))
		wantCheck(t, s.Run(s.Options()), "drop folder", CheckFail, "done is a file")
	})
}
