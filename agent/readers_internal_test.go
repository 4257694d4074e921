package agent

import (
	"testing"

	"github.com/settle-agent/settle-agent/config"
)

func TestHeasecInit_MergesInitJSON(t *testing.T) {
	m := heasecInit(config.HeaSecInit{IP: "10.1.2.3", PORT: 7020}, `{"EC_URL":"http://ec","IP":"ignored"}`)
	if m["IP"] != "10.1.2.3" || m["PORT"] != 7020 || m["EC_URL"] != "http://ec" || len(m) != 3 {
		t.Errorf("heasecInit = %v; want IP and PORT from init over init_json's EC_URL", m)
	}
}
