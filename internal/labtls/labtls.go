// Package labtls makes the TLS certificate a running lab's servers share
// for STARTTLS/STLS: self-signed, generated at start, never written to
// disk. Clients that check certificates must be told to accept it (curl
// needs -k; swaks checks nothing unless given --tls-verify): that too is
// part of the lesson.
package labtls

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"fmt"
	"math/big"
	"net"
	"time"

	"protolab/internal/service"
)

// sharedKey is where the configuration is kept in service.Shared.
const sharedKey = "labtls"

// Names are the names and addresses the certificate is valid for.
var Names = []string{"lab.test", "mail.lab.test", "localhost", "127.0.0.1", "::1"}

// Config returns the lab's TLS server configuration, made on first use and
// shared by every server of the run.
func Config(shared *service.Shared) (*tls.Config, error) {
	if shared != nil {
		if v, ok := shared.Get(sharedKey); ok {
			return v.(*tls.Config), nil
		}
	}
	cfg, err := New(Names)
	if err != nil {
		return nil, err
	}
	if shared != nil {
		shared.Put(sharedKey, cfg)
	}
	return cfg, nil
}

// New makes a self-signed certificate for the names (host names or IP
// addresses) and returns a server configuration using it.
func New(names []string) (*tls.Config, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("labtls: %w", err)
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 62))
	if err != nil {
		return nil, fmt.Errorf("labtls: %w", err)
	}
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: names[0], Organization: []string{"Protolab"}},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(30 * 24 * time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
	}
	for _, n := range names {
		if ip := net.ParseIP(n); ip != nil {
			tmpl.IPAddresses = append(tmpl.IPAddresses, ip)
		} else {
			tmpl.DNSNames = append(tmpl.DNSNames, n)
		}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, fmt.Errorf("labtls: %w", err)
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, fmt.Errorf("labtls: %w", err)
	}
	cert := tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf}
	return &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}, nil
}
