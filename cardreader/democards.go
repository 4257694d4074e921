package cardreader

import "github.com/settle-agent/settle-agent"

// DemoCards returns a few social security cards whose numbers pass GB 11643, valid
// 2020-2035, for the demo, the simulated reader and tests: one insured locally
// (330100, Hangzhou, the demo hospital's area) and four insured elsewhere (Beijing,
// Shanghai, Shenzhen, Chengdu) for cross-region settlement. `card N` in
// `settle-agent sim reader` is DemoCards()[N-1].
func DemoCards() []settle.Card {
	mk := func(region, ssn, cardNo, sn, name string) settle.Card {
		return settle.Card{
			CertType:    settle.CertSSCard,
			RegionCode:  region,
			SSN:         ssn,
			CardNo:      cardNo,
			CardSN:      sn,
			Name:        name,
			ResetInfo:   "3B6D00000086384A5443303103",
			SpecVersion: "3.00",
			IssueDate:   "20200101",
			ExpiryDate:  "20351231",
			TerminalNo:  "SIM00001",
			DeviceNo:    "SIMDEV01",
		}
	}
	return []settle.Card{
		mk("330100", "330106199007074565", "A33010001", "330100D156000005A1B2C3D4E5F60001", "王小明"),
		mk("110100", "11010519491231002X", "A11010002", "110100D156000005A1B2C3D4E5F60002", "张三"),
		mk("310100", "31010419820315123X", "A31010003", "310100D156000005A1B2C3D4E5F60003", "李四"),
		mk("440300", "440305197511207890", "A44030004", "440300D156000005A1B2C3D4E5F60004", "陈丽华"),
		mk("510100", "510107200002290360", "A51010005", "510100D156000005A1B2C3D4E5F60005", "刘芳"),
	}
}
