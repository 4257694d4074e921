package config

import (
	"errors"
	"fmt"
	"net"
)

// LoopbackURL is the agent's API as a program on this machine reaches it
// (doctor, start's health check, the queue commands): [api] listen with a
// wildcard host made the loopback address, https when [api] tls_cert is set.
// The agent's certificate names the windows' view of it, not the loopback
// address, so callers that reach the agent on this machine this way do not
// verify it.
func (a API) LoopbackURL() (string, error) {
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
