package config

import (
	"errors"
	"fmt"
	"net"
)

// LocalURL is where a command on this machine reaches the agent's API: [api] listen
// with a wildcard host replaced by the loopback address, https when [api] tls_cert is
// set ("http://127.0.0.1:8420").
func (a API) LocalURL() (string, error) {
	if a.Listen == "" {
		return "", errors.New("[api] listen is empty")
	}
	host, port, err := net.SplitHostPort(a.Listen)
	if err != nil {
		return "", fmt.Errorf("[api] listen %q: %w", a.Listen, err)
	}
	switch host {
	case "", "0.0.0.0":
		host = "127.0.0.1"
	case "::":
		host = "::1"
	}
	scheme := "http"
	if a.TLSCert != "" {
		scheme = "https"
	}
	return scheme + "://" + net.JoinHostPort(host, port), nil
}
