package platform

import (
	"context"
	"fmt"
)

// Typed calls of the inpatient transactions. Each is Client.Call with the transaction's
// own input and output types, so its errors fall into the same outcome classes (see
// Call); the *Response (warn_msg, inf_refmsgid) is returned whenever an envelope was
// decoded. The caller stores m.Msgid before the call, as for every write.

// Admit sends 2401 入院办理.
func (c *Client) Admit(ctx context.Context, m Meta, in AdmissionInput) (*AdmissionOutput, *Response, error) {
	var out AdmissionOutput
	resp, err := c.Call(ctx, InfnoAdmission, m, in, &out)
	if err != nil {
		return nil, resp, err
	}
	return &out, resp, nil
}

// ChangeAdmission sends 2403 入院信息变更.
func (c *Client) ChangeAdmission(ctx context.Context, m Meta, in AdmissionChangeInput) (*Response, error) {
	return c.Call(ctx, InfnoAdmissionChange, m, in, nil)
}

// CancelAdmission sends 2404 入院撤销.
func (c *Client) CancelAdmission(ctx context.Context, m Meta, in StayRefInput) (*Response, error) {
	return c.Call(ctx, InfnoCancelAdmission, m, in, nil)
}

// Discharge sends 2402 出院办理.
func (c *Client) Discharge(ctx context.Context, m Meta, in DischargeInput) (*Response, error) {
	return c.Call(ctx, InfnoDischarge, m, in, nil)
}

// CancelDischarge sends 2405 出院撤销.
func (c *Client) CancelDischarge(ctx context.Context, m Meta, in StayRefInput) (*Response, error) {
	return c.Call(ctx, InfnoCancelDischarge, m, in, nil)
}

// UploadInpatientFees sends 2301 住院费用明细上传. An answer that does not classify every
// line sent is ErrBadResponse (and so an unknown outcome).
func (c *Client) UploadInpatientFees(ctx context.Context, m Meta, in InpatientFeeInput) (*InpatientFeeOutput, *Response, error) {
	var out InpatientFeeOutput
	resp, err := c.Call(ctx, InfnoInpatientFeeUpload, m, in, &out)
	if err != nil {
		return nil, resp, err
	}
	got := make(map[string]bool, len(out.Result))
	for _, r := range out.Result {
		got[r.FeedetlSn] = true
	}
	for _, d := range in.Feedetail {
		if !got[d.FeedetlSn] {
			return nil, resp, fmt.Errorf("call %s %s: %w", InfnoInpatientFeeUpload, m.Msgid,
				badf("2301 answer does not list feedetl_sn %s that was sent", d.FeedetlSn))
		}
	}
	return &out, resp, nil
}

// CancelInpatientFees sends 2302 住院费用明细撤销.
func (c *Client) CancelInpatientFees(ctx context.Context, m Meta, in InpatientCancelFeeInput) (*Response, error) {
	return c.Call(ctx, InfnoInpatientCancelFee, m, in, nil)
}

// PreSettleInpatient sends 2303 住院预结算; nothing is booked.
func (c *Client) PreSettleInpatient(ctx context.Context, m Meta, in InpatientPreSettleInput) (*InpatientSettleOutput, *Response, error) {
	var out InpatientSettleOutput
	resp, err := c.Call(ctx, InfnoInpatientPreSettle, m, in, &out)
	if err != nil {
		return nil, resp, err
	}
	return &out, resp, nil
}

// SettleInpatient sends 2304 住院结算. An answer whose medins_setl_id is set but is not
// m.Msgid is a surprise on the *Response (the settlement is booked all the same).
func (c *Client) SettleInpatient(ctx context.Context, m Meta, in InpatientSettleInput) (*InpatientSettleOutput, *Response, error) {
	var out InpatientSettleOutput
	resp, err := c.Call(ctx, InfnoInpatientSettle, m, in, &out)
	if err != nil {
		return nil, resp, err
	}
	if id := out.Setlinfo.MedinsSetlID; id != "" && id != m.Msgid && resp != nil {
		// medins_setl_id should echo the msgid; a province that fills it otherwise still
		// booked this request's settlement.
		resp.Surprises = append(resp.Surprises, Surprise{Kind: SurpriseMismatch, Field: "setlinfo.medins_setl_id",
			Detail: fmt.Sprintf("2304 answer has medins_setl_id %s, not this request's msgid %s", id, m.Msgid)})
	}
	return &out, resp, nil
}

// CancelInpatientSettlement sends 2305 住院结算撤销.
func (c *Client) CancelInpatientSettlement(ctx context.Context, m Meta, in InpatientCancelSettleInput) (*InpatientCancelSettleOutput, *Response, error) {
	var out InpatientCancelSettleOutput
	resp, err := c.Call(ctx, InfnoInpatientCancelSettle, m, in, &out)
	if err != nil {
		return nil, resp, err
	}
	return &out, resp, nil
}
