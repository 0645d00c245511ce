package labtls

import (
	"crypto/tls"
	"crypto/x509"
	"testing"

	"protolab/internal/service"
)

func TestHandshakeAndSharing(t *testing.T) {
	shared := service.NewShared()
	cfg, err := Config(shared)
	if err != nil {
		t.Fatal(err)
	}
	if again, _ := Config(shared); again != cfg {
		t.Fatal("a second call made another configuration")
	}
	ln, err := tls.Listen("tcp", "127.0.0.1:0", cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		c, err := ln.Accept()
		if err == nil {
			c.Write([]byte("ok"))
			c.Close()
		}
	}()
	pool := x509.NewCertPool()
	pool.AddCert(cfg.Certificates[0].Leaf)
	c, err := tls.Dial("tcp", ln.Addr().String(), &tls.Config{RootCAs: pool, ServerName: "mail.lab.test"})
	if err != nil {
		t.Fatalf("handshake verifying the certificate for mail.lab.test: %v", err)
	}
	buf := make([]byte, 2)
	if _, err := c.Read(buf); err != nil || string(buf) != "ok" {
		t.Fatalf("read %q %v", buf, err)
	}
	c.Close()
	leaf := cfg.Certificates[0].Leaf
	if err := leaf.VerifyHostname("127.0.0.1"); err != nil {
		t.Errorf("not valid for 127.0.0.1: %v", err)
	}
	if err := leaf.VerifyHostname("example.com"); err == nil {
		t.Error("valid for a name outside the lab")
	}
}
