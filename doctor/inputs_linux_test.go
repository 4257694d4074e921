package doctor

import "testing"

// /proc is a folder nobody, not even root, can create files in.
func TestDoctor_DropFolder_NotWritable(t *testing.T) {
	t.Parallel()
	s := newDoctorSetup(t, nil)
	s.Tail += "\n[dropfolder]\ndir = \"/proc\"\n"
	wantCheck(t, s.Run(s.Options()), "drop folder", CheckFail, "/proc is not writable")
}
