package httpapi

import (
	"testing"

	settle "github.com/settle-agent/settle-agent"
)

func TestDecimalPath(t *testing.T) {
	for _, tt := range []struct{ body, want string }{
		{`{"bill_no":"MZ1","items":[{"line":1,"amount":"25.00"},{"line":2,"amount":25.0}]}`, "items[1].amount"},
		{`{"bill_no":"MZ1","total":30,"items":[{"line":1,"amount":25}]}`, "total"},
		{`{"items":[{"line":1,"qty":2,"amount":"2.00"}]}`, "items[0].qty"},
		{`{"items":[{"line":1,"unit_price":1.5}]}`, "items[0].unit_price"},
		{`{"items":[{"line":1,"amount":"25.00"}],"total":"25.00"}`, ""},
		{`{"items":[{"line":7}]}`, ""}, // line is a number by right
		{`{"items":[{"line":1,"amount":"25.001"}]}`, "items[0].amount"},
		{`{"total":"abc"}`, "total"},
		{`not json`, ""},
	} {
		if got := decimalPath([]byte(tt.body), &settle.Bill{}); got != tt.want {
			t.Errorf("decimalPath(%s): got %q; want %q", tt.body, got, tt.want)
		}
	}
}

func FuzzDecimalPath(f *testing.F) {
	f.Add([]byte(`{"items":[{"line":1,"amount":25.0}]}`))
	f.Add([]byte(`[[[[{"total":1}]]]]`))
	f.Add([]byte(`{"total":"1.00"`))
	f.Fuzz(func(t *testing.T, b []byte) {
		_ = decimalPath(b, &settle.Bill{})
	})
}

func TestDecimalFields_NamesEvery(t *testing.T) {
	body := `{"items":[{"line":1,"qty":"1.00001","amount":"25.00"},{"line":2,"unit_price":1.5,"amount":25}],"total":"x"}`
	got := decimalFields([]byte(body), &settle.Bill{})
	want := []string{"items[0].qty", "items[1].unit_price", "items[1].amount", "total"}
	if len(got) != len(want) {
		t.Fatalf("decimalFields: got %v; want %v", got, want)
	}
	for i, f := range got {
		if f.Field != want[i] || f.Reason == "" {
			t.Errorf("decimalFields[%d]: got %+v; want field %s with a reason", i, f, want[i])
		}
	}
}
