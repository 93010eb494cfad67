package loopback_test

import (
	"testing"

	"github.com/xuncha/xuncha/internal/loopback"
)

func TestHost(t *testing.T) {
	for host, want := range map[string]bool{
		"localhost": true, "LOCALHOST:8080": true, "127.0.0.1": true, "127.1.2.3:9": true, "[::1]": true, "[::1]:8080": true, "::1": true,
		"localhost.evil.example": false, "127.0.0.1.nip.io": false, "10.0.0.1": false, "0.0.0.0:80": false, "": false, "[::]:80": false,
	} {
		if got := loopback.Host(host); got != want {
			t.Errorf("Host(%q) = %v, want %v", host, got, want)
		}
	}
}
