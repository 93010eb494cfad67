package api

import (
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestRefusalSampler(t *testing.T) {
	now := time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)
	s := refusalSampler{now: func() time.Time { return now }}
	for i := range AnonymousRefusalsPerMinute {
		record, left := s.admit(fmt.Sprintf("203.0.113.7:%d", 40000+i)) // any port: the address counts
		require.True(t, record, "refusal %d of the minute", i+1)
		require.Zero(t, left)
	}
	firstSkipped := now
	for range 10 {
		record, _ := s.admit("203.0.113.7:40000")
		require.False(t, record)
		now = now.Add(time.Second)
	}
	record, _ := s.admit("198.51.100.1:1")
	require.True(t, record, "another address has its own minute")
	// An IPv6 caller is its /64: a flood cannot take a new address each time.
	for i := range AnonymousRefusalsPerMinute + 1 {
		record, _ = s.admit(fmt.Sprintf("[2001:db8:1:2::%x]:443", i+1))
	}
	require.False(t, record, "the /64's minute is spent")
	record, _ = s.admit("[2001:db8:1:3::1]:443")
	require.True(t, record, "another /64")

	now = firstSkipped.Add(time.Minute)
	record, left := s.admit("203.0.113.7:40001")
	require.True(t, record, "a new minute")
	require.Equal(t, unrecorded{before: 10, since: firstSkipped}, left, "the record says how many were left out, since when")
	record, left = s.admit("203.0.113.7:40001")
	require.True(t, record)
	require.Zero(t, left, "said once")
}

// TestRefusalSamplerBoundsAllAddresses: a flood from many addresses is
// recorded AnonymousRefusalsPerMinuteAll times a minute in all; addresses
// past those it keeps apart are counted together, never forgotten, and an
// address's count survives the others' coming and going.
func TestRefusalSamplerBoundsAllAddresses(t *testing.T) {
	now := time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)
	s := refusalSampler{now: func() time.Time { return now }}
	for range AnonymousRefusalsPerMinute + 3 {
		s.admit("192.0.2.1:1") // 3 left out
	}
	recorded := AnonymousRefusalsPerMinute
	for i := range anonymousAddresses + 500 {
		if ok, _ := s.admit(fmt.Sprintf("10.%d.%d.%d:1", i>>16&255, i>>8&255, i&255)); ok {
			recorded++
		}
	}
	require.Equal(t, AnonymousRefusalsPerMinuteAll, recorded, "the minute's budget for all addresses")

	now = now.Add(time.Minute)
	record, left := s.admit("192.0.2.1:1")
	require.True(t, record)
	require.Equal(t, 3, left.before, "its count kept through the flood")
	require.Equal(t, 501, left.elsewhere, "the refusals of addresses past the 10,000 kept apart (192.0.2.1 and 9,999 others), counted together")
	record, left = s.admit("172.16.0.1:1")
	require.True(t, record, "the addresses whose minute is over are forgotten, making room")
	// What they owed is said: of the 9,999 kept apart, 540 were recorded
	// before the minute's budget for all (600, less 192.0.2.1's 60) was
	// spent; each of the other 9,459 owed one.
	require.Equal(t, 9459, left.elsewhere)
	require.Len(t, s.perIP, 2, "192.0.2.1, within its minute, and 172.16.0.1")
}
