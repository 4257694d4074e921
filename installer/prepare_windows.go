package installer

import (
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/sys/windows"
)

// prepareInstall creates the folders and gives them protected ACLs: SYSTEM and
// Administrators full control everywhere; the service account read on the
// configuration folder and file, modify on the data and log folders.
func prepareInstall(o Options, log *slog.Logger) error {
	sid, _, _, err := windows.LookupSID("", o.UserName)
	if err != nil {
		return fmt.Errorf("look up service account %q: %w; use LocalService, NetworkService or an existing account", o.UserName, err)
	}
	acct := sid.String()
	confDir := filepath.Dir(o.ConfigPath)
	logDir := defaultPlaces().LogDir
	for _, d := range []string{confDir, o.DataDir} {
		if sharedDir(d) {
			return fmt.Errorf("folder %s is shared with the system; give settle-agent a folder of its own (default %s and %s)", d, defaultPlaces().ConfigDir, defaultPlaces().DataDir)
		}
	}
	dirs := []struct {
		p, sddl string
	}{
		{confDir, "D:P(A;OICI;FA;;;SY)(A;OICI;FA;;;BA)(A;OICI;FR;;;" + acct + ")"},
		{o.DataDir, "D:P(A;OICI;FA;;;SY)(A;OICI;FA;;;BA)(A;OICI;0x1301bf;;;" + acct + ")"},
		{logDir, "D:P(A;OICI;FA;;;SY)(A;OICI;FA;;;BA)(A;OICI;0x1301bf;;;" + acct + ")"},
	}
	for _, d := range dirs {
		if err := os.MkdirAll(d.p, 0o750); err != nil {
			return fmt.Errorf("create folder %s: %w", d.p, err)
		}
		if err := setDACL(d.p, d.sddl); err != nil {
			return err
		}
	}
	log.Info("folders ready", "config_dir", confDir, "data_dir", o.DataDir, "log_dir", logDir)
	if _, err := os.Stat(o.ConfigPath); errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("%w: %s does not exist: write one with 'settle-agent config example > \"%s\"', edit it, check it with 'settle-agent config check \"%s\"', then run install again",
			ErrNoConfig, o.ConfigPath, o.ConfigPath, o.ConfigPath)
	}
	return setDACL(o.ConfigPath, "D:P(A;;FA;;;SY)(A;;FA;;;BA)(A;;FR;;;"+acct+")")
}

// setDACL replaces p's access list with the protected one in sddl.
func setDACL(p, sddl string) error {
	sd, err := windows.SecurityDescriptorFromString(sddl)
	if err != nil {
		return fmt.Errorf("permissions for %s: %w", p, err)
	}
	dacl, _, err := sd.DACL()
	if err != nil {
		return fmt.Errorf("permissions for %s: %w", p, err)
	}
	err = windows.SetNamedSecurityInfo(p, windows.SE_FILE_OBJECT,
		windows.DACL_SECURITY_INFORMATION|windows.PROTECTED_DACL_SECURITY_INFORMATION, nil, nil, dacl, nil)
	if err != nil {
		return fmt.Errorf("set permissions of %s: %w", p, err)
	}
	return nil
}

// sharedDir reports a drive root or a system folder, whose permissions install
// must never replace.
func sharedDir(d string) bool {
	d = filepath.Clean(d)
	if filepath.Dir(d) == d {
		return true
	}
	for _, env := range []string{"SystemRoot", "ProgramData", "ProgramFiles", "ProgramFiles(x86)", "USERPROFILE", "PUBLIC", "ALLUSERSPROFILE"} {
		if v := os.Getenv(env); v != "" && strings.EqualFold(filepath.Clean(v), d) {
			return true
		}
	}
	root := filepath.VolumeName(d) + `\`
	users := filepath.Join(root, "Users")
	return strings.EqualFold(d, users) || strings.EqualFold(filepath.Dir(d), users)
}
