package gmcodec

import (
	"errors"
	"testing"
)

// FuzzOpenAnswer feeds the decoder of an encrypted, signed answer arbitrary bodies:
// it must never panic, and what it accepts is JSON whose output it could read.
func FuzzOpenAnswer(f *testing.F) {
	c, err := New(Settings{Mode: ModeSM4, AppID: goldenAppID, AppSecret: goldenSecret, Sign: SignSM3})
	if err != nil {
		f.Fatal(err)
	}
	good, err := c.Seal([]byte(`{"infcode":0,"err_msg":null,"output":{"signinoutb":{"sign_no":"S1"}}}`), FieldOutput)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(good)
	f.Add([]byte(`{"infcode":-2,"err_msg":"解密失败"}`))
	f.Add([]byte(`{"infcode":0,"enctype":"SM4","output":"00"}`))
	f.Add([]byte(`{"infcode":0,"enctype":"SM4","output":{"a":1}}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		out, _, err := c.Open(body, FieldOutput, false)
		if err != nil {
			if !errors.Is(err, ErrDecrypt) && !errors.Is(err, ErrSignature) {
				t.Fatalf("error of no class: %v", err)
			}
			return
		}
		if _, err := fields(out); err != nil {
			t.Fatalf("accepted a body and gave back no envelope: %v", err)
		}
	})
}
