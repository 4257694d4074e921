package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
)

// The demo in a 国密 province tells the whole story with every envelope encrypted
// and signed, and shows the platform refusing a plain one.
func TestDemo_GMProvinceSettlesEveryBillExactlyOnce(t *testing.T) {
	if testing.Short() {
		t.Skip("the whole demo story")
	}
	var out, errb bytes.Buffer
	env := &cmdEnv{stdout: &out, stderr: &errb, getenv: func(string) string { return "" }}
	if err := runDemo(context.Background(), env, []string{"--exit", "--listen", "127.0.0.1:0", "--crypto", "sm4+sm2"}); err != nil {
		t.Fatalf("demo --crypto sm4+sm2: %v\n%s", err, out.String())
	}
	for _, want := range []string{"国密 envelope:                  sm4+sm2", "infcode -2, 解密失败 — nothing booked", "booked exactly once"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("demo story lacks %q", want)
		}
	}
}

func TestDemo_UnknownCryptoModeIsAUsageError(t *testing.T) {
	var out, errb bytes.Buffer
	env := &cmdEnv{stdout: &out, stderr: &errb, getenv: func(string) string { return "" }}
	err := runDemo(context.Background(), env, []string{"--exit", "--listen", "127.0.0.1:0", "--crypto", "sm9"})
	if err == nil || !strings.Contains(err.Error(), "sm4+sm2") {
		t.Fatalf("demo --crypto sm9: got %v; want a usage error listing the modes", err)
	}
}
