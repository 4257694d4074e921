package installer

import (
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
)

// serialGroups own /dev/ttyUSB* and /dev/ttyACM* on the common distributions;
// the service account joins those that exist when a configured serial device is
// not plugged in yet, so it can open the card readers once it is.
var serialGroups = []string{"dialout", "uucp"}

// prepareInstall creates the service account and the folders before kardianos
// writes the unit. What can refuse is checked before anything is created.
func prepareInstall(o Options, log *slog.Logger) error {
	if err := checkOwnFolders(o); err != nil {
		return err
	}
	if o.UserName != "root" {
		if err := checkReachable(o.Executable, o.UserName); err != nil {
			return err
		}
		if err := ensureUser(o.UserName, o.DataDir, log); err != nil {
			return err
		}
		joinSerialGroups(o.UserName, o.SerialPorts, log)
	}
	acct, err := lookupAccount(o.UserName)
	if err != nil {
		return err
	}
	return setupFolders(o, acct, log)
}

// checkOwnFolders refuses configuration or data folders shared with the system,
// whose owner and mode install would otherwise change.
func checkOwnFolders(o Options) error {
	for _, d := range []string{filepath.Dir(o.ConfigPath), o.DataDir} {
		if sharedDirs[filepath.Clean(d)] {
			return fmt.Errorf("folder %s is shared with the system; give settle-agent a folder of its own (default %s and %s)", d, defaultPlaces().ConfigDir, defaultPlaces().DataDir)
		}
	}
	return nil
}

// account is a uid and gid to own the data folder and to read the configuration.
type account struct{ uid, gid int }

func lookupAccount(name string) (account, error) {
	u, err := user.Lookup(name)
	if err != nil {
		return account{}, fmt.Errorf("look up service account %q: %w; create it with: useradd --system --no-create-home --shell /usr/sbin/nologin %s", name, err, name)
	}
	uid, err1 := strconv.Atoi(u.Uid)
	gid, err2 := strconv.Atoi(u.Gid)
	if err := errors.Join(err1, err2); err != nil {
		return account{}, fmt.Errorf("service account %q: %w", name, err)
	}
	return account{uid, gid}, nil
}

// ensureUser creates the system account when missing.
func ensureUser(name, home string, log *slog.Logger) error {
	if _, err := user.Lookup(name); err != nil {
		var unknown user.UnknownUserError
		if !errors.As(err, &unknown) {
			return fmt.Errorf("look up service account %q: %w", name, err)
		}
		out, err := exec.Command("useradd", "--system", "--no-create-home", "--home-dir", home,
			"--shell", "/usr/sbin/nologin", "--user-group", name).CombinedOutput()
		if err != nil {
			return fmt.Errorf("create service account %q with useradd: %w: %s; create it yourself (useradd --system --no-create-home --shell /usr/sbin/nologin %s) and run install again", name, err, strings.TrimSpace(string(out)), name)
		}
		log.Info("service account created", "user", name)
	}
	return nil
}

// joinSerialGroups adds the account to the groups that own the configured
// serial devices: each device's own group when it is plugged in, else the usual
// serial groups of the distribution. Without a configured device it joins none.
func joinSerialGroups(name string, ports []string, log *slog.Logger) {
	groups := serialPortGroups(ports)
	if len(ports) == 0 {
		log.Info("no serial card reader or scanner configured: the service account joins no serial port group", "user", name)
		return
	}
	if len(groups) == 0 {
		log.Warn("the configured serial devices are not there and this system has no dialout or uucp group: give the service account access to them by hand",
			"user", name, "ports", strings.Join(ports, " "))
		return
	}
	for _, g := range groups {
		if out, err := exec.Command("usermod", "--append", "--groups", g, name).CombinedOutput(); err != nil {
			log.Warn("could not add the service account to the serial port group; card readers may not open",
				"user", name, "group", g, "err", err, "output", strings.TrimSpace(string(out)))
			continue
		}
		log.Info("service account may open the serial devices", "user", name, "group", g, "ports", strings.Join(ports, " "))
	}
}

// serialPortGroups are the group names to join for ports: the owning group of
// each device present (root excluded), and when one is missing the serial
// groups of serialGroups that exist.
func serialPortGroups(ports []string) []string {
	seen := map[string]bool{}
	var out []string
	add := func(g string) {
		if g != "" && g != "root" && !seen[g] {
			seen[g] = true
			out = append(out, g)
		}
	}
	missing := false
	for _, p := range ports {
		fi, err := os.Stat(p)
		if err != nil {
			missing = true
			continue
		}
		st, ok := fi.Sys().(*syscall.Stat_t)
		if !ok {
			continue
		}
		if g, err := user.LookupGroupId(strconv.Itoa(int(st.Gid))); err == nil {
			add(g.Name)
		}
	}
	if missing {
		for _, g := range serialGroups {
			if _, err := user.LookupGroup(g); err == nil {
				add(g)
			}
		}
	}
	return out
}

// checkReachable refuses a binary the service account could not execute
// (e.g. one left in /root): the file and every folder above it must be
// executable/searchable by others.
func checkReachable(exe, userName string) error {
	fi, err := os.Stat(exe)
	if err != nil {
		return fmt.Errorf("program %s: %w", exe, err)
	}
	err = traversable(exe, fi)
	if err == nil {
		err = traversableDirs(filepath.Dir(exe))
	}
	if err != nil {
		return fmt.Errorf("the service account %s cannot run %s (%w): copy the program to a system folder, e.g. 'install -m 0755 %s /usr/local/bin/settle-agent', and run install from there",
			userName, exe, err, exe)
	}
	return nil
}

// traversableDirs checks that dir and every folder above it is searchable by others.
func traversableDirs(dir string) error {
	for p := dir; ; p = filepath.Dir(p) {
		fi, err := os.Stat(p)
		if err != nil {
			return err
		}
		if err := traversable(p, fi); err != nil {
			return err
		}
		if p == filepath.Dir(p) {
			return nil
		}
	}
}

// reachableFor checks that the account of group gid can pass through dir and
// every existing folder above it: each must be searchable by others, or by its
// group when that is gid. confDir, which install makes root:gid 0750, counts as
// reachable. Folders that do not exist yet are made 0755 by install.
func reachableFor(dir string, gid int, confDir string) error {
	for p := filepath.Clean(dir); ; p = filepath.Dir(p) {
		fi, err := os.Stat(p)
		switch {
		case errors.Is(err, fs.ErrNotExist):
		case err != nil:
			return err
		case p == filepath.Clean(confDir):
		default:
			if err := traversable(p, fi); err != nil {
				st, ok := fi.Sys().(*syscall.Stat_t)
				if !ok || int(st.Gid) != gid || fi.Mode().Perm()&0o010 == 0 {
					return err
				}
			}
		}
		if p == filepath.Dir(p) {
			return nil
		}
	}
}

func traversable(p string, fi fs.FileInfo) error {
	if fi.Mode().Perm()&0o001 == 0 {
		return fmt.Errorf("%s is mode %04o, closed to other accounts", p, fi.Mode().Perm())
	}
	return nil
}

// mkdirTight creates dir with mode 0750, and any missing folders above it with
// 0755 so the service account can pass through them.
func mkdirTight(dir string) error {
	if err := os.MkdirAll(filepath.Dir(dir), 0o755); err != nil {
		return err
	}
	if err := os.Mkdir(dir, 0o750); err != nil && !errors.Is(err, fs.ErrExist) {
		return err
	}
	return nil
}

// sharedDirs are folders install must never chown or chmod.
var sharedDirs = map[string]bool{
	"/": true, "/etc": true, "/var": true, "/var/lib": true, "/usr": true, "/usr/local": true,
	"/opt": true, "/srv": true, "/home": true, "/root": true, "/tmp": true, "/var/tmp": true, "/run": true,
}

// setupFolders creates the configuration folder (root:acct 0750), the data
// folder and everything in it (acct:acct, folders 0750, files 0640) and
// tightens the configuration file to root:acct 0640. It returns an error
// wrapping ErrNoConfig when the configuration file does not exist yet, after
// the folders are made.
func setupFolders(o Options, acct account, log *slog.Logger) error {
	confDir := filepath.Dir(o.ConfigPath)
	if err := checkOwnFolders(o); err != nil {
		return err
	}
	// Checked before anything is made: a refusal changes nothing.
	if acct.uid != 0 {
		for _, d := range []string{confDir, o.DataDir} {
			if err := reachableFor(filepath.Dir(d), acct.gid, confDir); err != nil {
				return fmt.Errorf("the service account cannot reach %s: %w; open that folder with 'chmod o+x' or choose folders elsewhere (default %s and %s)",
					d, err, defaultPlaces().ConfigDir, defaultPlaces().DataDir)
			}
		}
	}
	if err := mkdirTight(confDir); err != nil {
		return fmt.Errorf("create configuration folder: %w", err)
	}
	if err := setOwnerMode(confDir, os.Geteuid(), acct.gid, 0o750); err != nil {
		return err
	}
	if err := mkdirTight(o.DataDir); err != nil {
		return fmt.Errorf("create data folder: %w", err)
	}
	err := filepath.WalkDir(o.DataDir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.Type()&fs.ModeSymlink != 0 {
			return nil
		}
		mode := fs.FileMode(0o640)
		if d.IsDir() {
			mode = 0o750
		}
		return setOwnerMode(p, acct.uid, acct.gid, mode)
	})
	if err != nil {
		return fmt.Errorf("give the data folder to the service account: %w", err)
	}
	log.Info("folders ready", "config_dir", confDir, "data_dir", o.DataDir)
	if _, err := os.Stat(o.ConfigPath); errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("%w: %s does not exist: write one with 'settle-agent config example > %s', edit it, check it with 'settle-agent config check %s', then run install again",
			ErrNoConfig, o.ConfigPath, o.ConfigPath, o.ConfigPath)
	}
	return setOwnerMode(o.ConfigPath, os.Geteuid(), acct.gid, 0o640)
}

func setOwnerMode(p string, uid, gid int, mode fs.FileMode) error {
	if err := os.Lchown(p, uid, gid); err != nil {
		return fmt.Errorf("set owner of %s: %w", p, err)
	}
	if err := os.Chmod(p, mode); err != nil {
		return fmt.Errorf("set permissions of %s: %w", p, err)
	}
	return nil
}
