package main

import (
	"context"
	"errors"
	"fmt"
	"os"

	settle "github.com/settle-agent/settle-agent"
	"github.com/settle-agent/settle-agent/config"
	"github.com/settle-agent/settle-agent/hisadapter"
)

// runMapping is `settle-agent mapping check FILE`: it validates an item code mapping
// file, prints one line per problem (with its line number) or a summary, and exits
// non-zero when the file is not usable.
func runMapping(ctx context.Context, env *cmdEnv, args []string) error {
	fs := newFlags(env, "mapping", "mapping check [--config FILE] [--lang zh|en] MAPPING | mapping upload [--config FILE] [--dry-run] [--lang zh|en] [MAPPING]\n\n"+
		"check: checks an item code mapping (目录对照) CSV with the header\n"+
		"his_code,med_list_codg,medins_list_codg,name,valid_from,valid_to (optional list_type, price) and reports\n"+
		"every problem by line: missing or malformed codes, bad dates, valid_from after\n"+
		"valid_to, and the same his_code mapped twice for overlapping dates. With --config it also\n"+
		"checks against the catalogue that agent synced: codes the catalogue lacks, expired or\n"+
		"invalid codes, a wrong list_type, a price over the cap.\n"+
		"upload: sends the mapping to the platform (3301 new or changed rows, 3302 removed ones).")
	configPath := fs.String("config", "", "the agent's configuration: check against its synced catalogue (upload: default "+config.DefaultPath()+")")
	dryRun := fs.Bool("dry-run", false, "upload: say what would be sent, send nothing")
	lang := fs.String("lang", settle.LangZh, "language of the output: zh (中文) or en")
	if len(args) > 0 && (args[0] == "check" || args[0] == "upload") {
		pos, err := parseInterleaved(fs, args[1:])
		if err != nil {
			return err
		}
		if args[0] == "upload" {
			return runMappingUpload(ctx, env, *configPath, *dryRun, *lang, pos)
		}
		if len(pos) != 1 {
			return fmt.Errorf("%w: want exactly one MAPPING file after 'mapping check'", errUsage)
		}
		if *configPath != "" {
			return runMappingCheckCatalogue(ctx, env, *configPath, pos[0], *lang)
		}
		args = append([]string{"check"}, pos...)
	}
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() == 0 || fs.Arg(0) != "check" {
		return fmt.Errorf("%w: want 'mapping check [--config FILE] MAPPING' or 'mapping upload [--dry-run]'", errUsage)
	}
	if fs.NArg() != 2 {
		return fmt.Errorf("%w: want exactly one FILE after 'mapping check'", errUsage)
	}
	f, err := os.Open(fs.Arg(1))
	if err != nil {
		return fmt.Errorf("open mapping file: %w", err)
	}
	defer f.Close()
	if !hisadapter.CheckMapping(f, env.stdout, *lang) {
		return errors.New(settle.Say(*lang, fs.Arg(1)+" is not usable; fix the lines above", fs.Arg(1)+" 不可用：改正上面各行"))
	}
	return nil
}
