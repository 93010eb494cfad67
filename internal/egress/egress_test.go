package egress_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/xuncha/xuncha/internal/egress"
)

// resolver answers from a fixed table; a name missing from it does not
// resolve.
type resolver map[string][]netip.Addr

func (r resolver) LookupNetIP(_ context.Context, _, host string) ([]netip.Addr, error) {
	ips, ok := r[host]
	if !ok {
		return nil, &net.DNSError{Err: "no such host", Name: host, IsNotFound: true}
	}
	return ips, nil
}

func addrs(s ...string) []netip.Addr {
	out := make([]netip.Addr, len(s))
	for i, a := range s {
		out[i] = netip.MustParseAddr(a)
	}
	return out
}

func TestNonPublicRule(t *testing.T) {
	t.Parallel()
	tests := []struct {
		ip   string
		rule string // "" means public
	}{
		{"127.0.0.1", "loopback"},
		{"127.8.9.10", "loopback"},
		{"::1", "loopback"},
		{"::ffff:127.0.0.1", "loopback"},
		{"10.0.0.1", "private (RFC 1918)"},
		{"172.16.5.4", "private (RFC 1918)"},
		{"192.168.1.1", "private (RFC 1918)"},
		{"::ffff:10.1.2.3", "private (RFC 1918)"},
		{"fd12:3456::1", "unique local (fc00::/7)"},
		{"169.254.169.254", "link-local"},
		{"fe80::1", "link-local"},
		{"0.0.0.0", "unspecified"},
		{"::", "unspecified"},
		{"224.0.0.1", "multicast"},
		{"ff02::1", "multicast"},
		{"255.255.255.255", "broadcast"},
		{"100.64.0.1", "shared address space (100.64.0.0/10, carrier-grade NAT)"},
		{"0.1.2.3", "\"this network\" (0.0.0.0/8)"},
		{"240.0.0.1", "reserved (240.0.0.0/4)"},
		{"64:ff9b::a00:1", "NAT64 (64:ff9b::/96), which can embed any IPv4 address"},
		{"2002:a00:1::1", "6to4 (2002::/16), which can embed any IPv4 address"},
		{"2001:db8::1", "documentation (2001:db8::/32)"},
		{"8.8.8.8", ""},
		{"1.1.1.1", ""},
		{"2606:4700:4700::1111", ""},
		{"172.32.0.1", ""}, // just outside 172.16.0.0/12
	}
	for _, tt := range tests {
		t.Run(tt.ip, func(t *testing.T) {
			t.Parallel()
			require.Equal(t, tt.rule, egress.NonPublicRule(netip.MustParseAddr(tt.ip)))
			if tt.rule != "" {
				// Named in Chinese in a Chinese refusal: it read "10.0.0.1 是
				// private (RFC 1918) 地址".
				ip := netip.MustParseAddr(tt.ip)
				zh := (&egress.RefusedError{Host: ip.String(), IP: ip, Rule: tt.rule}).Text().ZH
				require.NotContains(t, zh, tt.rule)
			}
		})
	}
}

func TestParseAllowList(t *testing.T) {
	t.Parallel()
	for _, bad := range []string{"10.0.0.0/33", "localhost", "host:0", "host:99999", ":80", "not an entry"} {
		_, err := egress.ParseAllowList("127.0.0.1," + bad)
		require.ErrorContains(t, err, fmt.Sprintf("%q", bad), bad)
	}
	// Networks so wide they take in this machine and the metadata service.
	for _, wide := range []string{"0.0.0.0/0", "64.0.0.0/2", "::/0", "fc00::/6"} {
		_, err := egress.ParseAllowList("127.0.0.1," + wide)
		require.ErrorContains(t, err, fmt.Sprintf("webhook allow-list entry %q is wider than", wide), wide)
	}
	_, err := egress.ParseAllowList("10.0.0.0/8,fc00::/7")
	require.NoError(t, err, "the private ranges whole")
	// An IPv4-mapped network is the IPv4 one (dialled addresses are
	// unmapped): it matched nothing.
	mapped, err := egress.ParseAllowList("::ffff:10.20.0.0/112")
	require.NoError(t, err)
	require.NoError(t, mapped.CheckURL(t.Context(), "http://10.20.3.4:8080/hook"))
	_, err = egress.ParseAllowList("::ffff:0.0.0.0/96")
	require.ErrorContains(t, err, "is wider than /8", "all of IPv4, mapped")
	_, err = egress.ParseAllowList("::ffff:10.0.0.0/90")
	require.ErrorContains(t, err, "an IPv4-mapped network shorter than /96", "it would match nothing")
	p, err := egress.ParseAllowList(" 10.20.0.0/16 , ::1, receiver.internal:8443,127.0.0.1:9000,,")
	require.NoError(t, err)
	require.Equal(t, "public addresses and 10.20.0.0/16 , ::1, receiver.internal:8443,127.0.0.1:9000,,", p.String())
	zero, err := egress.ParseAllowList("")
	require.NoError(t, err)
	require.Equal(t, "public addresses only", zero.String())
}

func TestCheckURL(t *testing.T) {
	t.Parallel()
	names := resolver{
		"localhost":          addrs("127.0.0.1", "::1"),
		"office.example":     addrs("203.0.114.7"),
		"mixed.example":      addrs("93.184.216.34", "10.0.0.9"),
		"metadata.internal":  addrs("169.254.169.254"),
		"receiver.internal":  addrs("10.20.3.4"),
		"v6.example":         addrs("2606:4700::6810:1"),
		"mapped.example":     addrs("::ffff:192.168.0.1"),
		"rebinding.example":  addrs("93.184.216.35"),
		"ip6-local.internal": addrs("fd00::5"),
	}
	defaults := &egress.Policy{Resolver: names}
	allow, err := egress.ParseAllowList("10.20.0.0/16,localhost:8081,127.0.0.1:9000")
	require.NoError(t, err)
	allow.Resolver = names

	tests := []struct {
		url    string
		policy *egress.Policy
		rule   string // "" means accepted
	}{
		{"http://127.0.0.1:8080/hook", defaults, "127.0.0.1 is a loopback address"},
		{"http://localhost/hook", defaults, `host "localhost" resolves to 127.0.0.1, a loopback address`},
		{"http://10.0.0.1/", defaults, "10.0.0.1 is a private (RFC 1918) address"},
		{"http://[::1]:9000/", defaults, "::1 is a loopback address"},
		{"http://169.254.169.254/latest/meta-data/", defaults, "169.254.169.254 is a link-local address"},
		{"http://metadata.internal/", defaults, "a link-local address"},
		{"http://0.0.0.0:8080/", defaults, "unspecified"},
		{"http://[::ffff:127.0.0.1]/", defaults, "loopback"},
		{"http://mapped.example/", defaults, "private (RFC 1918)"},
		{"http://mixed.example/", defaults, `resolves to 10.0.0.9, a private (RFC 1918) address`},
		{"http://ip6-local.internal/", defaults, "unique local (fc00::/7)"},
		{"http://nowhere.example/", defaults, `host "nowhere.example" does not resolve`},
		{"ftp://office.example/", defaults, `scheme "ftp" is not allowed`},
		{"file:///etc/passwd", defaults, "absolute http:// or https:// URL"},
		{"/relative", defaults, "absolute http:// or https:// URL"},
		{"https://user:pw@office.example/", defaults, "must not carry credentials"},
		{"https://office.example/hook", defaults, ""},
		{"https://v6.example:8443/hook", defaults, ""},
		{"https://[2606:4700::6810:1]/hook", defaults, ""},
		{"http://[2606:4700::6810:1]:0/hook", defaults, `port "0"`},
		// The allow-list: a network, a host:port by name, an IP:port.
		{"http://10.20.3.4/", allow, ""},
		{"http://receiver.internal:8443/", allow, ""},
		{"http://10.21.0.1/", allow, "private (RFC 1918)"},
		{"http://localhost:8081/hook", allow, ""},
		{"http://LOCALHOST:8081/hook", allow, ""},
		{"http://localhost:8082/hook", allow, "loopback"},
		{"http://127.0.0.1:9000/", allow, ""},
		{"http://127.0.0.1:9001/", allow, "loopback"},
		{"http://localhost/", allow, "loopback"},
	}
	for _, tt := range tests {
		t.Run(tt.url, func(t *testing.T) {
			t.Parallel()
			err := tt.policy.CheckURL(t.Context(), tt.url)
			if tt.rule == "" {
				require.NoError(t, err)
				return
			}
			require.ErrorContains(t, err, tt.rule)
		})
	}
}

// TestDialContext checks the connection-time rule: the policy refuses the
// address a name resolves to when the connection is made, whatever it was
// when the webhook was created.
func TestDialContext(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusNoContent) }))
	t.Cleanup(srv.Close)
	u, err := url.Parse(srv.URL)
	require.NoError(t, err)
	port := u.Port()

	// rebinding.example resolved public when the webhook was created; it
	// now resolves to the loopback receiver.
	created := &egress.Policy{Resolver: resolver{"rebinding.example": addrs("93.184.216.35")}}
	require.NoError(t, created.CheckURL(t.Context(), "http://rebinding.example:"+port+"/"))
	rebound := resolver{"rebinding.example": addrs("127.0.0.1"), "split.example": addrs("10.9.9.9", "127.0.0.1")}

	t.Run("refused after rebinding", func(t *testing.T) {
		t.Parallel()
		p := &egress.Policy{Resolver: rebound}
		_, err := p.DialContext(t.Context(), "tcp", "rebinding.example:"+port)
		require.ErrorIs(t, err, egress.ErrRefused)
		var refused *egress.RefusedError
		require.True(t, errors.As(err, &refused))
		require.Equal(t, "loopback", refused.Rule)
		require.Equal(t, netip.MustParseAddr("127.0.0.1"), refused.IP)

		client := p.HTTPClient(0)
		_, err = client.Post("http://rebinding.example:"+port+"/", "application/json", nil)
		require.ErrorIs(t, err, egress.ErrRefused, "the HTTP client dials through the policy")
	})
	t.Run("refused IP literal", func(t *testing.T) {
		t.Parallel()
		_, err := (&egress.Policy{}).DialContext(t.Context(), "tcp", "127.0.0.1:"+port)
		require.ErrorIs(t, err, egress.ErrRefused)
	})
	t.Run("every address refused", func(t *testing.T) {
		t.Parallel()
		_, err := (&egress.Policy{Resolver: rebound}).DialContext(t.Context(), "tcp", "split.example:"+port)
		require.ErrorIs(t, err, egress.ErrRefused)
	})
	t.Run("allowed by network", func(t *testing.T) {
		t.Parallel()
		p, err := egress.ParseAllowList("127.0.0.0/8")
		require.NoError(t, err)
		p.Resolver = rebound
		resp, err := p.HTTPClient(0).Post("http://rebinding.example:"+port+"/", "application/json", nil)
		require.NoError(t, err)
		require.NoError(t, resp.Body.Close())
		require.Equal(t, http.StatusNoContent, resp.StatusCode)
	})
	t.Run("allowed by host:port", func(t *testing.T) {
		t.Parallel()
		p, err := egress.ParseAllowList("rebinding.example:" + port)
		require.NoError(t, err)
		p.Resolver = rebound
		resp, err := p.HTTPClient(0).Post("http://rebinding.example:"+port+"/", "application/json", nil)
		require.NoError(t, err)
		require.NoError(t, resp.Body.Close())
		conn, err := p.DialContext(t.Context(), "tcp", "127.0.0.1:"+port)
		require.ErrorIs(t, err, egress.ErrRefused, "only the name listed is trusted, not its address")
		require.Nil(t, conn)
	})
	t.Run("redirects are not followed", func(t *testing.T) {
		t.Parallel()
		target := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {
			t.Error("the redirect was followed")
		}))
		t.Cleanup(target.Close)
		redirect := httptest.NewServer(http.RedirectHandler(target.URL, http.StatusTemporaryRedirect))
		t.Cleanup(redirect.Close)
		p, err := egress.ParseAllowList("127.0.0.0/8")
		require.NoError(t, err)
		resp, err := p.HTTPClient(0).Post(redirect.URL, "application/json", nil)
		require.NoError(t, err)
		require.NoError(t, resp.Body.Close())
		require.Equal(t, http.StatusTemporaryRedirect, resp.StatusCode)
	})
}
