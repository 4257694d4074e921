package platform

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"io"
	"log"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// testPKI is a CA with certificates it issued, written as PEM files in a temp folder.
type testPKI struct {
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
	dir  string
}

func newTestPKI(t *testing.T, name string) *testPKI {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: name},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(time.Hour),
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageCertSign,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	p := &testPKI{cert: cert, key: key, dir: t.TempDir()}
	p.write(t, "ca.pem", "CERTIFICATE", der)
	return p
}

func (p *testPKI) write(t *testing.T, file, typ string, der []byte) string {
	t.Helper()
	path := filepath.Join(p.dir, file)
	if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func (p *testPKI) caFile() string { return filepath.Join(p.dir, "ca.pem") }

// issue returns a certificate for 127.0.0.1 (server or client), as tls.Certificate and
// as PEM files.
func (p *testPKI) issue(t *testing.T, name string, usage x509.ExtKeyUsage) (tls.Certificate, string, string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(time.Now().UnixNano()),
		Subject:      pkix.Name{CommonName: name},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{usage},
		IPAddresses:  []net.IP{net.IPv4(127, 0, 0, 1)},
		DNSNames:     []string{"localhost"},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, p.cert, &key.PublicKey, p.key)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	certFile := p.write(t, name+".pem", "CERTIFICATE", der)
	keyFile := p.write(t, name+"-key.pem", "EC PRIVATE KEY", keyDER)
	pair, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		t.Fatal(err)
	}
	return pair, certFile, keyFile
}

func TestClient_TLS(t *testing.T) {
	ca := newTestPKI(t, "Test 金保 CA")
	other := newTestPKI(t, "Other CA")
	serverCert, _, _ := ca.issue(t, "platform", x509.ExtKeyUsageServerAuth)
	_, clientCertFile, clientKeyFile := ca.issue(t, "hospital", x509.ExtKeyUsageClientAuth)

	handler := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		_, _ = io.WriteString(w, envelope(0, "", registerOK))
	})
	start := func(t *testing.T, requireClientCert bool) *httptest.Server {
		srv := httptest.NewUnstartedServer(handler)
		srv.TLS = &tls.Config{Certificates: []tls.Certificate{serverCert}}
		if requireClientCert {
			pool := x509.NewCertPool()
			pool.AddCert(ca.cert)
			srv.TLS.ClientCAs = pool
			srv.TLS.ClientAuth = tls.RequireAndVerifyClientCert
		}
		srv.Config.ErrorLog = log.New(io.Discard, "", 0) // handshake failures are the point of some cases
		srv.StartTLS()
		t.Cleanup(srv.Close)
		return srv
	}
	call := func(t *testing.T, o Options) error {
		c := mustClient(t, o)
		_, err := c.Call(context.Background(), InfnoRegister, Meta{Msgid: testCode + "202611230912010001"}, RegisterInput{}, &RegisterOutput{})
		return err
	}

	t.Run("CAFile", func(t *testing.T) {
		srv := start(t, false)
		if err := call(t, Options{BaseURL: srv.URL, CAFile: ca.caFile()}); err != nil {
			t.Fatalf("got %v; want nil", err)
		}
	})
	t.Run("UnknownCA", func(t *testing.T) {
		srv := start(t, false)
		for name, o := range map[string]Options{
			"SystemRoots": {BaseURL: srv.URL},
			"OtherCA":     {BaseURL: srv.URL, CAFile: other.caFile()},
		} {
			err := call(t, o)
			if !errors.Is(err, ErrNotSent) || Classify(err) != OutcomeNotSent {
				t.Errorf("%s: got %v; want ErrNotSent", name, err)
			}
		}
	})
	t.Run("InsecureSkipVerify", func(t *testing.T) {
		srv := start(t, false)
		if err := call(t, Options{BaseURL: srv.URL, InsecureSkipVerify: true}); err != nil {
			t.Fatalf("got %v; want nil", err)
		}
	})
	t.Run("ClientCert", func(t *testing.T) {
		srv := start(t, true)
		if err := call(t, Options{BaseURL: srv.URL, CAFile: ca.caFile(), CertFile: clientCertFile, KeyFile: clientKeyFile}); err != nil {
			t.Fatalf("with client cert: got %v; want nil", err)
		}
		// Without one, TLS 1.3 reports the refusal only after the client has written its
		// request, so the outcome is not "not sent"; it must not be OK either.
		if err := call(t, Options{BaseURL: srv.URL, CAFile: ca.caFile()}); err == nil {
			t.Fatal("without client cert: got nil; want an error")
		}
	})
	t.Run("BadCAFile", func(t *testing.T) {
		bad := filepath.Join(t.TempDir(), "ca.pem")
		_ = os.WriteFile(bad, []byte("not a certificate"), 0o600)
		if _, err := NewClient(Options{BaseURL: "https://127.0.0.1:1", CAFile: bad}); err == nil {
			t.Fatal("got nil; want an error")
		}
	})
}
