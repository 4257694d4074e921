package sim

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/settle-agent/settle-agent/platform"
)

var sprintf = fmt.Sprintf

// visit is one outpatient registration (2201) and what was uploaded for it.
type visit struct {
	id, psnNo, insutype, fixmedins string
	iptOtpNo, begntime             string // from 2201
	reg                            *booking
	cancelled                      bool
	medType                        string // from 2203
	chronicDise                    string // a qualifying chronic diagnosis from 2203 (med_type 14)
	fees                           map[string]*fee
	order                          []string // feedetl_sn in upload order
	setlID                         string   // the settlement that stands, if any
}

// fee is one uploaded fee line.
type fee struct {
	sn, chrgBchno, medListCodg string
	medinsListCodg, ocurTime   string
	cnt                        platform.Cnt
	pric                       platform.Pric
	split                      feeSplit
	upload                     *booking
	cancelled                  bool
}

// dispatch runs one transaction; the caller holds p.mu.
func (p *Platform) dispatch(req *platform.Request) (any, *bizError) {
	if req.Infno == "" {
		return nil, biz("缺少交易编号 infno")
	}
	if e := p.sessionRefusal(req); e != nil {
		return nil, e
	}
	if p.opts.RequireSignIn && req.Infno != platform.InfnoSignIn && !p.st.signNos[req.SignNo] {
		return nil, biz("签到编号 sign_no 无效或已失效，请先签到(9001)")
	}
	if e := p.insuplcRefusal(req); e != nil {
		return nil, e
	}
	switch req.Infno {
	case platform.InfnoSignIn:
		return p.signIn(req)
	case platform.InfnoSignOut:
		return p.signOut(req)
	case platform.InfnoPersonInfo:
		return p.personInfo(req)
	case platform.InfnoChronicQuery:
		return p.chronicQuery(req)
	case platform.InfnoRegister:
		return p.register(req)
	case platform.InfnoCancelRegister:
		return p.cancelRegister(req)
	case platform.InfnoVisitInfo:
		return p.visitInfo(req)
	case platform.InfnoFeeUpload:
		return p.feeUpload(req)
	case platform.InfnoCancelFee:
		return p.cancelFee(req)
	case platform.InfnoPreSettle:
		return p.preSettle(req)
	case platform.InfnoSettle:
		return p.settleTxn(req)
	case platform.InfnoCancelSettle:
		return p.cancelSettle(req)
	case platform.InfnoReversal:
		return p.reversal(req)
	case platform.InfnoTotalRecon:
		return p.totalRecon(req)
	case platform.InfnoDetailRecon:
		return p.detailRecon(req)
	case platform.InfnoVisitQuery:
		return p.visitQuery(req)
	case platform.InfnoSettleQuery:
		return p.settleQuery(req)
	case platform.InfnoFeeQuery:
		return p.feeQuery(req)
	case platform.InfnoFileUpload:
		return p.fileUpload(req)
	case platform.InfnoFileDownload:
		return p.fileDownload(req)
	}
	if h, ok := inpatientTxns[req.Infno]; ok {
		return h(p, req)
	}
	if out, e, ok := p.dispatchCatalogue(req); ok {
		return out, e
	}
	return nil, biz("不支持的交易编号 %s", req.Infno)
}

// decodeInput decodes the envelope's input into v; a malformed input is a business error.
func decodeInput(req *platform.Request, v any) *bizError {
	if len(req.Input) == 0 || string(req.Input) == "null" {
		return nil
	}
	if err := json.Unmarshal(req.Input, v); err != nil {
		return biz("交易%s入参格式错误: %v", req.Infno, err)
	}
	return nil
}

// requireFields refuses an input whose object at key lacks any of fields (present as
// null counts as present: the value is then checked as zero).
func requireFields(req *platform.Request, key string, fields ...string) *bizError {
	var outer map[string]json.RawMessage
	if json.Unmarshal(req.Input, &outer) != nil {
		return biz("交易%s入参格式错误", req.Infno)
	}
	var inner map[string]json.RawMessage
	if json.Unmarshal(outer[key], &inner) != nil {
		return biz("交易%s缺少 %s", req.Infno, key)
	}
	var missing []string
	for _, f := range fields {
		if _, ok := inner[f]; !ok {
			missing = append(missing, f)
		}
	}
	if len(missing) > 0 {
		return biz("交易%s缺少必填项 %s (来自预结算结果)", req.Infno, strings.Join(missing, ", ")).as(RuleSettleWithoutPreSettle)
	}
	return nil
}

// nextID returns prefix + a number unique for the platform's life (across resets).
func (p *Platform) nextID(prefix string) string {
	p.seq++
	return prefix + p.now().In(beijing).Format("20060102") + fmt.Sprintf("%08d", p.seq)
}

func (p *Platform) nowText() string { return p.now().In(beijing).Format(platform.InfTimeLayout) }

func (p *Platform) today() string { return p.now().In(beijing).Format(time.DateOnly) }

func (p *Platform) signIn(req *platform.Request) (any, *bizError) {
	var in platform.SignInInput
	if e := decodeInput(req, &in); e != nil {
		return nil, e
	}
	no := p.nextID("SN")
	p.st.signNos[no] = true
	return platform.SignInOutput{Signinoutb: platform.Signinoutb{SignNo: no, SignTime: p.nowText()}}, nil
}

func (p *Platform) signOut(req *platform.Request) (any, *bizError) {
	var in platform.SignOutInput
	if e := decodeInput(req, &in); e != nil {
		return nil, e
	}
	no := in.SignOut.SignNo
	if no == "" {
		no = req.SignNo
	}
	delete(p.st.signNos, no)
	return platform.SignOutOutput{Signoutoutb: platform.Signinoutb{SignNo: no, SignTime: p.nowText()}}, nil
}

// findPerson resolves a certificate to a person.
func (p *Platform) findPerson(q platform.PersonQuery) (*FixturePerson, *bizError) {
	var fp *FixturePerson
	switch q.MdtrtCertType {
	case "01":
		fp = p.byECToken[q.MdtrtCertNo]
	case "02":
		no := q.MdtrtCertNo
		if no == "" {
			no = q.Certno
		}
		fp = p.byCertno[strings.ToUpper(no)]
	case "03":
		fp = p.byCardNo[q.MdtrtCertNo]
		if fp != nil && q.CardSN != "" && q.CardSN != fp.CardSN {
			return nil, biz("社会保障卡识别码 card_sn 与卡号不符，请重新读卡")
		}
	default:
		return nil, biz("就诊凭证类型 mdtrt_cert_type %q 不正确 (01 电子凭证, 02 身份证, 03 社保卡)", q.MdtrtCertType)
	}
	if fp == nil {
		return nil, biz("人员信息不存在")
	}
	return fp, nil
}

func (p *Platform) personInfo(req *platform.Request) (any, *bizError) {
	var in platform.PersonInfoInput
	if e := decodeInput(req, &in); e != nil {
		return nil, e
	}
	fp, e := p.findPerson(in.Data)
	if e != nil {
		return nil, e
	}
	// The real platform checks a name it is given against the certificate's person.
	if n := strings.TrimSpace(in.Data.PsnName); n != "" && n != fp.Name {
		return nil, biz("人员姓名 psn_name 与证件信息不符，请核对姓名")
	}
	ps := p.st.persons[fp.PsnNo]
	return platform.PersonInfoOutput{
		Baseinfo: platform.BaseInfo{
			PsnNo: fp.PsnNo, PsnCertType: "01", Certno: fp.Certno, PsnName: fp.Name,
			Gend: fp.Gend, Naty: fp.Naty, Brdy: fp.Brdy, Age: json.Number(strconv.Itoa(ageOn(fp.Brdy, p.now().In(beijing)))),
		},
		Insuinfo: []platform.InsuInfo{{
			Balc: platform.AmountOf(ps.balance), Insutype: fp.Insutype, PsnType: fp.PsnType,
			PsnInsuStas: "1", PsnInsuDate: "2015-01-01", CvlservFlag: "0",
			InsuplcAdmdvs: fp.InsuplcAdmdvs, EmpName: fp.EmpName,
		}},
		Idetinfo: []platform.IdetInfo{},
	}, nil
}

// ageOn is the age in whole years on day now of someone born brdy (yyyy-MM-dd).
func ageOn(brdy string, now time.Time) int {
	b, err := time.Parse(time.DateOnly, brdy)
	if err != nil {
		return 0
	}
	age := now.Year() - b.Year()
	if now.Month() < b.Month() || now.Month() == b.Month() && now.Day() < b.Day() {
		age--
	}
	return max(age, 0)
}

func (p *Platform) person(psnNo string) (*personState, *bizError) {
	ps, ok := p.st.persons[psnNo]
	if !ok {
		return nil, biz("人员信息不存在: psn_no %s", psnNo)
	}
	return ps, nil
}

func (p *Platform) chronicQuery(req *platform.Request) (any, *bizError) {
	var in platform.ChronicQueryInput
	if e := decodeInput(req, &in); e != nil {
		return nil, e
	}
	ps, e := p.person(in.Data.PsnNo)
	if e != nil {
		return nil, e
	}
	out := platform.ChronicQueryOutput{Feedetail: make([]platform.ChronicFiling, 0, len(ps.fx.Chronic))}
	for _, c := range ps.fx.Chronic {
		out.Feedetail = append(out.Feedetail, platform.ChronicFiling{
			OpspDiseCode: c.OpspDiseCode, OpspDiseName: c.Name, Begndate: c.Begndate, Enddate: c.Enddate,
		})
	}
	return out, nil
}

// crossRegion reports whether the person is insured outside the treatment area's prefecture.
func (p *Platform) crossRegion(fp *FixturePerson) bool {
	return !sameCity(fp.InsuplcAdmdvs, p.fx.TreatmentAdmdvs)
}

func (p *Platform) register(req *platform.Request) (any, *bizError) {
	var in platform.RegisterInput
	if e := decodeInput(req, &in); e != nil {
		return nil, e
	}
	d := in.Data
	ps, e := p.person(d.PsnNo)
	if e != nil {
		return nil, e
	}
	fp := ps.fx
	if d.Insutype != "" && d.Insutype != fp.Insutype {
		return nil, biz("险种类型 %s 与参保人险种 %s 不符", d.Insutype, fp.Insutype)
	}
	if p.crossRegion(fp) && !fp.Filed && p.policies[fp.InsuplcAdmdvs].UnfiledRule == UnfiledRefuse {
		return nil, biz("参保人未备案: 异地就医需先在参保地(%s)办理备案", fp.InsuplcAdmdvs)
	}
	if d.IptOtpNo != "" {
		// ipt_otp_no is the hospital's own visit number, unique: a second registration
		// under it is refused while the first is open (standing, not settled): find
		// that one with 5201.
		for _, o := range p.st.byIptOtpNo[iptKey{req.FixmedinsCode, d.IptOtpNo}] {
			if !o.cancelled && o.setlID == "" && o.iptOtpNo == d.IptOtpNo && o.fixmedins == req.FixmedinsCode {
				return nil, biz("%s: 门诊号 ipt_otp_no %s 已登记(mdtrt_id %s)", msgAlreadyRegistered, d.IptOtpNo, o.id).as(RuleVisitRepeated)
			}
		}
	}
	v := &visit{
		id: p.nextID("MD"), psnNo: fp.PsnNo, insutype: fp.Insutype, fixmedins: req.FixmedinsCode,
		fees: map[string]*fee{},
	}
	ipt := d.IptOtpNo
	if ipt == "" {
		ipt = v.id
	}
	v.iptOtpNo, v.begntime = ipt, d.Begntime
	if v.begntime == "" {
		v.begntime = p.nowText()
	}
	v.reg = p.st.book(&booking{
		Entry: p.entry(req, fp.PsnNo, v.id),
		undo: func(s *state, by string) *bizError {
			if v.setlID != "" {
				return biz("就诊 %s 已结算，不能冲正挂号", v.id)
			}
			v.cancelled = true
			return nil
		},
	})
	v.reg.Insutype = fp.Insutype
	p.st.addVisit(v)
	return platform.RegisterOutput{Data: platform.RegisterResult{MdtrtID: v.id, PsnNo: fp.PsnNo, IptOtpNo: ipt}}, nil
}

// entry starts a ledger entry for req.
func (p *Platform) entry(req *platform.Request, psnNo, mdtrtID string) Entry {
	return Entry{
		Msgid: req.Msgid, Infno: req.Infno, Time: p.now(), Fixmedins: req.FixmedinsCode,
		PsnNo: psnNo, MdtrtID: mdtrtID,
	}
}

// liveVisit finds a visit that stands and belongs to psnNo (when given).
func (p *Platform) liveVisit(mdtrtID, psnNo string) (*visit, *bizError) {
	v, ok := p.st.visits[mdtrtID]
	if !ok || v.cancelled {
		return nil, biz("就诊信息不存在或已撤销: mdtrt_id %s", mdtrtID)
	}
	if psnNo != "" && psnNo != v.psnNo {
		return nil, biz("人员编号 %s 与就诊 %s 的人员不符", psnNo, mdtrtID)
	}
	return v, nil
}

func (p *Platform) cancelRegister(req *platform.Request) (any, *bizError) {
	var in platform.CancelRegisterInput
	if e := decodeInput(req, &in); e != nil {
		return nil, e
	}
	v, e := p.liveVisit(in.Data.MdtrtID, in.Data.PsnNo)
	if e != nil {
		return nil, e
	}
	if v.setlID != "" {
		return nil, biz("就诊 %s 已结算，请先撤销结算(2208)", v.id)
	}
	v.cancelled = true
	reg := v.reg
	reg.Cancelled, reg.CancelledBy = true, req.Msgid
	b := &booking{Entry: p.entry(req, v.psnNo, v.id)}
	b.Target = reg.Msgid
	b.undo = func(s *state, by string) *bizError {
		v.cancelled = false
		reg.Cancelled, reg.CancelledBy = false, ""
		return nil
	}
	p.st.book(b)
	return struct{}{}, nil
}

func (p *Platform) visitInfo(req *platform.Request) (any, *bizError) {
	var in platform.VisitInfoInput
	if e := decodeInput(req, &in); e != nil {
		return nil, e
	}
	mi := in.Mdtrtinfo
	v, e := p.liveVisit(mi.MdtrtID, mi.PsnNo)
	if e != nil {
		return nil, e
	}
	switch mi.MedType {
	case "11", "14", "21":
	default:
		return nil, biz("医疗类别 med_type %q 不支持 (11, 14, 21)", mi.MedType)
	}
	chronic := ""
	if mi.MedType == "14" {
		codes := []string{}
		if mi.DiseCodg != "" {
			codes = append(codes, mi.DiseCodg)
		}
		for _, d := range in.Diseinfo {
			if d.DiagCode != "" {
				codes = append(codes, d.DiagCode)
			}
		}
		if len(codes) == 0 {
			return nil, biz("门诊慢特病(14)就诊信息需填写病种诊断 dise_codg")
		}
		today := p.today()
		for _, code := range codes {
			for _, c := range p.st.persons[v.psnNo].fx.Chronic {
				if strings.EqualFold(c.OpspDiseCode, code) && c.Begndate <= today && today <= c.Enddate {
					chronic = c.OpspDiseCode
					break
				}
			}
			if chronic != "" {
				break
			}
		}
		if chronic == "" {
			return nil, biz("参保人无该门诊慢特病待遇资格: %s (请先在参保地办理慢特病备案)", strings.Join(codes, ","))
		}
	}
	v.medType, v.chronicDise = mi.MedType, chronic
	return struct{}{}, nil
}
