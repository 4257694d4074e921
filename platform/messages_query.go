package platform

// Queries: 5201 visits, 5203 settlements, 5204 fee details. They book nothing; an
// unknown outcome of one is simply asked again.

// Transaction numbers of the queries and the file exchange.
const (
	InfnoVisitQuery   = "5201" // 就诊信息查询 visit query
	InfnoSettleQuery  = "5203" // 结算信息查询 settlement query
	InfnoFeeQuery     = "5204" // 费用明细查询 fee detail query
	InfnoFileUpload   = "9101" // 文件上传 file upload
	InfnoFileDownload = "9102" // 文件下载 file download
)

// VisitQueryInput is the input of 5201 就诊信息查询.
type VisitQueryInput struct {
	Data VisitQueryData `json:"data"`
}

// VisitQueryData selects a person's visits in a period (begntime/endtime
// "yyyy-MM-dd HH:mm:ss"), optionally of one med_type or one mdtrt_id.
type VisitQueryData struct {
	PsnNo    string `json:"psn_no"`
	Begntime string `json:"begntime"`
	Endtime  string `json:"endtime"`
	MedType  string `json:"med_type"`
	MdtrtID  string `json:"mdtrt_id"`
}

// VisitQueryOutput is the output of 5201.
type VisitQueryOutput struct {
	Mdtrtinfo []VisitRecord `json:"mdtrtinfo"`
}

// VisitRecord is one visit the platform holds. ipt_otp_no is the hospital's own visit
// number, by which a visit whose 2201/2401 answer was lost is found.
type VisitRecord struct {
	MdtrtID       string `json:"mdtrt_id"`
	PsnNo         string `json:"psn_no"`
	IptOtpNo      string `json:"ipt_otp_no"`
	MedType       string `json:"med_type"`
	Begntime      string `json:"begntime"`
	Endtime       string `json:"endtime"`
	Insutype      string `json:"insutype,omitempty"`
	FixmedinsCode string `json:"fixmedins_code,omitempty"`
	FixmedinsName string `json:"fixmedins_name,omitempty"`
	ValiFlag      string `json:"vali_flag,omitempty"`
	DiseCodg      string `json:"dise_codg,omitempty"`
	DiseName      string `json:"dise_name,omitempty"`
}

// ByIptOtpNo returns the visit with the hospital's visit number no that is not marked
// invalid (vali_flag "0"), and whether there is one.
func (o *VisitQueryOutput) ByIptOtpNo(no string) (VisitRecord, bool) {
	for _, v := range o.Mdtrtinfo {
		if v.IptOtpNo == no && v.ValiFlag != "0" && v.MdtrtID != "" {
			return v, true
		}
	}
	return VisitRecord{}, false
}

// Surprises names visits without mdtrt_id.
func (o *VisitQueryOutput) Surprises(infno string) []Surprise {
	var out []Surprise
	for i, v := range o.Mdtrtinfo {
		if v.MdtrtID == "" {
			out = append(out, Surprise{Kind: SurpriseMissing, Field: sprintfField("mdtrtinfo[%d].mdtrt_id", i), Detail: infno + " answer lists a visit without mdtrt_id"})
		}
	}
	return out
}

// SettleQueryInput is the input of 5203 结算信息查询.
type SettleQueryInput struct {
	Data SettleQueryData `json:"data"`
}

// SettleQueryData names a settlement by setl_id, or a visit's settlements by mdtrt_id.
type SettleQueryData struct {
	PsnNo   string `json:"psn_no"`
	SetlID  string `json:"setl_id"`
	MdtrtID string `json:"mdtrt_id"`
}

// SetlinfoList is one or more settlements: 5203 answers setlinfo as an object, some
// provinces as a list (a visit's settlement and its cancellation); both are read.
type SetlinfoList []Setlinfo

func (SetlinfoList) oneOrMany() {}

// SettleQueryOutput is the output of 5203.
type SettleQueryOutput struct {
	Setlinfo   SetlinfoList `json:"setlinfo"`
	Setldetail []SetlDetail `json:"setldetail"`
}

// ByMsgid returns the settlement whose medins_setl_id is msgid (the message that
// booked it), and whether there is one.
func (o *SettleQueryOutput) ByMsgid(msgid string) (Setlinfo, bool) {
	for _, s := range o.Setlinfo {
		if s.MedinsSetlID == msgid {
			return s, true
		}
	}
	return Setlinfo{}, false
}

// Standing returns the settlements that are neither cancellations (negative
// medfee_sumamt, refd_setl_flag "1") nor marked invalid (vali_flag "0").
func (o *SettleQueryOutput) Standing() []Setlinfo {
	var out []Setlinfo
	for _, s := range o.Setlinfo {
		if s.MedfeeSumamt < 0 || s.RefdSetlFlag == "1" || s.ValiFlag == "0" || s.SetlID == "" {
			continue
		}
		out = append(out, s)
	}
	return out
}

// Surprises lists the identities that do not add up in each settlement.
func (o *SettleQueryOutput) Surprises(infno string) []Surprise {
	var out []Surprise
	for _, s := range o.Setlinfo {
		out = append(out, s.Identity(infno)...)
	}
	return out
}

// FeeQueryInput is the input of 5204 费用明细查询.
type FeeQueryInput struct {
	Data FeeQueryData `json:"data"`
}

// FeeQueryData names a visit (mdtrt_id) and optionally its settlement (setl_id).
type FeeQueryData struct {
	PsnNo   string `json:"psn_no"`
	SetlID  string `json:"setl_id"`
	MdtrtID string `json:"mdtrt_id"`
}

// FeeQueryOutput is the output of 5204. Some provinces answer the list itself as the
// output; both are read.
type FeeQueryOutput struct {
	Feedetail []FeeRecord `json:"feedetail"`
}

func (*FeeQueryOutput) wrapList() string { return "feedetail" }

// FeeRecord is one fee line the platform holds.
type FeeRecord struct {
	FeedetlSn        string `json:"feedetl_sn"`
	MdtrtID          string `json:"mdtrt_id"`
	PsnNo            string `json:"psn_no"`
	ChrgBchno        string `json:"chrg_bchno"`
	SetlID           string `json:"setl_id,omitempty"`
	Rxno             string `json:"rxno,omitempty"`
	FeeOcurTime      string `json:"fee_ocur_time"`
	MedListCodg      string `json:"med_list_codg"`
	MedinsListCodg   string `json:"medins_list_codg"`
	DetItemFeeSumamt Amount `json:"det_item_fee_sumamt"`
	Cnt              Cnt    `json:"cnt"`
	Pric             Pric   `json:"pric"`
	PricUplmtAmt     Pric   `json:"pric_uplmt_amt"`
	SelfpayProp      Ratio  `json:"selfpay_prop"`
	FulamtOwnpayAmt  Amount `json:"fulamt_ownpay_amt"`
	OverlmtAmt       Amount `json:"overlmt_amt"`
	PreselfpayAmt    Amount `json:"preselfpay_amt"`
	InscpScpAmt      Amount `json:"inscp_scp_amt"`
	ChrgitmLv        string `json:"chrgitm_lv"`
	MedChrgitmType   string `json:"med_chrgitm_type"`
	BilgDeptCodg     string `json:"bilg_dept_codg,omitempty"`
	BilgDrCodg       string `json:"bilg_dr_codg,omitempty"`
	ValiFlag         string `json:"vali_flag,omitempty"`
}

// Batch returns the lines of charge batch chrgBchno that are not marked invalid.
func (o *FeeQueryOutput) Batch(chrgBchno string) []FeeRecord {
	var out []FeeRecord
	for _, f := range o.Feedetail {
		if f.ChrgBchno == chrgBchno && f.ValiFlag != "0" {
			out = append(out, f)
		}
	}
	return out
}
