package ledger_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/xuncha/xuncha/ledger"
)

// TestSessionDefaults: every connection of a Store plans each statement for
// its arguments and JIT-compiles nothing (ledger.Open says why); a database
// URL that sets either setting keeps its own value.
func TestSessionDefaults(t *testing.T) {
	fx := setup(t)
	ctx := t.Context()
	for name, want := range map[string]string{"plan_cache_mode": "force_custom_plan", "jit": "off"} {
		got, err := fx.store.Setting(ctx, name)
		require.NoError(t, err)
		require.Equal(t, want, got, name)
	}

	chosen, err := ledger.Open(ctx, fx.url+"&jit=on&plan_cache_mode=auto")
	require.NoError(t, err)
	t.Cleanup(chosen.Close)
	for name, want := range map[string]string{"plan_cache_mode": "auto", "jit": "on"} {
		got, err := chosen.Setting(ctx, name)
		require.NoError(t, err)
		require.Equal(t, want, got, name)
	}
}
