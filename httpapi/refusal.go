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

// The engine's notes on a platform answer that surprised it (workflow.Record.Surprises),
// as the Chinese page says them.
var surprisesZh = []struct {
	en *regexp.Regexp
	zh string
}{
	{regexp.MustCompile(`^settlement (\S+) of visit (\S+) was booked by msgid "(.*)", not one this bill sent; adopted: check it in the day's 3202$`),
		"平台上就诊 $2 的结算 $1 由报文 $3 记账，不是本单据发出的；已按平台记录采用：请在当日 3202 明细中核对"},
	{regexp.MustCompile(`^visit (\S+) holds (\d+) standing settlements at the platform; (\S+) adopted$`),
		"就诊 $1 在平台上有 $2 笔有效结算；已采用 $3"},
}

// surpriseText is one surprise note in lang.
func surpriseText(lang, note string) string {
	if lang == settle.LangEn {
		return note
	}
	for _, s := range surprisesZh {
		if s.en.MatchString(note) {
			return s.en.ReplaceAllString(note, s.zh)
		}
	}
	return note
}
