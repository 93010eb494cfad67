package pgserver

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestFindBinary(t *testing.T) {
	t.Parallel()
	emptyDir := t.TempDir()
	fallbackDir := t.TempDir()
	fake := filepath.Join(fallbackDir, "initdb")
	require.NoError(t, os.WriteFile(fake, []byte("#!/bin/sh\n"), 0o755))

	tests := []struct {
		name      string
		binDir    string
		path      string
		fallbacks []string
		want      string
		wantErr   string
	}{
		{
			name:    "not on an empty PATH",
			path:    emptyDir,
			wantErr: "initdb not found on PATH: install the PostgreSQL 15 server binaries (Debian: apt-get install postgresql-15) or set DATABASE_URL",
		},
		{
			name:      "found in a distribution directory off PATH",
			path:      emptyDir,
			fallbacks: []string{emptyDir, fallbackDir},
			want:      fake,
		},
		{
			name: "found on PATH",
			path: emptyDir + string(os.PathListSeparator) + fallbackDir,
			want: fake,
		},
		{
			name:      "BinDir is the only place searched",
			binDir:    emptyDir,
			path:      fallbackDir,
			fallbacks: []string{fallbackDir},
			wantErr:   "initdb not found in " + emptyDir + ": install the PostgreSQL 15 server binaries (Debian: apt-get install postgresql-15) or set DATABASE_URL",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := findBinary("initdb", tt.binDir, tt.path, tt.fallbacks)
			if tt.wantErr != "" {
				require.EqualError(t, err, tt.wantErr)
				return
			}
			require.NoError(t, err)
			require.Equal(t, tt.want, got)
		})
	}
}
