package temporaldev

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestBinaryVersionOK(t *testing.T) {
	t.Parallel()
	bin, err := EnsureBinary(t.Context(), filepath.Join("..", "..", "bin"), nil)
	require.NoError(t, err)
	require.True(t, binaryVersionOK(bin), "the pinned CLI build")
	require.False(t, binaryVersionOK(os.Args[0]), "another Go program")
	require.False(t, binaryVersionOK(filepath.Join(t.TempDir(), "temporal")), "a missing file")
}
