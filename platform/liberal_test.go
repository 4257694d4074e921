package platform

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"testing"
)

// onePassTargets are the outputs the differential fuzz decodes into: the chain's
// answers, the lookups and a catalogue answer (Text, Count).
var onePassTargets = []func() any{
	func() any { return &SettleOutput{} }, func() any { return &SettleQueryOutput{} },
	func() any { return &FeeQueryOutput{} }, func() any { return &PersonInfoOutput{} },
	func() any { return &VisitQueryOutput{} }, func() any { return &FeeUploadOutput{} },
	func() any { return &RegisterOutput{} }, func() any { return &CatalogueFileOutput{} },
	func() any { return &CancelSettleOutput{} }, func() any { return &InpatientSettleOutput{} },
}

// recordedOutputs are the outputs of the recorded real answers under testdata/corpus.
func recordedOutputs(tb testing.TB) [][]byte {
	tb.Helper()
	files, err := filepath.Glob(filepath.Join("testdata", "corpus", "*.json"))
	if err != nil || len(files) == 0 {
		tb.Fatalf("corpus: %v, %d files; want some", err, len(files))
	}
	var outs [][]byte
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			tb.Fatal(err)
		}
		var env struct {
			Output json.RawMessage `json:"output"`
		}
		if json.Unmarshal(data, &env) == nil && len(env.Output) > 0 {
			outs = append(outs, env.Output)
		}
	}
	return outs
}

// FuzzDecodeLiberal_OnePassAgrees: decoding an answer in one strict pass, when that
// pass is taken and succeeds, gives exactly what the reshaping gives — the same value
// and no surprise (an answer with surprises never succeeds strictly).
func FuzzDecodeLiberal_OnePassAgrees(f *testing.F) {
	for _, out := range recordedOutputs(f) {
		f.Add(out)
	}
	f.Add([]byte(`{"setlinfo":{"setl_id":"S","medfee_sumamt":"1.00","extra":1}}`))
	f.Add([]byte(`{"setlinfo":{"setl_id":"S","medfee_sumamt":" "}}`))
	f.Add([]byte(`{"data":{"mdtrt_id":"M","ipt_otp_no":"\u3000"}}`))
	f.Add([]byte(`{"ſetlinfo":{"setl_id":"S"}}`))
	f.Fuzz(func(t *testing.T, raw []byte) {
		for _, mk := range onePassTargets {
			one, two := mk(), mk()
			sp1, err1 := decodeLiberal(raw, one)
			trimmed := unwrapJSONString(bytes.TrimSpace(raw))
			sp2, err2 := decodeReshaped(trimmed, two, reflect.ValueOf(two))
			if (err1 == nil) != (err2 == nil) {
				t.Fatalf("%T of %q: one pass %v; reshaped %v; want both or neither to fail", one, raw, err1, err2)
			}
			if err1 != nil {
				continue
			}
			if len(sp1) != len(sp2) || len(sp1) > 0 && !reflect.DeepEqual(sp1, sp2) {
				t.Fatalf("%T of %q: surprises %v; reshaped %v; want the same", one, raw, sp1, sp2)
			}
			if !reflect.DeepEqual(one, two) {
				b1, _ := json.Marshal(one)
				b2, _ := json.Marshal(two)
				t.Fatalf("%T of %q: one pass %s; reshaped %s; want the same", one, raw, b1, b2)
			}
		}
	})
}

// An answer with a field the client does not know is still decoded, and the field is
// recorded as a surprise: the one-pass decode gives way to the reshaping.
func TestDecodeLiberal_UnknownFieldStillASurprise(t *testing.T) {
	var out SettleOutput
	sp, err := decodeOutputSurprises("2207", []byte(`{"setlinfo":{"setl_id":"S1","mdtrt_id":"M1","psn_no":"P1","medfee_sumamt":"10.00","fund_pay_sumamt":"6.00","acct_pay":"0.00","psn_cash_pay":"4.00","new_field":"x"}}`), &out)
	if err != nil {
		t.Fatalf("decode: %v", err)
	}
	if out.Setlinfo.SetlID != "S1" {
		t.Errorf("setl_id: got %q; want S1", out.Setlinfo.SetlID)
	}
	found := false
	for _, s := range sp {
		found = found || s.Kind == SurpriseUnknownField && s.Field == "setlinfo.new_field"
	}
	if !found {
		t.Errorf("surprises %v; want unknown_field setlinfo.new_field", sp)
	}
}

// BenchmarkDecodeOutput measures decoding a recorded real 2207 answer without
// surprises (one strict pass) and with one (the reshaping).
func BenchmarkDecodeOutput(b *testing.B) {
	data, err := os.ReadFile(filepath.Join("testdata", "corpus", "2207_hosp_share.json"))
	if err != nil {
		b.Fatal(err)
	}
	var env struct {
		Output json.RawMessage `json:"output"`
	}
	if err := json.Unmarshal(data, &env); err != nil {
		b.Fatal(err)
	}
	var plain SettleOutput
	if _, err := decodeOutputSurprises("2207", env.Output, &plain); err != nil {
		b.Fatal(err)
	}
	clean, _ := json.Marshal(plain)
	surprising := bytes.Replace(clean, []byte(`{"setlinfo":{`), []byte(`{"setlinfo":{"new_field":1,`), 1)
	for _, c := range []struct {
		name string
		raw  []byte
	}{{"clean", clean}, {"surprise", surprising}} {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			for range b.N {
				var out SettleOutput
				if _, err := decodeOutputSurprises("2207", c.raw, &out); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
