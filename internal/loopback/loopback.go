// Package loopback says whether a host names this machine: the one rule
// that `xuncha dev`'s listen addresses, the OpenID issuer over plain http
// and the dev API's Host header share.
package loopback

import (
	"net"
	"net/netip"
	"strings"
)

// Host reports whether host names this machine: localhost (in any case) or
// a loopback address. It takes a host alone ("127.0.0.1", "[::1]") or with
// its port ("localhost:8080"), as a URL's or a Host header's.
func Host(host string) bool {
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	host = strings.TrimSuffix(strings.TrimPrefix(host, "["), "]")
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip, err := netip.ParseAddr(host)
	return err == nil && ip.IsLoopback()
}
