package main

import (
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/xuncha/xuncha/internal/childproc"
	"github.com/xuncha/xuncha/internal/pgserver"
	"github.com/xuncha/xuncha/internal/temporaldev"
)

// TestDevReportsATakenPortByItsFlag checks that `xuncha dev` names the flag
// and variable of a taken port (not a Config field of the package that
// starts the server) and that the failed start leaves no tip or payload key behind.
func TestDevReportsATakenPortByItsFlag(t *testing.T) {
	taken, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer taken.Close()
	port := strconv.Itoa(taken.Addr().(*net.TCPAddr).Port)
	free := func() string {
		p, err := childproc.FreePort()
		require.NoError(t, err)
		return strconv.Itoa(p)
	}
	for _, tc := range []struct{ flag, want string }{
		{"--temporal-port", "Temporal port " + port + " on 127.0.0.1 is already in use: stop what uses it or choose another with --temporal-port (XUNCHA_DEV_TEMPORAL_PORT)"},
		{"--temporal-ui-port", "Temporal Web UI port " + port + " on 127.0.0.1 is already in use: stop what uses it or choose another with --temporal-ui-port (XUNCHA_DEV_TEMPORAL_UI_PORT)"},
		{"--postgres-port", "PostgreSQL port " + port + " on 127.0.0.1 is already in use: stop what uses it or choose another with --postgres-port (XUNCHA_DEV_POSTGRES_PORT)"},
	} {
		t.Run(tc.flag, func(t *testing.T) {
			t.Setenv("XUNCHA_TIP_KEY", "")
			t.Setenv("XUNCHA_PAYLOAD_KEYS", "")
			t.Setenv("XUNCHA_PAYLOAD_KEY_FILE", "")
			dataDir := filepath.Join(t.TempDir(), "data")
			ports := map[string]string{"--temporal-port": free(), "--temporal-ui-port": free(), "--postgres-port": free()}
			ports[tc.flag] = port
			args := []string{"dev", "--data-dir", dataDir, "--bin-dir", t.TempDir(), "--log-level", "error",
				"--http-addr", "127.0.0.1:0", "--grpc-addr", "127.0.0.1:0"}
			for flag, p := range ports {
				args = append(args, flag, p)
			}
			_, err := run(t, args...)
			require.EqualError(t, err, tc.want)
			st, err := os.Stat(dataDir)
			require.NoError(t, err)
			require.Equal(t, os.FileMode(0o700), st.Mode().Perm(), "the data directory is its user's alone (it was 0755, temporal.db 0644 in it)")
			require.NoFileExists(t, filepath.Join(dataDir, "tip.key"))
			require.NoFileExists(t, filepath.Join(dataDir, "payload.keys"))
		})
	}
}

// TestDevPortErrorNamesTheFlag covers a port taken after the check, while
// the server starts: the servers' errors are given the flags' names too.
func TestDevPortErrorNamesTheFlag(t *testing.T) {
	dc := &devConfig{TemporalPort: 7301, TemporalUIPort: 7302, PostgresPort: 7303}
	for _, tc := range []struct {
		err  error
		want string
	}{
		{&temporaldev.PortInUseError{Which: temporaldev.FrontendPort, Port: 7301}, "--temporal-port (XUNCHA_DEV_TEMPORAL_PORT)"},
		{&temporaldev.PortInUseError{Which: temporaldev.UIPort, Port: 7302}, "--temporal-ui-port (XUNCHA_DEV_TEMPORAL_UI_PORT)"},
		{fmt.Errorf("pgserver: port 7303 on 127.0.0.1 is already in use (%w)", pgserver.ErrPortInUse), "--postgres-port (XUNCHA_DEV_POSTGRES_PORT)"},
	} {
		require.ErrorContains(t, devPortError(tc.err, dc), tc.want)
	}
	other := fmt.Errorf("something else")
	require.Equal(t, other, devPortError(other, dc))
}

// TestDevRefusesToListenBeyondThisMachine: dev answers without a token as
// the office, so an address beyond this machine is refused before anything
// starts, naming the variable: XUNCHA_HTTP_ADDR=:18080, set for a server,
// made dev answer the whole network while its banner said localhost.
func TestDevRefusesToListenBeyondThisMachine(t *testing.T) {
	for _, tc := range []struct{ env, value string }{
		{"XUNCHA_HTTP_ADDR", ":18080"}, {"XUNCHA_GRPC_ADDR", "0.0.0.0:19090"}, {"XUNCHA_ADMIN_ADDR", "[::]:19464"},
		{"XUNCHA_HTTP_ADDR", "192.0.2.2:18080"},
	} {
		t.Run(tc.env+"="+tc.value, func(t *testing.T) {
			for _, v := range []string{"XUNCHA_HTTP_ADDR", "XUNCHA_GRPC_ADDR", "XUNCHA_ADMIN_ADDR"} {
				t.Setenv(v, "")
			}
			t.Setenv(tc.env, tc.value)
			dataDir := filepath.Join(t.TempDir(), "data")
			_, err := run(t, "dev", "--data-dir", dataDir, "--bin-dir", t.TempDir(), "--log-level", "error")
			require.ErrorContains(t, err, tc.env)
			require.ErrorContains(t, err, "loopback address only")
			require.NoDirExists(t, dataDir, "nothing started or created")
		})
	}
	for _, addr := range []string{"127.0.0.1:8080", "[::1]:8080", "localhost:8080", "127.0.0.2:1"} {
		require.True(t, loopbackAddr(addr), addr)
	}
}
