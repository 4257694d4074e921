package config

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/user"
	"path/filepath"
)

// validateFiles checks the files and folders the configuration names, the way the
// agent will use them, so that `config check`, doctor and `run` refuse a
// configuration before the agent creates anything (a store key, a store file):
//   - mapping.file, when set, exists, is a file, and this account can read it;
//   - dropfolder.dir, when set, exists, is a folder this account can write, and
//     its done/ and error/ (made by the agent when missing) are folders it can write;
//   - store.dir, when it exists, is a folder this account can write (a missing one
//     is made by 'settle-agent install' or at the agent's first start).
//
// Writability is tried, not guessed from mode bits: a file is created and removed
// again, as the agent will, which is also the only honest answer on Windows. The
// account is the one running this process: run the check as the service account
// (sudo -u settle-agent settle-agent config check FILE) to see what the agent sees.
func (c *Config) validateFiles(v *ValidationError) {
	if f := c.Mapping.File; f != "" {
		if reason := readableFile(f); reason != "" {
			c.problem(v, "mapping.file", f, reason+"; "+mappingHint)
		}
	}
	if d := c.DropFolder.Dir; d != "" {
		if reason := writableDir(d, true); reason != "" {
			c.problem(v, "dropfolder.dir", d, reason+"; the HIS writes bills there and the agent moves them to done/ or error/ inside it")
		} else {
			for _, sub := range []string{"done", "error"} {
				p := filepath.Join(d, sub)
				if reason := writableDir(p, false); reason != "" {
					c.problem(v, "dropfolder.dir", d, sub+"/ inside it: "+reason)
				}
			}
		}
	}
	if d := c.Store.Dir; d != "" {
		if reason := writableDir(d, false); reason != "" {
			c.problem(v, "store.dir", d, reason+"; the agent keeps its store there: 'settle-agent install' gives the folder to the service account, or set store.dir to a folder it can write")
		}
	}
}

// mappingHint says what a mapping file is, for a problem about a missing one.
const mappingHint = "the item code mapping CSV (his_code,med_list_codg,medins_list_codg,name,valid_from,valid_to; " +
	"check one with 'settle-agent mapping check FILE'); for a dry run with the simulator use examples/dryrun/mapping.csv; " +
	"leave mapping.file empty when the HIS already sends national codes"

// readableFile is "" when p is a file this account can open and read, else why not.
func readableFile(p string) string {
	fi, err := os.Stat(p)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return "does not exist"
	case err != nil:
		return "cannot be reached by " + account() + ": " + pathErrReason(err)
	case fi.IsDir():
		return "is a folder, not a file"
	}
	f, err := os.Open(p)
	if err != nil {
		return "cannot be read by " + account() + ": " + pathErrReason(err) + " (the service account must read it: chgrp settle-agent FILE; chmod 0640 FILE)"
	}
	defer f.Close()
	if _, err := f.Read(make([]byte, 1)); err != nil && !errors.Is(err, io.EOF) {
		return "cannot be read by " + account() + ": " + pathErrReason(err)
	}
	return ""
}

// writableDir is "" when dir is a folder this account can create files in, else
// why not. A missing folder is "" unless mustExist.
func writableDir(dir string, mustExist bool) string {
	fi, err := os.Stat(dir)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		if mustExist {
			return "does not exist: create it"
		}
		return ""
	case err != nil:
		return "cannot be reached by " + account() + ": " + pathErrReason(err)
	case !fi.IsDir():
		return "is a file, not a folder"
	}
	f, err := os.CreateTemp(dir, ".settle-agent-check-*")
	if err != nil {
		return fmt.Sprintf("is not writable by %s: %s", account(), pathErrReason(err))
	}
	name := f.Name()
	f.Close()
	if err := os.Remove(name); err != nil {
		return fmt.Sprintf("a file made in it cannot be removed by %s: %s", account(), pathErrReason(err))
	}
	return ""
}

// account names the account this process runs as, for messages.
func account() string {
	if u, err := user.Current(); err == nil && u.Username != "" {
		return "this account (" + u.Username + ")"
	}
	return "this account"
}
