package api

import (
	"net"
	"net/netip"
	"sync"
	"time"
)

// Refusals of callers without a verified token are recorded a bounded
// number of times a minute: AnonymousRefusalsPerMinute per address (an
// IPv6 address counts as its /64) and AnonymousRefusalsPerMinuteAll from
// all addresses together. Anyone can send them, as fast as the network
// lets them, into a table nothing may delete for 180 days. What is not
// recorded is counted: the address's next record says how many of its own
// were left out since when (details "unrecorded_before",
// "unrecorded_since"), and the next record of any address how many were
// left out of addresses the sampler could not keep apart
// ("unrecorded_elsewhere"). Refusals of a caller whose token verified
// (403s) are recorded every time: someone answers for those.

// AnonymousRefusalsPerMinute is how many refusals of callers without a
// verified token the access log records per address and minute.
const AnonymousRefusalsPerMinute = 60

// AnonymousRefusalsPerMinuteAll is how many it records a minute from all
// addresses together.
const AnonymousRefusalsPerMinuteAll = 600

// anonymousAddresses bounds the addresses the sampler keeps apart; those
// past it, while the others' minutes still run, are counted together.
const anonymousAddresses = 10_000

// refusalSampler decides which anonymous refusals are recorded. The zero
// value is ready to use.
type refusalSampler struct {
	mu    sync.Mutex
	perIP map[string]*refusalWindow
	// all is every address's minute together; its skipped counts the
	// refusals of addresses not kept apart.
	all refusalWindow
	// evicted is when the sampler last looked for addresses to forget: at
	// most once a second, or a flood would walk the map at every refusal.
	evicted time.Time
	now     func() time.Time // nil: time.Now
}

// refusalWindow is a minute of refusals.
type refusalWindow struct {
	start    time.Time
	recorded int
	// skipped counts refusals not recorded since skippedSince (also of
	// earlier minutes, until a record says so).
	skipped      int
	skippedSince time.Time
}

// skip counts a refusal not recorded at now.
func (w *refusalWindow) skip(now time.Time) {
	if w.skipped == 0 {
		w.skippedSince = now
	}
	w.skipped++
}

// roll starts a new minute when the window's has passed.
func (w *refusalWindow) roll(now time.Time) {
	if now.Sub(w.start) >= time.Minute {
		w.start, w.recorded = now, 0
	}
}

// unrecorded is what a record says of the refusals left out before it.
type unrecorded struct {
	before    int       // of its address
	since     time.Time // the first of them
	elsewhere int       // of addresses not kept apart
}

// admit reports whether a refusal from remote is recorded now and, when
// it is, what was left out before it.
func (s *refusalSampler) admit(remote string) (bool, unrecorded) {
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
	s.all.roll(now)
	if s.perIP == nil {
		s.perIP = map[string]*refusalWindow{}
	}
	w := s.perIP[host]
	if w == nil && len(s.perIP) >= anonymousAddresses && now.Sub(s.evicted) >= time.Second {
		// Forget the addresses whose minute is over; what they owe is
		// said with the refusals of addresses not kept apart (else an
		// address that owed one could never be forgotten, and a flood of
		// new ones filled the map for good).
		s.evicted = now
		for h, old := range s.perIP {
			if now.Sub(old.start) < time.Minute {
				continue
			}
			s.all.skipped += old.skipped // said as unrecorded_elsewhere, which has no since
			delete(s.perIP, h)
		}
	}
	if w == nil && len(s.perIP) >= anonymousAddresses {
		s.all.skipped++ // said as unrecorded_elsewhere, which has no since
		return false, unrecorded{}
	}
	if w == nil {
		w = &refusalWindow{start: now}
		s.perIP[host] = w
	}
	w.roll(now)
	if w.recorded >= AnonymousRefusalsPerMinute || s.all.recorded >= AnonymousRefusalsPerMinuteAll {
		w.skip(now)
		return false, unrecorded{}
	}
	w.recorded++
	s.all.recorded++
	said := unrecorded{before: w.skipped, since: w.skippedSince, elsewhere: s.all.skipped}
	w.skipped, w.skippedSince = 0, time.Time{}
	s.all.skipped = 0
	return true, said
}
