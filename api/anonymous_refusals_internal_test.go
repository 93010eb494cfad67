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
		record, skipped, _ := s.admit("203.0.113.7:" + string(rune('a'+i%26)))
		require.True(t, record, "refusal %d of the minute", i+1)
		require.Zero(t, skipped)
	}
	firstSkipped := now
	for range 10 {
		record, _, _ := s.admit("203.0.113.7:40000") // any port: the address counts
		require.False(t, record)
		now = now.Add(time.Second)
	}
	record, _, _ := s.admit("198.51.100.1:1")
	require.True(t, record, "another address has its own minute")
	// An IPv6 caller is its /64: a flood cannot take a new address each time.
	for i := range AnonymousRefusalsPerMinute + 1 {
		record, _, _ = s.admit(fmt.Sprintf("[2001:db8:1:2::%x]:443", i+1))
	}
	require.False(t, record, "the /64's minute is spent")
	record, _, _ = s.admit("[2001:db8:1:3::1]:443")
	require.True(t, record, "another /64")

	now = firstSkipped.Add(time.Minute)
	record, skipped, since := s.admit("203.0.113.7:40001")
	require.True(t, record, "a new minute")
	require.Equal(t, 10, skipped, "the record says how many were left out")
	require.Equal(t, firstSkipped, since)
	record, skipped, _ = s.admit("203.0.113.7:40001")
	require.True(t, record)
	require.Zero(t, skipped, "said once")
}
