package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"github.com/spf13/cobra"
	"github.com/stretchr/testify/require"

	"github.com/xuncha/xuncha/api"
	"github.com/xuncha/xuncha/ledger"
)

func TestRequestTimeoutFlag(t *testing.T) {
	tests := []struct {
		name string
		env  string
		args []string
		want time.Duration
	}{
		{"default", "", nil, api.DefaultRequestTimeout},
		{"environment", "3s", nil, 3 * time.Second},
		{"flag wins", "3s", []string{"--request-timeout", "1500ms"}, 1500 * time.Millisecond},
		{"unparsable environment keeps the default", "soon", nil, api.DefaultRequestTimeout},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Setenv("XUNCHA_REQUEST_TIMEOUT", tc.env)
			for _, newCmd := range []func(*config) *cobra.Command{newServerCmd, newDevCmd} {
				cfg := &config{}
				cmd := newCmd(cfg)
				require.NoError(t, cmd.ParseFlags(tc.args))
				require.Equal(t, tc.want, cfg.RequestTimeout, cmd.Name())
			}
		})
	}
}

func TestWriteIdleTimeoutFlag(t *testing.T) {
	t.Setenv("XUNCHA_WRITE_IDLE_TIMEOUT", "")
	for _, newCmd := range []func(*config) *cobra.Command{newServerCmd, newDevCmd} {
		cfg := &config{}
		cmd := newCmd(cfg)
		require.NoError(t, cmd.ParseFlags(nil))
		require.Equal(t, api.DefaultWriteIdleTimeout, cfg.WriteIdleTimeout, cmd.Name())
		require.NoError(t, cmd.ParseFlags([]string{"--write-idle-timeout", "90s"}))
		require.Equal(t, 90*time.Second, cfg.WriteIdleTimeout, cmd.Name())
	}
}

func TestStatisticsCompactEveryFlag(t *testing.T) {
	tests := []struct {
		name string
		env  string
		args []string
		want time.Duration
	}{
		{"default", "", nil, ledger.DefaultStatisticsCompactEvery},
		{"environment", "2m", nil, 2 * time.Minute},
		{"flag wins", "2m", []string{"--statistics-compact-every", "10s"}, 10 * time.Second},
		{"off", "", []string{"--statistics-compact-every", "0"}, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Setenv("XUNCHA_STATISTICS_COMPACT_EVERY", tc.env)
			for _, newCmd := range []func(*config) *cobra.Command{newWorkerCmd, newDevCmd} {
				cfg := &config{}
				cmd := newCmd(cfg)
				require.NoError(t, cmd.ParseFlags(tc.args))
				require.Equal(t, tc.want, cfg.StatisticsCompactEvery, cmd.Name())
			}
		})
	}
}

// TestHelpKeepsSecretsOut: --help shows no default a secret's environment
// variable gave: the database URLs' passwords and the bearer token were
// printed as the flags' defaults, by any command's help.
func TestHelpKeepsSecretsOut(t *testing.T) {
	t.Setenv("DATABASE_URL", "postgres://app:APPSECRET@db/xuncha")
	t.Setenv("MIGRATE_DATABASE_URL", "postgres://owner:OWNERSECRET@db/xuncha")
	t.Setenv("XUNCHA_TOKEN", "eyTOKENSECRET")
	for _, args := range [][]string{{"migrate", "--help"}, {"calendar", "show", "--help"}, {"findings", "import", "--help"}, {"server", "--help"}} {
		cmd := newRootCmd()
		var out bytes.Buffer
		cmd.SetOut(&out)
		cmd.SetErr(&out)
		cmd.SetArgs(args)
		require.NoError(t, cmd.ExecuteContext(context.Background()), "%v", args)
		require.NotEmpty(t, out.String())
		for _, secret := range []string{"APPSECRET", "OWNERSECRET", "eyTOKENSECRET"} {
			require.NotContains(t, out.String(), secret, "%v", args)
		}
	}
}

// TestBadEnvironmentIsRefused: an environment variable a flag reads that
// does not parse is refused, naming it and what it must be; it gave the
// flag's default in silence (XUNCHA_REQUEST_TIMEOUT=30 ran with 10s).
func TestBadEnvironmentIsRefused(t *testing.T) {
	t.Setenv("XUNCHA_REQUEST_TIMEOUT", "30")
	t.Setenv("XUNCHA_EVIDENCE_MAX_BYTES", "500MiB")
	_, err := run(t, "calendar", "deadline", "--from", "2026-09-30", "--working-days", "5")
	require.ErrorContains(t, err, `XUNCHA_REQUEST_TIMEOUT="30": must be a duration with its unit`)
	require.ErrorContains(t, err, `XUNCHA_EVIDENCE_MAX_BYTES="500MiB": must be a whole number`)
	require.Equal(t, 1, strings.Count(err.Error(), "XUNCHA_REQUEST_TIMEOUT="), "named once, however many commands' flags read it")
	t.Setenv("XUNCHA_REQUEST_TIMEOUT", "30s")
	t.Setenv("XUNCHA_EVIDENCE_MAX_BYTES", "")
	_, err = run(t, "calendar", "deadline", "--from", "2026-09-30", "--working-days", "5")
	require.NoError(t, err)
}

// TestDevListensOnThisMachineOnly: dev answers a request without a token as
// its office user, so by default it listens on 127.0.0.1 (it took every
// interface, anyone on the network being the office); server keeps every
// interface.
func TestDevListensOnThisMachineOnly(t *testing.T) {
	for _, v := range []string{"XUNCHA_HTTP_ADDR", "XUNCHA_GRPC_ADDR", "XUNCHA_ADMIN_ADDR"} {
		t.Setenv(v, "")
	}
	root := newRootCmd()
	defaults := func(name string) []string {
		cmd, _, err := root.Find([]string{name})
		require.NoError(t, err)
		var out []string
		for _, flag := range []string{"http-addr", "grpc-addr", "admin-addr"} {
			out = append(out, cmd.Flags().Lookup(flag).DefValue)
		}
		return out
	}
	require.Equal(t, []string{"127.0.0.1:8080", "127.0.0.1:9090", "127.0.0.1:9464"}, defaults("dev"))
	require.Equal(t, []string{":8080", ":9090", ":9464"}, defaults("server"))
}

// TestRedactURLHidesEveryPassword: the dev banner prints DATABASE_URL with
// its password hidden, in each form a PostgreSQL connection string takes;
// the key=value form and a password in the query were printed whole.
func TestRedactURLHidesEveryPassword(t *testing.T) {
	for _, raw := range []string{
		"postgres://u:S3CRET@db/x",
		"postgres://u@db/x?password=S3CRET&sslmode=disable",
		"host=db user=u password=S3CRET dbname=x",
		"host=db user=u password = 'S3 CRET' dbname=x",
		"host=db PASSWORD=S3CRET",
	} {
		got := redactURL(raw)
		require.NotContains(t, got, "S3CRET", raw)
		require.NotContains(t, got, "CRET", raw)
	}
	require.Equal(t, "host=db user=u password=xxxxx dbname=x", redactURL("host=db user=u password=S3CRET dbname=x"))
}
