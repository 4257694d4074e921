package httpapi

import (
	"regexp"
	"strings"

	settle "github.com/settle-agent/settle-agent"
	"github.com/settle-agent/settle-agent/workflow"
)

// Reasons the agent itself gives for a bill it refused or gave up, as the status
// page says them in its language. A platform's refusal (platform_refused) is the
// platform's own err_msg and is shown as it came.
var (
	notFiledCodes = regexp.MustCompile(`disease \[([^\]]*)\]`)
	horizonPrefix = map[string]string{
		"not settled within the retry horizon: ": "重试期满仍未结算：",
		"not sent within the retry horizon: ":    "重试期满仍未发送：",
	}
)

// refusalText is why rec was refused or given up, in lang.
func refusalText(lang string, rec *workflow.Record) string {
	msg := rec.ErrMsg
	if lang == settle.LangEn || msg == "" {
		return msg
	}
	switch rec.ErrCode {
	case "offline_refused":
		return "平台离线时按离线策略（refuse）不办理医保结算：请患者自费，或等平台恢复后再结算"
	case "not_qualified":
		codes := ""
		if m := notFiledCodes.FindStringSubmatch(msg); m != nil {
			codes = "（" + m[1] + "）"
		}
		return "患者未在参保地备案该门诊慢特病" + codes + "（5301）：按普通门诊（医疗类别 11）结算，或请参保地先办理备案"
	case "dead":
		if msg == "moved to dead by an administrator" {
			return "管理员已放弃"
		}
		for en, zh := range horizonPrefix {
			if rest, ok := strings.CutPrefix(msg, en); ok {
				return zh + rest
			}
		}
	}
	return msg
}
