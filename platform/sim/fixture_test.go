package sim

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	settle "github.com/settle-agent/settle-agent"
	"github.com/settle-agent/settle-agent/hisadapter"
)

func TestDemoFixture(t *testing.T) {
	f := DemoFixture()
	if f.TreatmentAdmdvs != "330100" {
		t.Errorf("treatment_admdvs = %q; want 330100", f.TreatmentAdmdvs)
	}
	if len(f.Persons) < 8 {
		t.Errorf("%d persons; want at least 8", len(f.Persons))
	}
	if n := len(f.Catalogue()); n < 20 {
		t.Errorf("%d catalogue items; want about 20", n)
	}
	roles := map[string]func(p FixturePerson) bool{
		"local employee":        func(p FixturePerson) bool { return p.InsuplcAdmdvs == "330100" && p.Insutype == "310" && p.Balance > 0 },
		"local resident":        func(p FixturePerson) bool { return p.InsuplcAdmdvs == "330100" && p.Insutype == "390" },
		"Shanghai filed":        func(p FixturePerson) bool { return p.InsuplcAdmdvs == "310000" && p.Filed },
		"unfiled cross-region":  func(p FixturePerson) bool { return !sameCity(p.InsuplcAdmdvs, "330100") && !p.Filed },
		"hypertension+diabetes": func(p FixturePerson) bool { return hasChronic(p, "I10.x00") && hasChronic(p, "E11.900") },
		"zero balance employee": func(p FixturePerson) bool { return p.Insutype == "310" && p.Balance == 0 },
		"probe":                 func(p FixturePerson) bool { return p.Probe },
	}
	for role, match := range roles {
		found := false
		for _, p := range f.Persons {
			found = found || match(p)
		}
		if !found {
			t.Errorf("demo fixture has no %s", role)
		}
	}
	classes := map[string]int{}
	for _, it := range f.Catalogue() {
		classes[it.Class]++
	}
	for _, c := range []string{ClassA, ClassB, ClassC} {
		if classes[c] == 0 {
			t.Errorf("catalogue has no %s item", c)
		}
	}
	// A fresh copy each time: changing one does not change the next.
	f.Persons[0].Balance = 1
	if DemoFixture().Persons[0].Balance == 1 {
		t.Error("DemoFixture returned shared state")
	}
}

func hasChronic(p FixturePerson, code string) bool {
	for _, c := range p.Chronic {
		if c.OpspDiseCode == code {
			return true
		}
	}
	return false
}

func TestFixture_Cards(t *testing.T) {
	f := DemoFixture()
	cards := f.Cards()
	var ss, ec int
	for _, c := range cards {
		switch c.CertType {
		case settle.CertSSCard:
			ss++
			if err := CheckCertno(c.SSN); err != nil || c.CardSN == "" || c.RegionCode == "" {
				t.Errorf("card %+v: ssn %v, card_sn and region needed", c, err)
			}
		case settle.CertEVoucher:
			ec++
		}
	}
	if ss != len(f.Persons) || ec != len(f.Persons) {
		t.Errorf("got %d cards and %d e-vouchers; want %d each", ss, ec, len(f.Persons))
	}
}

func TestCheckCertno(t *testing.T) {
	for _, tt := range []struct {
		in   string
		want string // "" ok, else part of the error
	}{
		{"330102198005120011", ""},
		{"31011519720630008X", ""},
		{"330102198005120012", "check character"},
		{"33010219800512001", "18 characters"},
		{"3301021980051200X1", "17 digits"},
		{"330102198013320011", "birth date"},
	} {
		err := CheckCertno(tt.in)
		if tt.want == "" && err != nil || tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)) {
			t.Errorf("CheckCertno(%q) = %v; want %q", tt.in, err, tt.want)
		}
	}
}

func TestLoadFixture_Errors(t *testing.T) {
	dir := t.TempDir()
	write := func(name, body string) string {
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
		return path
	}
	demo := string(demoJSON)
	tests := []struct {
		name, body string
		want       []string
	}{
		{"syntax error names the line", "{\n\"persons\": [\n}", []string{"line 3"}},
		{"unknown field", `{"treatment_admdvs":"330100","colour":1}`, []string{`unknown field "colour"`}},
		{"money as a number", strings.Replace(demo, `"balance": "2000.00"`, `"balance": 2000`, 1), []string{"send it as a string"}},
		{"bad check digit", strings.Replace(demo, "330102198005120011", "330102198005120012", 1), []string{"persons[0].certno", "check character"}},
		{"duplicate card", strings.Replace(demo, `"A33010002"`, `"A33010001"`, 1), []string{"persons[1].card_no", "already used by persons[0].card_no"}},
		{"no policy for the insured place", strings.Replace(demo, `"insuplc_admdvs": "320100"`, `"insuplc_admdvs": "440100"`, 1), []string{"persons[3].insuplc_admdvs", "440100 has no policy"}},
		{"resident with an account", strings.Replace(demo, `"insutype": "390", "psn_type": "31",
     "balance": "0.00"`, `"insutype": "390", "psn_type": "31",
     "balance": "10.00"`, 1), []string{"residents (390) have no personal account"}},
		{"乙 without a share", strings.Replace(demo, `"class": "乙", "selfpay_prop": "0.10", "price": "60.00"`, `"class": "乙", "price": "60.00"`, 1), []string{"catalogue[4].selfpay_prop"}},
		{"unknown class", strings.Replace(demo, `"class": "丙", "price": "300.00"`, `"class": "丁", "price": "300.00"`, 1), []string{`catalogue[8].class`}},
		{"ratio above 1", strings.Replace(demo, `"11": "0.80"`, `"11": "1.80"`, 1), []string{"policies[0].ratios.310.11", "between 0 and 1"}},
		{"bad unfiled rule", strings.Replace(demo, `"unfiled_rule": "ratio"`, `"unfiled_rule": "maybe"`, 1), []string{"policies[3].unfiled_rule"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := LoadFixture(write(strings.ReplaceAll(tt.name, " ", "_")+".json", tt.body))
			if err == nil {
				t.Fatal("got nil error; want one")
			}
			if !errors.Is(err, ErrFixture) {
				t.Errorf("error %v is not ErrFixture", err)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q; want it to contain %q", err, w)
				}
			}
		})
	}
	t.Run("missing file", func(t *testing.T) {
		_, err := LoadFixture(filepath.Join(dir, "nope.json"))
		if !errors.Is(err, os.ErrNotExist) {
			t.Errorf("got %v; want os.ErrNotExist", err)
		}
	})
	t.Run("validation error lists fields", func(t *testing.T) {
		_, err := LoadFixture(write("v.json", `{"treatment_admdvs":"33"}`))
		var ve *settle.ValidationError
		if !errors.As(err, &ve) || len(ve.Fields) < 3 {
			t.Fatalf("got %v; want a ValidationError naming treatment_admdvs, persons, catalogue", err)
		}
	})
	t.Run("demo loads", func(t *testing.T) {
		f, err := LoadFixture(write("demo.json", demo))
		if err != nil || len(f.Persons) != len(DemoFixture().Persons) {
			t.Fatalf("LoadFixture(demo) = %v", err)
		}
	})
}

func FuzzParseFixture(f *testing.F) {
	f.Add(demoJSON)
	f.Add([]byte(`{}`))
	f.Add([]byte(`{"treatment_admdvs":"330100","persons":[{"psn_no":"1","certno":"330102198005120011","balance":"1.00"}]}`))
	f.Add([]byte(`{"policies":[{"admdvs":"330100","ratios":{"310":{"11":0.8}},"unfiled_ratio":"x"}]}`))
	f.Add([]byte(`{"catalogue":[{"med_list_codg":"A","class":"乙","selfpay_prop":"-1","price":"1e3"}]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		fx, err := ParseFixture(strings.NewReader(string(data)))
		if err != nil {
			if !errors.Is(err, ErrFixture) && !strings.Contains(err.Error(), "read fixture") {
				t.Fatalf("error %v is not ErrFixture", err)
			}
			return
		}
		// A fixture that loads must run: every person can be looked up and settled against.
		p := New(fx, nil)
		for _, fp := range fx.Persons {
			if _, ok := p.Balance(fp.PsnNo); !ok {
				t.Fatalf("person %s lost", fp.PsnNo)
			}
			if p.policies[fp.InsuplcAdmdvs] == nil {
				t.Fatalf("person %s has no policy", fp.PsnNo)
			}
		}
		_ = fx.Cards()
	})
}

func TestFixture_MappingCSV(t *testing.T) {
	f := DemoFixture()
	m, err := hisadapter.ParseMapping(bytes.NewReader(f.MappingCSV()))
	if err != nil {
		t.Fatalf("the demo mapping does not parse: %v", err)
	}
	for _, it := range f.Catalogue() {
		e, why := m.Lookup(it.MedinsListCodg, time.Date(2026, 11, 23, 0, 0, 0, 0, time.UTC))
		if why != "" || e.MedListCodg != it.MedListCodg || e.MedinsListCodg != it.MedinsListCodg {
			t.Errorf("his_code %s maps to %+v (%s); want %s", it.MedinsListCodg, e, why, it.MedListCodg)
		}
	}
}
