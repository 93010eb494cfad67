package evidence_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/xuncha/xuncha/internal/derrors"
	"github.com/xuncha/xuncha/internal/evidence"
)

func sum(s string) string {
	h := sha256.Sum256([]byte(s))
	return hex.EncodeToString(h[:])
}

func setup(t *testing.T) *evidence.Store {
	t.Helper()
	return &evidence.Store{Dir: filepath.Join(t.TempDir(), "blobs")}
}

// requireNoUploads checks that no temporary file is left behind.
func requireNoUploads(t *testing.T, s *evidence.Store) {
	t.Helper()
	leftovers, err := filepath.Glob(filepath.Join(s.Dir, ".upload-*"))
	require.NoError(t, err)
	require.Empty(t, leftovers)
}

func TestPut(t *testing.T) {
	t.Parallel()
	const content = "现场照片：二号厂房消防通道"
	tests := []struct {
		name     string
		content  string
		sha      string
		maxBytes int64
		field    string // the refused field; "" means stored
		rule     string
	}{
		{"matching hash", content, sum(content), 1 << 20, "", ""},
		{"exactly the limit", content, sum(content), int64(len(content)), "", ""},
		{"no limit", content, sum(content), 0, "", ""},
		{"empty content", "", sum(""), 10, "", ""},
		{"hash mismatch", content, sum("something else"), 1 << 20, "sha256", "does not match the uploaded content (got " + sum(content) + ")"},
		{"too large", content, sum(content), int64(len(content)) - 1, "file", "must be at most"},
		{"upper-case hash", content, strings.ToUpper(sum(content)), 1 << 20, "sha256", "64 lower-case hexadecimal digits"},
		{"short hash", content, sum(content)[:63], 1 << 20, "sha256", "64 lower-case hexadecimal digits"},
		{"not hex", content, strings.Repeat("g", 64), 1 << 20, "sha256", "64 lower-case hexadecimal digits"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s := setup(t)
			loc, size, err := s.Put(t.Context(), strings.NewReader(tt.content), tt.sha, tt.maxBytes)
			if tt.field != "" {
				var invalid *derrors.InvalidError
				require.True(t, errors.As(err, &invalid), "%v", err)
				require.Equal(t, tt.field, invalid.Violations[0].Field)
				require.Contains(t, invalid.Violations[0].Rule, tt.rule)
				require.Empty(t, loc)
				requireNoUploads(t, s)
				blobs, _ := filepath.Glob(filepath.Join(s.Dir, "*", "*"))
				require.Empty(t, blobs, "nothing stored")
				return
			}
			require.NoError(t, err)
			require.Equal(t, "local:sha256/"+tt.sha, loc)
			require.Equal(t, int64(len(tt.content)), size)
			requireNoUploads(t, s)
			_, err = os.Stat(filepath.Join(s.Dir, tt.sha[:2], tt.sha))
			require.NoError(t, err)
			r, err := s.Open(loc)
			require.NoError(t, err)
			defer r.Close()
			got, err := io.ReadAll(r)
			require.NoError(t, err)
			require.Equal(t, tt.content, string(got))
		})
	}
}

func TestPutIsIdempotent(t *testing.T) {
	t.Parallel()
	s := setup(t)
	const content = "整改报告.pdf"
	first, size, err := s.Put(t.Context(), strings.NewReader(content), sum(content), 1<<20)
	require.NoError(t, err)
	second, size2, err := s.Put(t.Context(), strings.NewReader(content), sum(content), 1<<20)
	require.NoError(t, err)
	require.Equal(t, first, second)
	require.Equal(t, size, size2)
	files, err := filepath.Glob(filepath.Join(s.Dir, "*", "*"))
	require.NoError(t, err)
	require.Len(t, files, 1)
	requireNoUploads(t, s)
}

func TestPutStopsWithItsContext(t *testing.T) {
	t.Parallel()
	s := setup(t)
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	_, _, err := s.Put(ctx, strings.NewReader("x"), sum("x"), 10)
	require.ErrorIs(t, err, context.Canceled)
	requireNoUploads(t, s)
}

func TestOpen(t *testing.T) {
	t.Parallel()
	s := setup(t)
	tests := []struct {
		location string
		want     error
	}{
		{"local:sha256/" + sum("absent"), derrors.ErrNotFound},
		{"local:sha256/../../etc/passwd", derrors.ErrInvalidArgument},
		{"s3://bucket/" + sum("x"), derrors.ErrInvalidArgument},
		{"", derrors.ErrInvalidArgument},
	}
	for _, tt := range tests {
		_, err := s.Open(tt.location)
		require.ErrorIs(t, err, tt.want, tt.location)
	}
}
