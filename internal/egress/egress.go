// Package egress decides where xuncha may send webhooks. By default only
// public unicast addresses are allowed: a webhook URL that names or resolves
// to a loopback, private, link-local, unspecified, multicast or otherwise
// non-public address is refused, so that a subscriber cannot make the worker
// post to the API's own port, the cloud metadata service or the office's
// internal network. The operator lists local receivers that are meant to be
// reached in an allow-list (XUNCHA_WEBHOOK_ALLOW).
//
// The rule is applied twice: when a webhook is created (Policy.CheckURL) and
// when a delivery connects (Policy.DialContext), against the IP address
// actually dialled, so that a name which resolved to a public address at
// creation and to a private one later (DNS rebinding) is still refused.
package egress

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/xuncha/xuncha/internal/i18n"
)

// ErrRefused is matched (errors.Is) by every refusal of the policy: such a
// delivery will not get better by retrying.
var ErrRefused = errors.New("refused by the webhook address policy")

// RefusedError says which address was refused and by which rule.
type RefusedError struct {
	// Host is the host as written in the URL (a name or an IP literal).
	Host string
	// IP is the address refused; invalid when the URL itself was refused.
	IP netip.Addr
	// Rule names the rule broken, e.g. "loopback" or "private (RFC 1918)".
	Rule string
	// url is the rule a URL broke (no address), in both languages.
	url i18n.Text
}

// urlRefused refuses a URL by a rule of its own.
func urlRefused(rule i18n.Text) *RefusedError { return &RefusedError{Rule: rule.EN, url: rule} }

func (e *RefusedError) Error() string { return e.Text().EN }

// Text is the refusal in both languages, for a client.
func (e *RefusedError) Text() i18n.Text {
	rule := i18n.Text{EN: e.Rule, ZH: ruleZH(e.Rule)}
	switch {
	case !e.IP.IsValid() && e.url.EN != "":
		return i18n.T("%s: webhook receivers must have public addresses unless XUNCHA_WEBHOOK_ALLOW lists them", e.url)
	case !e.IP.IsValid():
		return i18n.T("%s: webhook receivers must have public addresses unless XUNCHA_WEBHOOK_ALLOW lists them", rule)
	case e.Host == e.IP.String():
		return i18n.T("%s is a %s address: webhook receivers must have public addresses unless XUNCHA_WEBHOOK_ALLOW lists them", e.IP, rule)
	default:
		return i18n.T("host %q resolves to %s, a %s address: webhook receivers must have public addresses unless XUNCHA_WEBHOOK_ALLOW lists them", e.Host, e.IP, rule)
	}
}

// Is makes a RefusedError match ErrRefused.
func (e *RefusedError) Is(target error) bool { return target == ErrRefused }

// Resolver looks up a host's addresses; *net.Resolver is one.
type Resolver interface {
	LookupNetIP(ctx context.Context, network, host string) ([]netip.Addr, error)
}

// Policy is the webhook address policy. The zero Policy allows public
// addresses only and resolves with net.DefaultResolver. A Policy is safe for
// concurrent use once built.
type Policy struct {
	// Resolver resolves host names (nil: net.DefaultResolver). Tests set it
	// to make a name resolve where they want.
	Resolver Resolver
	// allowNets are the allow-listed networks, any port.
	allowNets []netip.Prefix
	// allowHostPorts are allow-listed "host:port" pairs, lower-case, IP
	// literals in canonical form, IPv6 in brackets.
	allowHostPorts map[string]bool
	// source is the allow-list as configured, for String.
	source string
}

// LoopbackAllowList is what `xuncha dev` allows by default: receivers on
// this machine.
const LoopbackAllowList = "127.0.0.0/8,::1/128"

// ParseAllowList builds a Policy from a comma-separated allow-list (empty:
// public addresses only). Each entry is one of
//
//   - a network in CIDR notation, "10.20.0.0/16" or "fd00::/8": every
//     address in it, any port;
//   - an IP address, "127.0.0.1" or "::1": that address, any port;
//   - host:port, "localhost:8081", "127.0.0.1:9000" or "[::1]:9000": URLs
//     naming exactly that host and port, whatever the name resolves to.
//
// An entry that is none of these is an error naming it.
func ParseAllowList(list string) (*Policy, error) {
	p := &Policy{allowHostPorts: map[string]bool{}, source: strings.TrimSpace(list)}
	for entry := range strings.SplitSeq(list, ",") {
		entry = strings.TrimSpace(entry)
		if entry == "" {
			continue
		}
		if prefix, err := netip.ParsePrefix(entry); err == nil {
			if prefix.Addr().Is4In6() && prefix.Bits() < 96 {
				return nil, fmt.Errorf("webhook allow-list entry %q is an IPv4-mapped network shorter than /96: write the IPv4 network", entry)
			}
			if prefix.Addr().Is4In6() {
				// Dialled addresses are unmapped before they are
				// compared: ::ffff:10.0.0.0/104 is 10.0.0.0/8, or it
				// would match nothing.
				prefix = netip.PrefixFrom(prefix.Addr().Unmap(), prefix.Bits()-96)
			}
			if widest := widestAllowed(prefix.Addr()); prefix.Bits() < widest {
				// 0.0.0.0/0 lets a subscriber make the worker post to
				// this machine's ports and the cloud metadata service.
				return nil, fmt.Errorf("webhook allow-list entry %q is wider than /%d: it would open most of the address space, this machine's and the metadata service's addresses among them; list the receivers' own networks", entry, widest)
			}
			p.allowNets = append(p.allowNets, prefix.Masked())
			continue
		}
		if ip, err := netip.ParseAddr(entry); err == nil {
			p.allowNets = append(p.allowNets, netip.PrefixFrom(ip.Unmap(), ip.Unmap().BitLen()))
			continue
		}
		host, port, err := net.SplitHostPort(entry)
		if err != nil || host == "" || !validPort(port) {
			return nil, fmt.Errorf("webhook allow-list entry %q is not a CIDR network, an IP address or host:port", entry)
		}
		p.allowHostPorts[hostPortKey(host, port)] = true
	}
	return p, nil
}

// widestAllowed is the shortest prefix an allow-list network may have:
// 10.0.0.0/8 for IPv4, fc00::/7 (unique local addresses) for IPv6.
func widestAllowed(a netip.Addr) int {
	if a.Is4() {
		return 8
	}
	return 7
}

// String shows the allow-list as configured.
func (p *Policy) String() string {
	if p == nil || p.source == "" {
		return "public addresses only"
	}
	return "public addresses and " + p.source
}

func validPort(port string) bool {
	n, err := strconv.Atoi(port)
	return err == nil && n > 0 && n <= 65535
}

// hostPortKey is the allow-list key of a host and port: names lower-case,
// IP literals canonical.
func hostPortKey(host, port string) string {
	host = strings.ToLower(strings.TrimSuffix(host, "."))
	if ip, err := netip.ParseAddr(host); err == nil {
		host = ip.Unmap().String()
	}
	return net.JoinHostPort(host, port)
}

// CheckURL checks a webhook URL when it is subscribed: an absolute http or
// https URL without credentials whose host is allow-listed, or is (or
// resolves only to) public addresses. A refusal is a *RefusedError; other
// errors say what is wrong with the URL.
func (p *Policy) CheckURL(ctx context.Context, raw string) error {
	u, err := url.Parse(raw)
	if err != nil || !u.IsAbs() || u.Hostname() == "" {
		return urlRefused(i18n.T("must be an absolute http:// or https:// URL"))
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return urlRefused(i18n.T("scheme %q is not allowed (only http and https)", u.Scheme))
	}
	if u.User != nil {
		return urlRefused(i18n.T("must not carry credentials (user:password@): receivers check the X-Xuncha-Signature header instead"))
	}
	port := u.Port()
	if port == "" {
		port = map[string]string{"http": "80", "https": "443"}[u.Scheme]
	}
	if !validPort(port) {
		return urlRefused(i18n.T("port %q is not a TCP port", port))
	}
	host := u.Hostname()
	if p.hostAllowed(host, port) {
		return nil
	}
	ips, err := p.lookup(ctx, host)
	if err != nil {
		return err
	}
	for _, ip := range ips {
		if err := p.checkIP(host, ip); err != nil {
			return err
		}
	}
	return nil
}

func (p *Policy) hostAllowed(host, port string) bool {
	return p != nil && p.allowHostPorts[hostPortKey(host, port)]
}

// lookup resolves host (an IP literal resolves to itself).
func (p *Policy) lookup(ctx context.Context, host string) ([]netip.Addr, error) {
	if ip, err := netip.ParseAddr(host); err == nil {
		return []netip.Addr{ip.Unmap()}, nil
	}
	var r Resolver = net.DefaultResolver
	if p != nil && p.Resolver != nil {
		r = p.Resolver
	}
	ips, err := r.LookupNetIP(ctx, "ip", host)
	if err != nil {
		return nil, fmt.Errorf("host %q does not resolve: %w", host, err)
	}
	if len(ips) == 0 {
		return nil, fmt.Errorf("host %q resolves to no address", host)
	}
	// A new slice: the resolver's may be shared (a cache, a test table).
	out := make([]netip.Addr, len(ips))
	for i, ip := range ips {
		out[i] = ip.Unmap()
	}
	return out, nil
}

// checkIP refuses ip unless it is public or allow-listed.
func (p *Policy) checkIP(host string, ip netip.Addr) error {
	ip = ip.Unmap()
	rule := NonPublicRule(ip)
	if rule == "" {
		return nil
	}
	if p != nil {
		for _, n := range p.allowNets {
			if n.Contains(ip) {
				return nil
			}
		}
	}
	return &RefusedError{Host: host, IP: ip, Rule: rule}
}

// nonPublic lists the special-purpose ranges (IANA special-purpose address
// registries, RFC 6890) that netip's predicates do not cover, with the rule
// each is refused by, in English and in Chinese.
var nonPublic = []struct {
	prefix   netip.Prefix
	rule, zh string
}{
	{netip.MustParsePrefix("0.0.0.0/8"), "\"this network\" (0.0.0.0/8)", "“本网络”（0.0.0.0/8）"},
	{netip.MustParsePrefix("100.64.0.0/10"), "shared address space (100.64.0.0/10, carrier-grade NAT)", "共享地址空间（100.64.0.0/10，运营商级 NAT）"},
	{netip.MustParsePrefix("192.0.0.0/24"), "IETF protocol assignment (192.0.0.0/24)", "IETF 协议分配（192.0.0.0/24）"},
	{netip.MustParsePrefix("192.0.2.0/24"), "documentation (192.0.2.0/24)", "文档示例（192.0.2.0/24）"},
	{netip.MustParsePrefix("198.18.0.0/15"), "benchmarking (198.18.0.0/15)", "基准测试（198.18.0.0/15）"},
	{netip.MustParsePrefix("198.51.100.0/24"), "documentation (198.51.100.0/24)", "文档示例（198.51.100.0/24）"},
	{netip.MustParsePrefix("203.0.113.0/24"), "documentation (203.0.113.0/24)", "文档示例（203.0.113.0/24）"},
	{netip.MustParsePrefix("240.0.0.0/4"), "reserved (240.0.0.0/4)", "保留（240.0.0.0/4）"},
	{netip.MustParsePrefix("64:ff9b::/96"), "NAT64 (64:ff9b::/96), which can embed any IPv4 address", "NAT64（64:ff9b::/96，可嵌入任意 IPv4 地址）"},
	{netip.MustParsePrefix("64:ff9b:1::/48"), "local-use NAT64 (64:ff9b:1::/48)", "本地 NAT64（64:ff9b:1::/48）"},
	{netip.MustParsePrefix("100::/64"), "discard-only (100::/64)", "仅丢弃（100::/64）"},
	{netip.MustParsePrefix("2001::/23"), "IETF protocol assignment (2001::/23, Teredo included)", "IETF 协议分配（2001::/23，含 Teredo）"},
	{netip.MustParsePrefix("2001:db8::/32"), "documentation (2001:db8::/32)", "文档示例（2001:db8::/32）"},
	{netip.MustParsePrefix("2002::/16"), "6to4 (2002::/16), which can embed any IPv4 address", "6to4（2002::/16，可嵌入任意 IPv4 地址）"},
	{netip.MustParsePrefix("fec0::/10"), "site-local (fec0::/10)", "站点本地（fec0::/10）"},
}

// NonPublicRule names the rule that makes ip non-public ("loopback",
// "private (RFC 1918)", ...), or returns "" for a public unicast address.
// IPv4-mapped IPv6 addresses are judged as the IPv4 address they carry.
func NonPublicRule(ip netip.Addr) string {
	ip = ip.Unmap()
	switch {
	case !ip.IsValid():
		return "invalid"
	case ip.IsUnspecified():
		return "unspecified"
	case ip.IsLoopback():
		return "loopback"
	case ip.IsPrivate() && ip.Is4():
		return "private (RFC 1918)"
	case ip.IsPrivate():
		return "unique local (fc00::/7)"
	case ip.IsLinkLocalUnicast():
		return "link-local"
	case ip.IsMulticast(), ip.IsLinkLocalMulticast(), ip.IsInterfaceLocalMulticast():
		return "multicast"
	case ip.Is4() && ip == netip.AddrFrom4([4]byte{255, 255, 255, 255}):
		return "broadcast"
	case ip.Is6() && ip.Zone() != "":
		return "scoped (zone " + ip.Zone() + ")"
	}
	for _, r := range nonPublic {
		if r.prefix.Contains(ip.WithZone("")) {
			return r.rule
		}
	}
	return ""
}

// rulesZH are the Chinese of NonPublicRule's rules that no range of
// nonPublic names.
var rulesZH = map[string]string{
	"invalid":                 "无效",
	"unspecified":             "未指定",
	"loopback":                "环回",
	"private (RFC 1918)":      "私有（RFC 1918）",
	"unique local (fc00::/7)": "唯一本地（fc00::/7）",
	"link-local":              "链路本地",
	"multicast":               "组播",
	"broadcast":               "广播",
}

// ruleZH is rule (NonPublicRule's) in Chinese, or rule itself.
func ruleZH(rule string) string {
	if zh, ok := rulesZH[rule]; ok {
		return zh
	}
	for _, r := range nonPublic {
		if r.rule == rule {
			return r.zh
		}
	}
	if zone, ok := strings.CutPrefix(rule, "scoped (zone "); ok {
		return "带作用域（zone " + strings.TrimSuffix(zone, ")") + "）"
	}
	return rule
}

// DialContext connects to addr ("host:port") for an HTTP client. The host is
// resolved (with Resolver); an allow-listed host:port may connect to any of
// its addresses, any other only to those the policy allows, and the
// dialer's Control hook checks the address each socket actually connects
// to. A refused address fails with a *RefusedError.
func (p *Policy) DialContext(ctx context.Context, network, addr string) (net.Conn, error) {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, fmt.Errorf("dialling %q: %w", addr, err)
	}
	trusted := p.hostAllowed(host, port)
	dialer := &net.Dialer{
		Timeout: 10 * time.Second,
		Control: func(_, address string, _ syscall.RawConn) error {
			if trusted {
				return nil
			}
			ap, err := netip.ParseAddrPort(address)
			if err != nil {
				return fmt.Errorf("dialling %q: unexpected address %q: %w", addr, address, err)
			}
			return p.checkIP(host, ap.Addr())
		},
	}
	ips, err := p.lookup(ctx, host)
	if err != nil {
		return nil, err
	}
	var firstErr error
	for _, ip := range ips {
		if err := p.checkIP(host, ip); err != nil && !trusted {
			if firstErr == nil {
				firstErr = err
			}
			continue
		}
		conn, err := dialer.DialContext(ctx, network, net.JoinHostPort(ip.String(), port))
		if err == nil {
			return conn, nil
		}
		if firstErr == nil || errors.Is(firstErr, ErrRefused) {
			firstErr = err
		}
	}
	return nil, firstErr
}

// HTTPClient returns a client for webhook deliveries: every connection goes
// through DialContext, no proxy is used (the proxy would do the dialling),
// redirects are not followed (a 3xx answer is returned as it is: following
// it would move the signed body elsewhere), each request is bounded by
// timeout, and connections are not kept (deliveries are rare and each
// builds its own client).
func (p *Policy) HTTPClient(timeout time.Duration) *http.Client {
	return &http.Client{
		Timeout: timeout,
		Transport: &http.Transport{
			Proxy:                 nil,
			DialContext:           p.DialContext,
			ForceAttemptHTTP2:     true,
			TLSHandshakeTimeout:   timeout,
			ResponseHeaderTimeout: timeout,
			DisableKeepAlives:     true,
		},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}
