package main

import (
	"context"
	"encoding/json"
	"fmt"

	settle "github.com/settle-agent/settle-agent"
	"github.com/settle-agent/settle-agent/agent"
	"github.com/settle-agent/settle-agent/cluster"
	"github.com/settle-agent/settle-agent/config"
	"github.com/settle-agent/settle-agent/doctor"
)

// doctorReport is what --json prints: one object on one line.
type doctorReport struct {
	OK     bool           `json:"ok"`
	Failed int            `json:"failed"`
	Checks []doctor.Check `json:"checks"`
}

// runDoctor is "doctor [--config FILE] [--json]": every go-live check, one line
// each; exit 1 when any failed.
func runDoctor(ctx context.Context, env *cmdEnv, args []string) error {
	fs := newFlags(env, "doctor", "doctor [--config FILE] [--json] [--lang zh|en]\n\n"+
		"Checks what hospital IT needs before go-live: configuration, data folder (writable, free space),\n"+
		"store integrity, listen ports, each card reader and scanner, platform sign-in, clock skew; with [cluster]\n"+
		"the group: members reachable, quorum, leader, clocks between nodes, etcd quota use, etcd TLS off loopback.\n"+
		"One line per check; a check that is not ok says what to do. Exit status 1 when any check fails.\n"+
		"Run it before 'settle-agent start'; with the agent running it asks the agent about the store and readers.")
	configPath := fs.String("config", config.DefaultPath(), "configuration file")
	lang := fs.String("lang", settle.LangZh, "language of the lines: zh (中文) or en")
	asJSON := fs.Bool("json", false, "print one JSON object {ok, failed, checks:[{name,status,detail,fix}]} instead of lines")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("%w: unexpected argument %q", errUsage, fs.Arg(0))
	}
	checks := doctor.Run(ctx, nil, doctor.Options{ConfigPath: *configPath, Getenv: env.getenv, StoreFile: agent.StoreFile, PlatformOptions: agent.PlatformOptions, Group: doctorGroup})
	failed := doctor.Failed(checks)
	if *asJSON {
		b, err := json.Marshal(doctorReport{OK: failed == 0, Failed: failed, Checks: checks})
		if err != nil {
			return err
		}
		fmt.Fprintln(env.stdout, string(b))
	} else if err := doctor.WriteChecks(env.stdout, checks, *lang); err != nil {
		return err
	}
	if failed > 0 {
		return fmt.Errorf(settle.Say(*lang, "%d of %d checks failed; fix them and run 'settle-agent doctor' again",
			"%d/%d 项检查未通过：改正后再运行 settle-agent doctor"), failed, len(checks))
	}
	return nil
}

// doctorGroup asks the running agent for its group (GET /v1/cluster).
func doctorGroup(ctx context.Context, cfg *config.Config) (cluster.Status, error) {
	a, err := newAdminClient(cfg)
	if err != nil {
		return cluster.Status{}, err
	}
	return a.Cluster(ctx)
}
