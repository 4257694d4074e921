package hisadapter

import (
	"bytes"
	"fmt"
	"strings"
	"unicode/utf8"

	"golang.org/x/text/encoding"
	"golang.org/x/text/encoding/charmap"
	"golang.org/x/text/encoding/simplifiedchinese"
)

var utf8BOM = []byte{0xEF, 0xBB, 0xBF}

// textEncoding returns the decoder for an encoding name as configuration files and
// MSH-18 spell it: "" / "utf-8" / "UNICODE UTF-8" (nil: UTF-8), "gbk" / "gb18030" /
// "GB 18030-2000" / "gb2312" (GB 18030, a superset of GBK and GB 2312), "8859/1".
func textEncoding(name string) (encoding.Encoding, error) {
	n := strings.ToUpper(strings.Join(strings.Fields(name), ""))
	n = strings.ReplaceAll(n, "_", "-")
	switch n {
	case "", "UTF-8", "UTF8", "UNICODEUTF-8", "UNICODE", "ASCII", "US-ASCII":
		return nil, nil
	case "GBK", "GB18030", "GB18030-2000", "GB18030-2005", "GB18030-2022", "GB2312", "CP936":
		return simplifiedchinese.GB18030, nil
	case "8859/1", "ISO-8859-1", "ISO8859-1", "LATIN1":
		return charmap.ISO8859_1, nil
	}
	return nil, fmt.Errorf("%q (use UTF-8 or GB 18030): %w", name, ErrEncoding)
}

// decodeText turns b in the named encoding into UTF-8 without a byte order mark. Text
// that claims UTF-8 but is not valid UTF-8 is refused with a hint: it is almost
// always a GBK export whose encoding was not configured.
func decodeText(b []byte, enc encoding.Encoding) ([]byte, error) {
	if enc != nil {
		out, err := enc.NewDecoder().Bytes(b)
		if err != nil {
			return nil, fmt.Errorf("decode text: %w", err)
		}
		b = out
	}
	b = bytes.TrimPrefix(b, utf8BOM)
	if !utf8.Valid(b) {
		return nil, fmt.Errorf("text is not valid UTF-8 (a GBK/GB 18030 export? configure its encoding): %w", ErrEncoding)
	}
	return b, nil
}
