package vendorlib

import (
	"bytes"
	"fmt"
	"runtime"
	"sync"
	"unsafe"
)

// Interfaces a library may implement.
const (
	// HeaSec is the national medical-insurance reader library (HeaSecReadInfo):
	// Init, ReadCardBas, ReadSFZ.
	HeaSec = "heasec"
	// SSCard is the older social-security interface (SSCardDriver): iReadCardBas.
	SSCard = "sscard"
	// NationEC is the province's e-voucher library (NationECCode): NationEcTrans.
	NationEC = "nationec"
)

// Buffer sizes the interfaces promise; the buffers handed over are twice as large, so
// that a vendor writing a little past its documented size does not corrupt memory.
const (
	CardOutSize = 2048  // ReadCardBas card_out
	BusiOutSize = 8192  // ReadCardBas/ReadSFZ busi_out
	SFZOutSize  = 1024  // ReadSFZ out
	SSOutSize   = 1024  // iReadCardBas out
	ECOutSize   = 65536 // NationEcTrans out (an answer with a photo can be large)
)

// symbols each interface needs.
var symbols = map[string][]string{
	HeaSec:   {"Init", "ReadCardBas"}, // ReadSFZ is optional: not every heasec build reads ID cards
	SSCard:   {"iReadCardBas"},
	NationEC: {"NationEcTrans"},
}

// Result is what one call returned: the function's int result and the bytes it wrote
// to its main output buffer, up to the first NUL.
type Result struct {
	RC  int32
	Out []byte
}

// Lib is one loaded library. Its methods must be called from one goroutine at a time
// (the child pins them to one locked OS thread); Close unloads it.
type Lib struct {
	mu    sync.Mutex
	iface string
	h     handle
	syms  map[string]uintptr
}

// Open loads the library at path and checks it exports what iface needs.
func Open(path, iface string) (*Lib, error) {
	need, ok := symbols[iface]
	if !ok {
		return nil, fmt.Errorf("interface %q: %w", iface, ErrInterface)
	}
	h, err := openLib(path)
	if err != nil {
		return nil, fmt.Errorf("load %s%s: %v: %w", path, bitnessHint(path), err, ErrOpen)
	}
	l := &Lib{iface: iface, h: h, syms: map[string]uintptr{}}
	for _, name := range need {
		p, err := h.sym(name)
		if err != nil {
			_ = h.close()
			return nil, fmt.Errorf("%s in %s: %v: %w", name, path, err, ErrSymbol)
		}
		l.syms[name] = p
	}
	if iface == HeaSec {
		if p, err := h.sym("ReadSFZ"); err == nil {
			l.syms["ReadSFZ"] = p
		}
	}
	return l, nil
}

// Interface returns the interface the library was opened for.
func (l *Lib) Interface() string { return l.iface }

// Has reports whether the library exports name (among the functions this package uses).
func (l *Lib) Has(name string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	_, ok := l.syms[name]
	return ok
}

// Close unloads the library.
func (l *Lib) Close() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.syms == nil {
		return nil
	}
	l.syms = nil
	return l.h.close()
}

func (l *Lib) fn(name string) (uintptr, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.syms == nil {
		return 0, ErrClosed
	}
	p, ok := l.syms[name]
	if !ok {
		return 0, fmt.Errorf("%s: %w", name, ErrSymbol)
	}
	return p, nil
}

// Init calls heasec's `int Init(const char *init_json, char *err_out)`.
func (l *Lib) Init(initJSON []byte) (Result, error) {
	p, err := l.fn("Init")
	if err != nil {
		return Result{}, err
	}
	in := cString(initJSON)
	errOut := cBuffer(2 * CardOutSize)
	rc := call(p, ptr(in), ptr(errOut))
	runtime.KeepAlive(in)
	runtime.KeepAlive(errOut)
	return Result{RC: rc, Out: untilNUL(errOut)}, nil
}

// ReadCardBas calls heasec's `int ReadCardBas(char *card_out, char *busi_out)`.
func (l *Lib) ReadCardBas() (Result, error) {
	p, err := l.fn("ReadCardBas")
	if err != nil {
		return Result{}, err
	}
	out := cBuffer(2 * CardOutSize)
	busi := cBuffer(2 * BusiOutSize)
	rc := call(p, ptr(out), ptr(busi))
	runtime.KeepAlive(out)
	runtime.KeepAlive(busi)
	return Result{RC: rc, Out: untilNUL(out)}, nil
}

// ReadSFZ calls heasec's `int ReadSFZ(const char *photo_path, char *out, char *busi_out)`.
func (l *Lib) ReadSFZ(photoPath string) (Result, error) {
	p, err := l.fn("ReadSFZ")
	if err != nil {
		return Result{}, err
	}
	photo := cString([]byte(photoPath))
	out := cBuffer(2 * SFZOutSize)
	busi := cBuffer(2 * BusiOutSize)
	rc := call(p, ptr(photo), ptr(out), ptr(busi))
	runtime.KeepAlive(photo)
	runtime.KeepAlive(out)
	runtime.KeepAlive(busi)
	return Result{RC: rc, Out: untilNUL(out)}, nil
}

// IReadCardBas calls sscard's `int iReadCardBas(int type, char *out)`.
func (l *Lib) IReadCardBas(cardType int32) (Result, error) {
	p, err := l.fn("iReadCardBas")
	if err != nil {
		return Result{}, err
	}
	out := cBuffer(2 * SSOutSize)
	rc := call(p, uintptr(cardType), ptr(out))
	runtime.KeepAlive(out)
	return Result{RC: rc, Out: untilNUL(out)}, nil
}

// NationEcTrans calls the e-voucher library's
// `int NationEcTrans(const char *url, const char *json_in, char *out)`.
func (l *Lib) NationEcTrans(url string, jsonIn []byte) (Result, error) {
	p, err := l.fn("NationEcTrans")
	if err != nil {
		return Result{}, err
	}
	u := cString([]byte(url))
	in := cString(jsonIn)
	out := cBuffer(ECOutSize + 1024)
	rc := call(p, ptr(u), ptr(in), ptr(out))
	runtime.KeepAlive(u)
	runtime.KeepAlive(in)
	runtime.KeepAlive(out)
	return Result{RC: rc, Out: untilNUL(out)}, nil
}

// cString returns b with a terminating NUL, cut at any NUL inside it.
func cString(b []byte) []byte {
	if i := bytes.IndexByte(b, 0); i >= 0 {
		b = b[:i]
	}
	s := cBuffer(len(b) + 1)
	copy(s, b)
	return s
}

// cBuffer allocates n zero bytes that the vendor's code may read or write. Its result
// is always on the heap: a buffer on a goroutine's stack would move when the stack
// grows while the library holds its address as a plain uintptr (seen as an Init
// message that never arrived), and Go's heap objects never move. go:noinline keeps
// escape analysis from putting the allocation in the caller's frame.
//
//go:noinline
func cBuffer(n int) []byte { return make([]byte, n) }

// ptr is the address of b's first byte for a vendor call; b must come from cBuffer.
func ptr(b []byte) uintptr { return uintptr(unsafe.Pointer(&b[0])) }

// untilNUL copies b up to its first NUL.
func untilNUL(b []byte) []byte {
	if i := bytes.IndexByte(b, 0); i >= 0 {
		b = b[:i]
	}
	return bytes.Clone(b)
}
