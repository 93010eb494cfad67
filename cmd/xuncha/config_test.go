package main

import (
	"bytes"
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"github.com/stretchr/testify/require"

	"github.com/xuncha/xuncha/api"
	"github.com/xuncha/xuncha/internal/egress"
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

// TestBadEnvironmentIsRefused: an environment variable a command's flag
// reads that does not parse is refused, naming it and what it must be; it
// gave the flag's default in silence (XUNCHA_REQUEST_TIMEOUT=30 ran with
// 10s). A command none of whose flags reads it runs, as does one whose
// command line sets that flag (every command was refused for any of them).
func TestBadEnvironmentIsRefused(t *testing.T) {
	t.Setenv("XUNCHA_REQUEST_TIMEOUT", "30")
	t.Setenv("XUNCHA_EVIDENCE_MAX_BYTES", "500MiB")
	_, err := run(t, "server")
	require.ErrorContains(t, err, `XUNCHA_REQUEST_TIMEOUT="30": must be a duration with its unit`)
	require.ErrorContains(t, err, `XUNCHA_EVIDENCE_MAX_BYTES="500MiB": must be a whole number`)
	require.Equal(t, 1, strings.Count(err.Error(), "XUNCHA_REQUEST_TIMEOUT="), "named once, however many commands' flags read it")
	_, err = run(t, "server", "--request-timeout", "5s")
	require.ErrorContains(t, err, "XUNCHA_EVIDENCE_MAX_BYTES=")
	require.NotContains(t, err.Error(), "XUNCHA_REQUEST_TIMEOUT", "the command line sets that flag")
	_, err = run(t, "calendar", "deadline", "--from", "2026-09-30", "--working-days", "5")
	require.NoError(t, err, "calendar deadline reads neither")
	t.Setenv("XUNCHA_DEV_TEMPORAL_PORT", "x")
	_, err = run(t, "calendar", "deadline", "--from", "2026-09-30", "--working-days", "5")
	require.NoError(t, err, "nor dev's ports")
	root := newRootCmd()
	dev, _, err := root.Find([]string{"dev"})
	require.NoError(t, err)
	dev.RunE = func(*cobra.Command, []string) error { return errors.New("dev ran") } // never start one here
	root.SetArgs([]string{"dev"})
	err = root.ExecuteContext(context.Background())
	require.ErrorContains(t, err, `XUNCHA_DEV_TEMPORAL_PORT="x": must be a whole number`)
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

// bound runs the command args names with its RunE replaced by one that
// reads the values its flags hold as it would run: what the shared config
// fields hold, not what --help says.
func bound(t *testing.T, root *cobra.Command, flags []string, args ...string) []string {
	t.Helper()
	cmd, _, err := root.Find(args)
	require.NoError(t, err)
	var got []string
	cmd.RunE = func(c *cobra.Command, _ []string) error {
		for _, name := range flags {
			got = append(got, c.Flags().Lookup(name).Value.String())
		}
		return nil
	}
	cmd.Run = nil
	root.SetArgs(args)
	require.NoError(t, root.ExecuteContext(context.Background()))
	return got
}

// TestDevRunsWithItsOwnDefaults: dev's flags hold dev's defaults when it
// runs. Dev, server and worker bind their flags to the same fields, and
// each binding wrote its default there: dev ran with server's, listening on
// every interface (anyone on the network its office user), draining 5s,
// refusing loopback webhooks and storing evidence in /var/lib/xuncha,
// while its --help showed its own. An explicit flag still wins.
func TestDevRunsWithItsOwnDefaults(t *testing.T) {
	for _, v := range []string{"XUNCHA_HTTP_ADDR", "XUNCHA_GRPC_ADDR", "XUNCHA_ADMIN_ADDR", "XUNCHA_DRAIN_DELAY",
		"XUNCHA_WEBHOOK_ALLOW", "XUNCHA_EVIDENCE_DIR", "DATABASE_URL", "MIGRATE_DATABASE_URL", "XUNCHA_APP_ROLE"} {
		t.Setenv(v, "")
	}
	flags := []string{"http-addr", "grpc-addr", "admin-addr", "drain-delay", "webhook-allow", "evidence-dir"}
	root := newRootCmd()
	dev := []string{"127.0.0.1:8080", "127.0.0.1:9090", "127.0.0.1:9464", "0s", egress.LoopbackAllowList, ""}
	require.Equal(t, dev, bound(t, root, flags, "dev"))
	require.Equal(t, []string{":8080", ":9090", ":9464", "5s", "", "/var/lib/xuncha/evidence"}, bound(t, root, flags, "server"))
	require.Equal(t, dev, bound(t, newRootCmd(), flags, "dev"), "a fresh root too")
	got := bound(t, newRootCmd(), flags, "dev", "--http-addr", "127.0.0.1:18080")
	require.Equal(t, "127.0.0.1:18080", got[0], "an explicit flag wins")
	require.Equal(t, dev[1:], got[1:])
}

// TestEveryCommandRunsWithItsOwnDefaults: whichever commands ran before on
// the same root, every command's flags hold their own defaults when it
// runs (a hidden secret default included).
func TestEveryCommandRunsWithItsOwnDefaults(t *testing.T) {
	t.Setenv("DATABASE_URL", "postgres://app:S3CRET@db/x")
	t.Setenv("MIGRATE_DATABASE_URL", "postgres://owner:S3CRET@db/x")
	root := newRootCmd()
	var all []*cobra.Command
	var walk func(c *cobra.Command)
	walk = func(c *cobra.Command) {
		for _, sub := range c.Commands() {
			if sub.Runnable() && sub.Name() != "help" {
				all = append(all, sub)
			}
			walk(sub)
		}
	}
	walk(root)
	require.Greater(t, len(all), 10)
	backward := slices.Clone(all)
	slices.Reverse(backward)
	for _, order := range [][]*cobra.Command{all, backward} {
		for _, cmd := range order {
			// Run without the arguments and required flags it asks for.
			cmd.Args = cobra.ArbitraryArgs
			cmd.Flags().VisitAll(func(f *pflag.Flag) { delete(f.Annotations, cobra.BashCompOneRequiredFlag) })
			cmd.RunE = func(c *cobra.Command, _ []string) error {
				c.Flags().VisitAll(func(f *pflag.Flag) {
					if _, slice := f.Value.(pflag.SliceValue); slice {
						return
					}
					want := f.DefValue
					if a, ok := f.Annotations[defaultAnnotation]; ok {
						want = a[0]
					}
					require.Equal(t, want, f.Value.String(), "%s --%s", c.CommandPath(), f.Name)
				})
				return nil
			}
			cmd.Run = nil
			root.SetArgs(strings.Fields(strings.TrimPrefix(cmd.CommandPath(), "xuncha ")))
			require.NoError(t, root.ExecuteContext(context.Background()), cmd.CommandPath())
		}
	}
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

// TestImportReportInTheLocalesLanguage: the import's report is written in
// the locale's language, Chinese unless it is English, as the server's
// answers are; it was English whatever the locale.
func TestImportReportInTheLocalesLanguage(t *testing.T) {
	r := importReport{InspectionID: "ins-1", ImportWorkflowID: "finding-import/ins-1/x",
		workbookReport: workbookReport{Sheet: "问题清单", Rows: 3, Recorded: 2, AlreadyRecorded: 1}}
	for _, tc := range []struct{ lang, want string }{
		{"zh_CN.UTF-8", "巡查 ins-1，工作表 问题清单：共 3 行；新登记问题 2 个，已登记 1 个，跳过无效行 0 行\n问题的工作流正由工作流 finding-import/ins-1/x 启动\n"},
		{"", "巡查 ins-1，工作表 问题清单：共 3 行；新登记问题 2 个，已登记 1 个，跳过无效行 0 行\n问题的工作流正由工作流 finding-import/ins-1/x 启动\n"},
		{"en_US.UTF-8", "inspection ins-1, sheet 问题清单: 3 rows; 2 findings recorded, 1 already recorded, 0 invalid rows skipped\nthe findings' workflows are being started by workflow finding-import/ins-1/x\n"},
	} {
		t.Setenv("LC_ALL", "")
		t.Setenv("LC_MESSAGES", "")
		t.Setenv("LANG", tc.lang)
		var out bytes.Buffer
		require.NoError(t, r.print(&out))
		require.Equal(t, tc.want, out.String(), tc.lang)
	}
}

// TestAcceptUnsignedFlag: off unless asked for, by XUNCHA_ACCEPT_UNSIGNED=true
// or --accept-unsigned, on every command that runs workers, and carried
// into the payload codec their clients and workers are built on.
func TestAcceptUnsignedFlag(t *testing.T) {
	for _, tc := range []struct {
		name, env string
		args      []string
		want      bool
	}{
		{"default", "", nil, false},
		{"environment", "true", nil, true},
		{"1 is true", "1", nil, true},
		{"not a boolean is off, and named", "yes", nil, false},
		{"flag", "", []string{"--accept-unsigned"}, true},
		{"flag wins", "true", []string{"--accept-unsigned=false"}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Setenv("XUNCHA_ACCEPT_UNSIGNED", tc.env)
			t.Setenv("XUNCHA_PAYLOAD_KEYS", payloadKey(t, "k1"))
			for _, newCmd := range []func(*config) *cobra.Command{newServerCmd, newWorkerCmd, newDevCmd} {
				cfg := &config{}
				cmd := newCmd(cfg)
				require.NoError(t, cmd.ParseFlags(tc.args))
				require.Equal(t, tc.want, cfg.AcceptUnsigned, cmd.Name())
				named := slices.ContainsFunc(cfg.badEnv, func(b badEnv) bool { return b.key == "XUNCHA_ACCEPT_UNSIGNED" })
				require.Equal(t, tc.env == "yes", named, "%s: an unparsable value is a configuration error", cmd.Name())
				codec, err := cfg.payloadCodec()
				require.NoError(t, err, cmd.Name())
				require.Equal(t, tc.want, codec.AcceptUnsigned, cmd.Name())
			}
		})
	}
}
