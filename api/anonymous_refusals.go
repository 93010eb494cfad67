package api

import (
	"net"
	"net/netip"
	"sync"
	"time"
)

// Refusals of callers without a verified token are recorded a bounded
// number of times per address and minute (AnonymousRefusalsPerMinute):
// anyone can send them, as fast as the network lets them, into a table
// nothing may delete for 180 days. What is not recorded is counted, and
// the address's next record says how many were left out since when
// (details "unrecorded_before", "unrecorded_since"). Refusals of a caller
// whose token verified (403s, a token of the wrong audience is a 401 of no
// one) are recorded every time: someone answers for those.

// AnonymousRefusalsPerMinute is how many refusals of callers without a
// verified token the access log records per address and minute.
const AnonymousRefusalsPerMinute = 60

// anonymousAddresses bounds the addresses the sampler remembers; past it,
// it starts over (a flood from many addresses is then recorded a little
// more than the limit, never less).
const anonymousAddresses = 10_000

// refusalSampler decides which anonymous refusals are recorded. The zero
// value is ready to use.
type refusalSampler struct {
	mu    sync.Mutex
	perIP map[string]*refusalWindow
	now   func() time.Time // nil: time.Now
}

// refusalWindow is one address's minute.
type refusalWindow struct {
	start    time.Time
	recorded int
	// skipped counts refusals not recorded since skippedSince (also of
	// earlier minutes, until a record says so).
	skipped      int
	skippedSince time.Time
}

// admit reports whether a refusal from remote is recorded now; when it
// is, skipped and since say how many of the address's refusals were not
// recorded before it, from when (zero: none).
func (s *refusalSampler) admit(remote string) (record bool, skipped int, since time.Time) {
	host := remote
	if h, _, err := net.SplitHostPort(remote); err == nil {
		host = h
	}
	if ip, err := netip.ParseAddr(host); err == nil && ip.Unmap().Is6() {
		// One IPv6 subscriber holds a /64 at least: every address of
		// it is one caller, or a flood could take a new one each time.
		host = netip.PrefixFrom(ip, 64).Masked().String()
	}
	now := time.Now()
	if s.now != nil {
		now = s.now()
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.perIP == nil || len(s.perIP) >= anonymousAddresses {
		s.perIP = map[string]*refusalWindow{}
	}
	w := s.perIP[host]
	if w == nil {
		w = &refusalWindow{start: now}
		s.perIP[host] = w
	}
	if now.Sub(w.start) >= time.Minute {
		w.start, w.recorded = now, 0
	}
	if w.recorded >= AnonymousRefusalsPerMinute {
		if w.skipped == 0 {
			w.skippedSince = now
		}
		w.skipped++
		return false, 0, time.Time{}
	}
	w.recorded++
	skipped, since = w.skipped, w.skippedSince
	w.skipped, w.skippedSince = 0, time.Time{}
	return true, skipped, since
}
