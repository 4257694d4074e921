package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"time"

	settle "github.com/settle-agent/settle-agent"
	"github.com/settle-agent/settle-agent/catalogue"
	"github.com/settle-agent/settle-agent/config"
	"github.com/settle-agent/settle-agent/hisadapter"
)

// checkOptions are where and when the mapping of cfg's agent is used.
func checkOptions(cfg *config.Config, now time.Time) catalogue.CheckOptions {
	return catalogue.CheckOptions{Admdvs: cfg.Hospital.Admdvs, Today: hisadapter.DateOf(now.In(beijingCST))}
}

// beijingCST is China Standard Time (the platform's day).
var beijingCST = time.FixedZone("CST", 8*3600)

// runMappingCheckCatalogue is `mapping check --config FILE MAPPING`: the file's own
// checks and the catalogue's, through the running agent's admin API or on the
// catalogue file when the agent is stopped.
func runMappingCheckCatalogue(ctx context.Context, env *cmdEnv, configPath, mappingPath, lang string) error {
	cfg, err := config.Load(configPath, env.getenv)
	if err != nil {
		return fmt.Errorf("%v\nfix the configuration (settle-agent config check %s) and try again", err, configPath)
	}
	raw, err := os.ReadFile(mappingPath)
	if err != nil {
		return fmt.Errorf("read mapping file: %w", err)
	}
	var rep *catalogue.CheckReport
	if agentRunning(cfg) {
		api, err := newAdminClient(cfg)
		if err != nil {
			return err
		}
		if rep, err = api.CheckMapping(ctx, raw); err != nil {
			return err
		}
	} else {
		s, err := catalogue.Open(cfg.DataPath(catalogue.FileName), &catalogue.StoreOptions{ReadOnly: true})
		switch {
		case errors.Is(err, catalogue.ErrNotSynced):
			s = nil
		case err != nil:
			return err
		default:
			defer s.Close()
		}
		if rep, err = catalogue.CheckMapping(raw, s, checkOptions(cfg, time.Now())); err != nil {
			return err
		}
	}
	rep.Write(env.stdout, lang)
	if !rep.OK() {
		return errors.New(settle.Say(lang, mappingPath+" is not usable; fix the lines above", mappingPath+" 不可用：改正上面各行"))
	}
	return nil
}

// runMappingUpload is `mapping upload [--dry-run] [MAPPING]`: the configured mapping
// (or MAPPING) to the platform, through the running agent or directly.
func runMappingUpload(ctx context.Context, env *cmdEnv, configPath string, dryRun bool, lang string, pos []string) error {
	if configPath == "" {
		configPath = config.DefaultPath()
	}
	if len(pos) > 1 {
		return fmt.Errorf("%w: want at most one MAPPING file after 'mapping upload'", errUsage)
	}
	cfg, err := config.Load(configPath, env.getenv)
	if err != nil {
		return fmt.Errorf("%v\nfix the configuration (settle-agent config check %s) and try again", err, configPath)
	}
	path := cfg.Mapping.File
	if len(pos) == 1 {
		path = pos[0]
	}
	var rep *catalogue.UploadReport
	if agentRunning(cfg) {
		if len(pos) == 1 && pos[0] != cfg.Mapping.File {
			return fmt.Errorf("%w: the agent is running: it uploads its own [mapping] file %s; stop it to upload another file", errUsage, cfg.Mapping.File)
		}
		api, err := newAdminClient(cfg)
		if err != nil {
			return err
		}
		if rep, err = api.UploadMapping(ctx, dryRun); err != nil {
			return err
		}
	} else {
		if path == "" {
			return fmt.Errorf("%w: no mapping file: give MAPPING or set [mapping] file", errUsage)
		}
		raw, err := os.ReadFile(path)
		if err != nil {
			return fmt.Errorf("read mapping file: %w", err)
		}
		sess, err := openCatalogueSession(ctx, cfg, nil, nil)
		if err != nil {
			return err
		}
		defer sess.close(ctx)
		rep, err = catalogue.Upload(ctx, raw, sess.store, sess.syncer, sess.client, catalogue.UploadOptions{
			Shape: cfg.Catalogue.UploadShape, Batch: cfg.Catalogue.UploadBatch, DryRun: dryRun,
			Check: checkOptions(cfg, time.Now()), Meta: sess.meta,
		})
		if err != nil && rep == nil {
			return err
		}
		if err != nil {
			rep.Write(env.stdout, lang)
			return err
		}
	}
	rep.Write(env.stdout, lang)
	if !rep.OK() {
		return errors.New(settle.Say(lang, "the mapping upload is not complete: see the lines above", "目录对照上传未完成：见上面各行"))
	}
	return nil
}
