package main

import (
	"context"
	"errors"
	"fmt"
	"os"

	"github.com/settle-agent/settle-agent/hisadapter"
)

// runMapping is `settle-agent mapping check FILE`: it validates an item code mapping
// file, prints one line per problem (with its line number) or a summary, and exits
// non-zero when the file is not usable.
func runMapping(ctx context.Context, env *cmdEnv, args []string) error {
	fs := newFlags(env, "mapping", "mapping check FILE\n\n"+
		"Checks an item code mapping (目录对照) CSV with the header\n"+
		"his_code,med_list_codg,medins_list_codg,name,valid_from,valid_to and reports\n"+
		"every problem by line: missing or malformed codes, bad dates, valid_from after\n"+
		"valid_to, and the same his_code mapped twice for overlapping dates.")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() == 0 || fs.Arg(0) != "check" {
		return fmt.Errorf("%w: want 'mapping check FILE'", errUsage)
	}
	if fs.NArg() != 2 {
		return fmt.Errorf("%w: want exactly one FILE after 'mapping check'", errUsage)
	}
	f, err := os.Open(fs.Arg(1))
	if err != nil {
		return fmt.Errorf("open mapping file: %w", err)
	}
	defer f.Close()
	if !hisadapter.CheckMapping(f, env.stdout) {
		return errors.New(fs.Arg(1) + " is not usable; fix the lines above")
	}
	return nil
}
