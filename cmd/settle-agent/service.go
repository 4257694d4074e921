package main

import (
	"context"
	"errors"
)

func runService(action string) func(ctx context.Context, env *cmdEnv, args []string) error {
	return func(ctx context.Context, env *cmdEnv, args []string) error {
		return errors.New("not built yet")
	}
}
