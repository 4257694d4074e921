package main

import (
	"context"
	"errors"
)

func benchE2E(ctx context.Context, env *cmdEnv, args []string) error {
	return errors.New("not built yet")
}
