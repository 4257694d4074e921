package catalogue

import (
	"sort"
	"strings"

	settle "github.com/settle-agent/settle-agent"
	"github.com/settle-agent/settle-agent/hisadapter"
	"github.com/settle-agent/settle-agent/platform"
)

// Rule is one row of a paged query (1312, 1316, 1317, 1318, 1319), kept by rid. Code
// is what it is looked up by: hilist_code (1312, 1318, 1319), med_list_codg (1316) or
// medins_list_codg (1317). The other fields are those of its query.
type Rule struct {
	Rid      string          `json:"rid"`
	Code     string          `json:"code"`
	Admdvs   string          `json:"insu_admdvs,omitempty"`
	Begin    hisadapter.Date `json:"begndate,omitempty"`
	End      hisadapter.Date `json:"enddate,omitempty"`
	Invalid  bool            `json:"invalid,omitempty"` // vali_flag 0
	UpdtTime string          `json:"updt_time,omitempty"`
	ListType string          `json:"list_type,omitempty"`
	Name     string          `json:"name,omitempty"`

	Class       string       `json:"class,omitempty"` // 1312: 甲, 乙, 丙
	ChrgitmType string       `json:"med_chrgitm_type,omitempty"`
	Cap         settle.Price `json:"cap,omitempty"` // 1318: hilist_pric_uplmt_amt
	CapType     string       `json:"lmtpric_type,omitempty"`
	OverlmtWay  string       `json:"overlmt_dspo_way,omitempty"`
	PsnType     string       `json:"psn_type,omitempty"` // 1319: selfpay_prop_psn_type
	PropType    string       `json:"prop_type,omitempty"`
	Prop        string       `json:"selfpay_prop,omitempty"` // 1319: decimal text
	HilistCode  string       `json:"hilist_code,omitempty"`  // 1316
	MedListCodg string       `json:"med_list_codg,omitempty"`
}

// Covers reports whether the rule is in force on day.
func (r Rule) Covers(day hisadapter.Date) bool {
	return !r.Invalid && (r.Begin == 0 || day >= r.Begin) && (r.End == 0 || day <= r.End)
}

func day(t platform.Text) hisadapter.Date {
	d, _ := ParseDay(string(t))
	return d
}

func trim(t platform.Text) string { return strings.TrimSpace(string(t)) }

func base(rid, code, admdvs, begin, end, vali, updt platform.Text) Rule {
	return Rule{Rid: trim(rid), Code: trim(code), Admdvs: trim(admdvs), Begin: day(begin), End: day(end),
		Invalid: trim(vali) == "0", UpdtTime: trim(updt)}
}

func hilistRule(r platform.HilistRow) Rule {
	x := base(r.Rid, r.HilistCode, r.InsuAdmdvs, r.Begndate, r.Enddate, r.ValiFlag, r.UpdtTime)
	x.Name, x.ListType, x.ChrgitmType = trim(r.HilistName), trim(r.ListType), trim(r.MedChrgitmType)
	x.Class = classOf(trim(r.ChrgitmLv))
	return x
}

func limitPriceRule(r platform.LimitPriceRow) Rule {
	x := base(r.Rid, r.HilistCode, r.InsuAdmdvs, r.Begndate, r.Enddate, r.ValiFlag, r.UpdtTime)
	x.Cap, x.CapType, x.OverlmtWay = r.HilistPricUplmtAmt.Price(), trim(r.HilistLmtpricType), trim(r.OverlmtDspoWay)
	return x
}

func selfpayRule(r platform.SelfpayRow) Rule {
	x := base(r.Rid, r.HilistCode, r.InsuAdmdvs, r.Begndate, r.Enddate, r.ValiFlag, r.UpdtTime)
	x.PsnType, x.PropType, x.Prop = trim(r.SelfpayPropPsnType), trim(r.SelfpayPropType), r.SelfpayProp.String()
	return x
}

func listMatchRule(r platform.ListMatchRow) Rule {
	x := base(r.Rid, r.MedListCodg, r.InsuAdmdvs, r.Begndate, r.Enddate, r.ValiFlag, r.UpdtTime)
	x.HilistCode, x.ListType, x.MedListCodg = trim(r.HilistCode), trim(r.ListType), trim(r.MedListCodg)
	return x
}

func medinsMatchRule(r platform.MedinsMatchRow) Rule {
	x := base(r.Rid, r.MedinsListCodg, r.InsuAdmdvs, r.Begndate, r.Enddate, r.ValiFlag, r.UpdtTime)
	x.Name, x.ListType, x.MedListCodg = trim(r.MedinsListName), trim(r.ListType), trim(r.MedListCodg)
	if x.Rid == "" {
		// Some platforms leave rid out of 1317: the row's own key stands in.
		x.Rid = x.Code + "|" + x.ListType + "|" + x.Begin.String()
	}
	return x
}

// regions is the order a region code is looked up in: the code itself, its
// prefecture (xxxx00), its province (xx0000), then rows for no region.
func regions(admdvs string) []string {
	out := []string{admdvs}
	if len(admdvs) == 6 {
		if c := admdvs[:4] + "00"; c != admdvs {
			out = append(out, c)
		}
		if p := admdvs[:2] + "0000"; p != admdvs && p != admdvs[:4]+"00" {
			out = append(out, p)
		}
	}
	return append(out, "")
}

// pick chooses the rule in force on day for admdvs (and psnType when not ""): the
// nearest region first, an exact person type before a row for every type, then the
// latest begndate, then the latest update.
func pick(rules []Rule, admdvs, psnType string, on hisadapter.Date) (Rule, bool) {
	var live []Rule
	for _, r := range rules {
		if r.Covers(on) {
			live = append(live, r)
		}
	}
	if len(live) == 0 {
		return Rule{}, false
	}
	for _, region := range regions(admdvs) {
		var in []Rule
		for _, r := range live {
			if r.Admdvs == region {
				in = append(in, r)
			}
		}
		if len(in) == 0 {
			continue
		}
		if psnType != "" {
			var exact []Rule
			for _, r := range in {
				if r.PsnType == psnType {
					exact = append(exact, r)
				}
			}
			if len(exact) > 0 {
				in = exact
			}
		}
		sort.SliceStable(in, func(i, j int) bool {
			if in[i].Begin != in[j].Begin {
				return in[i].Begin > in[j].Begin
			}
			return in[i].UpdtTime > in[j].UpdtTime
		})
		return in[0], true
	}
	return Rule{}, false
}
