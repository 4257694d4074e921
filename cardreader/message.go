package cardreader

import (
	"errors"
	"fmt"

	"github.com/settle-agent/settle-agent/cardreader/libhost"
	"github.com/settle-agent/settle-agent/ecvoucher"
)

// zhMessages are the Chinese sentences the cashier reads for each reason a read
// failed, in the order they are tried (the most specific first).
var zhMessages = []struct {
	err  error
	code string // stable name of the reason, for a remote read
	zh   string
}{
	{ecvoucher.ErrExpired, "ec_expired", "电子凭证二维码已过期：请患者在医保App中刷新二维码后重新扫码"},
	{ecvoucher.ErrOffline, "ec_offline", "电子凭证暂时无法读取（解码服务不可达）：请使用社保卡或身份证"},
	{ecvoucher.ErrNotConfigured, "ec_not_configured", "本机未配置电子凭证解码服务，无法读取电子凭证：请使用社保卡或身份证"},
	{ecvoucher.ErrBusy, "ec_busy", "电子凭证解码繁忙：请重新扫码"},
	{ecvoucher.ErrBadAnswer, "ec_bad_answer", "电子凭证解码服务的应答无法识别：请使用社保卡或身份证"},
	{ecvoucher.ErrRefused, "ec_refused", "电子凭证解码服务拒绝了该二维码"},
	{ErrReaderFault, "reader_fault", "读卡器驱动异常，正在自动重启：请数秒后拔出并重新插入卡片"},
	{libhost.ErrHung, "library_hung", "读卡器驱动无响应，正在自动重启：请数秒后重新插卡"},
	{libhost.ErrCrashed, "library_crashed", "读卡器驱动崩溃，正在自动重启：请数秒后重新插卡"},
	{libhost.ErrLibrary, "library_failed", "读卡器驱动无法加载或初始化：请联系医院信息科（见 doctor 检查结果）"},
	{ErrCardExpired, "card_expired", "社保卡已过期：请患者到社保经办机构换卡，或使用医保电子凭证"},
	{ErrIDCardExpired, "idcard_expired", "身份证已过期：请使用社保卡或医保电子凭证"},
	{ErrBadIDCard, "bad_idcard", "身份证信息无法识别：请将身份证移开后重新放置；如仍失败，请手工输入身份证号"},
	{ErrBadIDNumber, "bad_id_number", "卡内证件号码校验位错误，卡片可能已损坏：请使用身份证或医保电子凭证"},
	{ErrBadRegion, "bad_region", "卡片发卡地区代码不是6位数字，无法结算：请使用医保电子凭证"},
	{ErrBadDate, "bad_date", "卡片的发卡日期或有效期无效，无法结算：请使用医保电子凭证"},
	{ErrBadBasic, "bad_basic", "卡片信息无法识别：请拔出后重新插卡；如仍失败，请使用医保电子凭证"},
	{ErrLineTooLong, "line_too_long", "扫描内容超过512个字符，不是电子凭证二维码：请重新扫描医保电子凭证"},
	{ErrBadLine, "bad_line", "扫描内容不是电子凭证二维码：请患者打开医保电子凭证后重新扫码"},
	{ErrNoReply, "no_reply", "读卡器无响应：请检查数据线或USB插头及电源，系统会自动重试"},
	{ErrNotConnected, "not_connected", "读卡器未连接：请检查数据线或USB插头，系统会自动重连"},
}

// zhStatus are the Chinese sentences of the reader's status bytes.
var zhStatus = map[byte]string{
	StatusNoCard:     "未检测到卡片：请将卡片芯片朝前插入后重试",
	StatusUnreadable: "卡片无法读取：请用干布擦拭芯片后重新插入；如仍失败，请使用医保电子凭证",
	StatusPSAM:       "读卡器安全模块（PSAM）故障，本窗口无法读卡：请联系医院信息科，其间请使用医保电子凭证",
	StatusLocked:     "卡片已锁定：请患者到社保经办机构处理",
}

// Message is what the cashier reads for a failed read, in lang ("zh", the default, or
// "en"). A message from a remote reader host or from the e-voucher service itself is
// kept as it came, after the Chinese sentence for its kind.
func Message(err error, lang string) string {
	if err == nil {
		return ""
	}
	if lang == "en" {
		return err.Error()
	}
	var se *StatusError
	if errors.As(err, &se) {
		if m, ok := zhStatus[se.Status]; ok {
			return m
		}
		return fmt.Sprintf("读卡器返回状态 0x%02X：请拔出后重新插卡；如反复出现，请联系医院信息科", se.Status)
	}
	for _, m := range zhMessages {
		if errors.Is(err, m.err) {
			if m.err == ecvoucher.ErrRefused {
				return m.zh + "：" + err.Error()
			}
			return m.zh
		}
	}
	var re *ErrRemote
	if errors.As(err, &re) {
		return "收费窗口电脑上的读卡器报告：" + re.Msg
	}
	return err.Error()
}

// ErrorCode is the stable name of err's reason ("card_expired", "reader_fault", …; a
// status byte is "status_0xNN"), or "" when it has none. A reader host sends it with
// a failed read so that the agent can tell the cashier in the agent's language.
func ErrorCode(err error) string {
	var se *StatusError
	if errors.As(err, &se) {
		return fmt.Sprintf("status_0x%02X", se.Status)
	}
	for _, m := range zhMessages {
		if errors.Is(err, m.err) {
			return m.code
		}
	}
	return ""
}

// errorOfCode is the sentinel ErrorCode named, or nil.
func errorOfCode(code string) error {
	var b byte
	if _, err := fmt.Sscanf(code, "status_0x%02X", &b); err == nil && b != 0 {
		return &StatusError{Status: b}
	}
	for _, m := range zhMessages {
		if m.code == code {
			return m.err
		}
	}
	return nil
}
