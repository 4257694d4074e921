package platform

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// corpusOutputs maps an infno to the output type its answer decodes into.
var corpusOutputs = map[string]func() any{
	"9001": func() any { return &SignInOutput{} },
	"1101": func() any { return &PersonInfoOutput{} },
	"2204": func() any { return &FeeUploadOutput{} },
	"2206": func() any { return &SettleOutput{} },
	"2207": func() any { return &SettleOutput{} },
	"2208": func() any { return &CancelSettleOutput{} },
	"2601": func() any { return nil },
	"3201": func() any { return &TotalReconOutput{} },
	"3202": func() any { return &DetailReconFileOutput{} },
	"5201": func() any { return &VisitQueryOutput{} },
	"5203": func() any { return &SettleQueryOutput{} },
	"5204": func() any { return &FeeQueryOutput{} },
	"9101": func() any { return &FileUploadOutput{} },
}

// decodeAnswer is what Client.Call does with an answer body: the envelope, the
// refusal's sentinel, the output decoded liberally with its surprises and validation.
func decodeAnswer(infno string, body []byte, output any) (*Response, error) {
	resp, err := DecodeResponse(body)
	if err != nil {
		return nil, err
	}
	if err := DefaultPhrases.InfcodeError(infno, resp); err != nil {
		return resp, err
	}
	if output != nil {
		sp, err := decodeOutputSurprises(infno, resp.Output, output)
		resp.Surprises = append(resp.Surprises, sp...)
		return resp, err
	}
	return resp, nil
}

// TestCorpus_Decode decodes each answer of testdata/corpus (shaped like real
// platforms' answers: a hospital share, nulls, numbers as strings and strings as
// numbers, extra fields, a negative 2208, the output as a JSON string, lists for
// objects) and pins the result, surprises and outcome class in a golden file.
func TestCorpus_Decode(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("testdata", "corpus", "*.json"))
	if err != nil || len(files) < 15 {
		t.Fatalf("corpus: %d files, %v", len(files), err)
	}
	for _, path := range files {
		name := strings.TrimSuffix(filepath.Base(path), ".json")
		infno, _, _ := strings.Cut(name, "_")
		t.Run(name, func(t *testing.T) {
			body, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			mk, ok := corpusOutputs[infno]
			if !ok {
				t.Fatalf("no output type for infno %s", infno)
			}
			out := mk()
			resp, err := decodeAnswer(infno, body, out)
			doc := map[string]any{"outcome": Classify(err).String()}
			if err != nil {
				doc["error"] = err.Error()
				for _, s := range []error{ErrOriginalNotFound, ErrAlreadySettled, ErrSessionExpired, ErrNothingToCancel, ErrBadResponse} {
					if errors.Is(err, s) {
						doc["sentinel"] = s.Error()
					}
				}
			}
			if resp != nil {
				doc["envelope"] = map[string]any{"infcode": resp.Infcode, "inf_refmsgid": resp.InfRefmsgid, "refmsg_time": resp.RefmsgTime,
					"respond_time": resp.RespondTime, "err_msg": resp.ErrMsg, "warn_msg": resp.WarnMsg}
				if at, err := ParseTime(resp.RespondTime); err == nil {
					doc["respond_at"] = at.Format("2006-01-02T15:04:05.000Z07:00")
				}
				surprises := resp.Surprises
				if surprises == nil {
					surprises = []Surprise{}
				}
				doc["surprises"] = surprises
			}
			if out != nil && err == nil {
				doc["output"] = out
			}
			var buf bytes.Buffer
			enc := json.NewEncoder(&buf)
			enc.SetEscapeHTML(false)
			enc.SetIndent("", "  ")
			if err := enc.Encode(doc); err != nil {
				t.Fatal(err)
			}
			checkGolden(t, filepath.Join("testdata", "corpus", name+".golden"), buf.Bytes())
		})
	}
}

// TestCorpus_Expectations states in code what the goldens must show, so an -update
// cannot silently bless a regression.
func TestCorpus_Expectations(t *testing.T) {
	read := func(name string) []byte {
		b, err := os.ReadFile(filepath.Join("testdata", "corpus", name+".json"))
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	var so SettleOutput
	resp, err := decodeAnswer("2207", read("2207_hosp_share"), &so)
	if err != nil || so.Setlinfo.HospPartAmt != 500 || len(resp.WarnMsg) == 0 {
		t.Fatalf("hospital share: %v, %+v", err, so.Setlinfo)
	}
	for _, s := range resp.Surprises {
		if s.Kind != SurpriseUnknownField {
			t.Errorf("hospital share: surprise %v; want only unknown fields (the identity holds)", s)
		}
	}
	if at, ok := so.Setlinfo.SettledAt(); !ok || at.Format("2006-01-02 15:04:05") != "2026-11-23 09:12:01" {
		t.Errorf("setl_time %q -> %v, %v", so.Setlinfo.SetlTime, at, ok)
	}
	so = SettleOutput{}
	resp, err = decodeAnswer("2207", read("2207_identity_surprise"), &so)
	if err != nil || !resp.HasSurprise(SurpriseIdentity, "setlinfo.medfee_sumamt") || so.Setlinfo.MedfeeSumamt != 10000 {
		t.Errorf("identity mismatch: %v, surprises %v; want a success with an identity surprise and the platform's numbers", err, resp.Surprises)
	}
	so = SettleOutput{}
	resp, err = decodeAnswer("2207", read("2207_numbers_string_output"), &so)
	if err != nil || so.Setlinfo.PsnCashPay != 2000 || so.Setlinfo.ClrOptins != "310000" || len(so.Setldetail) != 1 {
		t.Errorf("numbers in a string output: %v, %+v", err, so)
	}
	var cs CancelSettleOutput
	if _, err := decodeAnswer("2208", read("2208_negative"), &cs); err != nil || cs.Setlinfo.MedfeeSumamt != -26500 {
		t.Errorf("negative 2208: %v, %+v", err, cs.Setlinfo)
	}
	for name, want := range map[string]error{
		"2601_not_found":       ErrOriginalNotFound,
		"2207_refused_settled": ErrAlreadySettled,
		"2204_session":         ErrSessionExpired,
		"2207_system_error":    ErrOutcomeUnknown,
	} {
		infno, _, _ := strings.Cut(name, "_")
		if _, err := decodeAnswer(infno, read(name), corpusOutputs[infno]()); !errors.Is(err, want) {
			t.Errorf("%s: got %v; want %v", name, err, want)
		}
	}
	var fq FeeQueryOutput
	if _, err := decodeAnswer("5204", read("5204_list_output"), &fq); err != nil || len(fq.Batch("B1")) != 1 || fq.Feedetail[0].PricUplmtAmt != 400000 {
		t.Errorf("5204 list output: %v, %+v", err, fq)
	}
}

// TestCorpus_ReconResult reads result zips written by another zip implementation
// (Python's zipfile): one with a header line and CRLF in UTF-8, one GBK without header.
func TestCorpus_ReconResult(t *testing.T) {
	for _, name := range []string{"3202_result", "3202_result_gbk"} {
		t.Run(name, func(t *testing.T) {
			z, err := os.ReadFile(filepath.Join("testdata", "corpus", name+".zip"))
			if err != nil {
				t.Fatal(err)
			}
			rows, err := ParseReconResult(z, nil)
			if err != nil {
				t.Fatal(err)
			}
			if len(rows) != 3 || rows[0].StmtRslt != StmtPlatformMore || rows[0].Msgid != "H33010200001202611231405010007" ||
				rows[1].StmtRslt != StmtDataDiffer || rows[1].FundPaySumamt != 18070 || rows[2].StmtRslt != StmtHospitalMore || rows[2].Memo != "中心无此结算" {
				t.Errorf("rows %+v", rows)
			}
			b, _ := json.MarshalIndent(rows, "", "  ")
			checkGolden(t, filepath.Join("testdata", "corpus", name+".golden"), append(b, '\n'))
		})
	}
}
