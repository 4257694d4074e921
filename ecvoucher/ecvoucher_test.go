package ecvoucher_test

import (
	"context"
	"errors"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/settle-agent/settle-agent"
	"github.com/settle-agent/settle-agent/cardreader/libhost"
	"github.com/settle-agent/settle-agent/ecvoucher"
	"github.com/settle-agent/settle-agent/internal/standin"
)

var t0 = time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)

var wang = ecvoucher.Voucher{ECToken: "ect-330100-0001", IDNo: "330106199007074565", IDType: "01", UserName: "王小明", InsuOrg: "330100"}

func newService(t *testing.T, asString bool) (*ecvoucher.Simulator, *ecvoucher.Decoder) {
	t.Helper()
	sim := ecvoucher.NewSimulator([]ecvoucher.Voucher{wang})
	sim.Now = func() time.Time { return t0 }
	sim.DataAsString = asString
	srv := httptest.NewServer(sim)
	t.Cleanup(srv.Close)
	return sim, &ecvoucher.Decoder{
		Query:     ecvoucher.Query{OrgID: "H33010200001", OperatorID: "W01", DeviceType: "scanner"},
		Transport: ecvoucher.HTTP{URL: srv.URL + ecvoucher.Path},
		Timeout:   2 * time.Second,
	}
}

func TestDecoder_Decode_HTTP(t *testing.T) {
	for _, asString := range []bool{false, true} {
		_, d := newService(t, asString)
		c, err := d.Decode(context.Background(), ecvoucher.Code(wang.ECToken, t0.Add(-time.Minute)))
		want := settle.Card{CertType: settle.CertEVoucher, CardNo: wang.ECToken, SSN: wang.IDNo, PsnCertType: "01", Name: wang.UserName, RegionCode: "330100"}
		if err != nil || c != want {
			t.Fatalf("data as string %v: Decode = %+v, %v; want %+v", asString, c, err, want)
		}
		p := c.Patient()
		if p.MdtrtCertType != "01" || p.MdtrtCertNo != wang.ECToken || p.Certno != wang.IDNo || p.PsnCertType != "01" || p.PsnName != wang.UserName {
			t.Errorf("Patient = %+v; want 01 with the ecToken, certno, psn_cert_type and name", p)
		}
	}
}

func TestDecoder_Decode_Errors(t *testing.T) {
	sim, d := newService(t, false)
	ctx := context.Background()
	if _, err := d.Decode(ctx, ecvoucher.Code(wang.ECToken, t0.Add(-time.Hour))); !errors.Is(err, ecvoucher.ErrExpired) {
		t.Errorf("old code: %v; want ErrExpired", err)
	}
	if _, err := d.Decode(ctx, "garbage"); !errors.Is(err, ecvoucher.ErrRefused) {
		t.Errorf("garbage code: %v; want ErrRefused", err)
	}
	sim.SetOffline(true)
	if _, err := d.Decode(ctx, ecvoucher.Code(wang.ECToken, t0)); !errors.Is(err, ecvoucher.ErrOffline) {
		t.Errorf("offline service: %v; want ErrOffline", err)
	}
	d.Transport = ecvoucher.HTTP{URL: "http://127.0.0.1:1/ec"}
	if _, err := d.Decode(ctx, ecvoucher.Code(wang.ECToken, t0)); !errors.Is(err, ecvoucher.ErrOffline) {
		t.Errorf("unreachable service: %v; want ErrOffline", err)
	}
}

func TestStage_OnRead(t *testing.T) {
	_, d := newService(t, false)
	var mu sync.Mutex
	var got []settle.CardRead
	done := make(chan struct{}, 10)
	st := ecvoucher.NewStage(d, func(r settle.CardRead) {
		mu.Lock()
		got = append(got, r)
		mu.Unlock()
		done <- struct{}{}
	}, nil)
	ctx, cancel := context.WithCancel(context.Background())
	ran := make(chan error)
	go func() { ran <- st.Run(ctx) }()
	card := settle.Card{CertType: settle.CertSSCard, CardNo: "A1"}
	for {
		st.OnRead(settle.CardRead{Window: "W09", Card: settle.Card{CertType: settle.CertEVoucher, CardNo: "probe"}})
		<-done
		mu.Lock()
		busy := errors.Is(got[len(got)-1].Err, ecvoucher.ErrBusy) // Run had not started yet
		got = nil
		mu.Unlock()
		if !busy {
			break
		}
	}
	st.OnRead(settle.CardRead{Window: "W01", Card: card})
	<-done
	st.OnRead(settle.CardRead{Window: "W01", Card: settle.Card{CertType: settle.CertEVoucher, CardNo: ecvoucher.Code(wang.ECToken, t0)}})
	<-done
	cancel()
	<-ran
	mu.Lock()
	defer mu.Unlock()
	if len(got) != 2 || got[0].Card != card || got[1].Err != nil || got[1].Card.CardNo != wang.ECToken {
		t.Fatalf("reads = %+v; want the card passed on, then the decoded e-voucher", got)
	}
	none := ecvoucher.NewStage(nil, func(r settle.CardRead) { got = append(got, r) }, nil)
	none.OnRead(settle.CardRead{Card: settle.Card{CertType: settle.CertEVoucher, CardNo: "x"}})
	if !errors.Is(got[2].Err, ecvoucher.ErrNotConfigured) {
		t.Errorf("stage without a decoder: %v; want ErrNotConfigured", got[2].Err)
	}
}

func TestParseAnswer_Golden(t *testing.T) {
	cases := []string{
		`{"code":0,"message":"成功","data":{"ecToken":"T1","idNo":"330106199007074565","idType":"01","userName":"王小明","insuOrg":"330100"}}`,
		`{"code":0,"data":"{\"ecToken\":\"T2\",\"idNo\":\"x\",\"idType\":\"01\",\"userName\":\"张三\"}"}`,
		`{"code":"0000","data":{"ecToken":"T3"}}`,
		`{"code":1002,"message":"二维码已过期"}`,
		`{"code":1003,"message":"电子凭证不存在"}`,
		`{"code":0,"data":{}}`,
		`{"code":0,"data":"not json"}`,
		`{"message":"no code"}`,
		`<html>`,
	}
	var out strings.Builder
	for _, c := range cases {
		v, err := ecvoucher.ParseAnswer([]byte(c))
		out.WriteString(c + "\n")
		if err != nil {
			out.WriteString("  err: " + err.Error() + "\n")
		} else {
			out.WriteString("  card: " + strings.TrimSpace(strings.ReplaceAll(sprint(v.Card()), "\n", " ")) + "\n")
		}
	}
	checkGolden(t, "testdata/parse_answer.golden", out.String())
}

func FuzzParseAnswer(f *testing.F) {
	f.Add([]byte(`{"code":0,"data":{"ecToken":"T1","idNo":"1","idType":"01","userName":"王"}}`))
	f.Add([]byte(`{"code":0,"data":"{\"ecToken\":\"T2\"}"}`))
	f.Add([]byte(`{"code":1002,"message":"已过期"}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		v, err := ecvoucher.ParseAnswer(b)
		if err != nil {
			if !errors.Is(err, ecvoucher.ErrBadAnswer) && !errors.Is(err, ecvoucher.ErrExpired) && !errors.Is(err, ecvoucher.ErrRefused) {
				t.Fatalf("error %v is none of the sentinels", err)
			}
			return
		}
		if v.ECToken == "" || len(v.ECToken) > 512 {
			t.Fatalf("accepted voucher %+v", v)
		}
	})
}

// TestMain doubles as the reader-host child for the library transport.
func TestMain(m *testing.M) { standin.Main(m, "ECVOUCHER_CHILD") }

func TestDecoder_Decode_Library(t *testing.T) {
	lib := standin.Build(t)
	ctl := standin.NewControl(t)
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	h := libhost.New(libhost.Options{Exe: exe, Args: []string{"-test.run=^$"}, Env: []string{"ECVOUCHER_CHILD=1", ctl.Env()},
		Library: lib, Interface: "nationec", MinBackoff: 10 * time.Millisecond, MaxBackoff: 20 * time.Millisecond})
	defer h.Close()
	d := &ecvoucher.Decoder{Query: ecvoucher.Query{OrgID: "H33010200001"}, Transport: ecvoucher.Library{Host: h, URL: "http://ec.example/"}}
	ctl.Set(t, `ec {"code":0,"data":"{\"ecToken\":\"LIBTOKEN\",\"idNo\":\"330106199007074565\",\"idType\":\"01\",\"userName\":\"王小明\"}"}`)
	c, err := d.Decode(context.Background(), "ECQR:whatever")
	if err != nil || c.CardNo != "LIBTOKEN" || c.Name != "王小明" {
		t.Fatalf("Decode through NationEcTrans = %+v, %v; want the ecToken LIBTOKEN", c, err)
	}
	ctl.Set(t, "none")
	if _, err := d.Decode(context.Background(), "ECQR:x"); !errors.Is(err, ecvoucher.ErrOffline) {
		t.Errorf("NationEcTrans failing: %v; want ErrOffline", err)
	}
	ctl.Set(t, "crash")
	if _, err := d.Decode(context.Background(), "ECQR:x"); !errors.Is(err, ecvoucher.ErrOffline) {
		t.Errorf("NationEcTrans crashing: %v; want ErrOffline", err)
	}
}
