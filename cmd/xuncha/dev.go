package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"go.uber.org/zap"

	"github.com/xuncha/xuncha/api"
	"github.com/xuncha/xuncha/internal/authn"
	"github.com/xuncha/xuncha/internal/devissuer"
	"github.com/xuncha/xuncha/internal/egress"
	"github.com/xuncha/xuncha/internal/loopback"
	"github.com/xuncha/xuncha/internal/pgserver"
	"github.com/xuncha/xuncha/internal/searchattr"
	"github.com/xuncha/xuncha/internal/temporaldev"
	"github.com/xuncha/xuncha/ledger"
)

// devConfig holds what only `xuncha dev` needs.
type devConfig struct {
	// DataDir keeps PostgreSQL's cluster and Temporal's SQLite file
	// (XUNCHA_DATA_DIR, default .data).
	DataDir string
	// BinDir is where the Temporal CLI is installed if missing (default bin).
	BinDir string
	// TemporalPort and TemporalUIPort (XUNCHA_DEV_TEMPORAL_PORT 7233,
	// XUNCHA_DEV_TEMPORAL_UI_PORT 8233).
	TemporalPort, TemporalUIPort int
	// PostgresPort (XUNCHA_DEV_POSTGRES_PORT, default 15432).
	PostgresPort int
}

// devIssuerPath is where on the REST port `xuncha dev` serves its OpenID
// provider unless --oidc-issuer names another URL.
const devIssuerPath = "/oidc"

func newDevCmd(cfg *config) *cobra.Command {
	dc := &devConfig{}
	cmd := &cobra.Command{
		Use:   "dev",
		Short: "Run everything locally: Temporal dev server and Web UI, private PostgreSQL, worker and API",
		Long: "Starts a Temporal dev server (installing the Temporal CLI into bin/ if missing), a private\n" +
			"PostgreSQL in the data directory unless DATABASE_URL is set, applies the migrations as the\n" +
			"owner (the private PostgreSQL's superuser, or MIGRATE_DATABASE_URL) and runs the worker and\n" +
			"the API as the application role (xuncha_app, or DATABASE_URL's user). Ctrl-C stops\n" +
			"everything it started; the next run reuses the data.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return runDev(cmd.Context(), cfg, dc) },
	}
	// On this machine only, unless told otherwise: dev answers a request
	// without a token as its office user, which on every interface was
	// anyone on the network.
	cfg.bindListen(cmd, "127.0.0.1", 0)
	cfg.bindAdmin(cmd, "127.0.0.1")
	// Empty means <data-dir>/evidence, resolved once --data-dir is known.
	cfg.bindEvidence(cmd, "", " (default <data-dir>/evidence, i.e. .data/evidence)")
	cfg.bindTipKey(cmd)      // unset: <data-dir>/tip.key, created once
	cfg.bindPayloadKeys(cmd) // unset: <data-dir>/payload.keys, created once
	cfg.bindMigrate(cmd, "; with the private PostgreSQL: "+ledger.DefaultAppRole)
	// Unset: the dev Web UI's origins, resolved once --temporal-ui-port is known.
	cfg.bindCodecCORS(cmd, "", " (default the dev Web UI: http://localhost:<ui port>,http://127.0.0.1:<ui port>)")
	// Local receivers (a script on this machine) are the point of dev.
	cfg.bindWebhookAllow(cmd, egress.LoopbackAllowList)
	f := cmd.Flags()
	f.StringVar(&dc.DataDir, "data-dir", envOr("XUNCHA_DATA_DIR", ".data"), "local state: PostgreSQL cluster and Temporal database [XUNCHA_DATA_DIR]")
	f.StringVar(&dc.BinDir, "bin-dir", "bin", "where the Temporal CLI is installed if missing")
	f.IntVar(&dc.TemporalPort, "temporal-port", cfg.envIntOr("XUNCHA_DEV_TEMPORAL_PORT", 7233), "Temporal dev server frontend port [XUNCHA_DEV_TEMPORAL_PORT]")
	f.IntVar(&dc.TemporalUIPort, "temporal-ui-port", cfg.envIntOr("XUNCHA_DEV_TEMPORAL_UI_PORT", 8233), "Temporal Web UI port [XUNCHA_DEV_TEMPORAL_UI_PORT]")
	f.IntVar(&dc.PostgresPort, "postgres-port", cfg.envIntOr("XUNCHA_DEV_POSTGRES_PORT", 15432), "private PostgreSQL port [XUNCHA_DEV_POSTGRES_PORT]")
	cfg.bindOIDC(cmd, "the issuer URL the embedded OpenID provider serves as; its path is where the REST port serves it (default http://localhost:<http port>/oidc)")
	cfg.bindAudit(cmd)
	cfg.bindStatistics(cmd)
	return cmd
}

func runDev(ctx context.Context, cfg *config, dc *devConfig) error {
	// Dev answers every request without a token, as the office: it
	// listens on this machine only. XUNCHA_HTTP_ADDR=:8080, set for a
	// server, made it answer the whole network, and its banner still said
	// localhost.
	for _, a := range []struct{ flag, env, addr string }{
		{"--http-addr", "XUNCHA_HTTP_ADDR", cfg.HTTPAddr}, {"--grpc-addr", "XUNCHA_GRPC_ADDR", cfg.GRPCAddr},
		{"--admin-addr", "XUNCHA_ADMIN_ADDR", cfg.AdminAddr},
	} {
		if !loopbackAddr(a.addr) {
			return fmt.Errorf("%s / %s %q: xuncha dev answers without a token, as the office, so it listens on a loopback address only (127.0.0.1:port, [::1]:port or localhost:port)",
				a.env, a.flag, a.addr)
		}
	}
	log, err := cfg.logger()
	if err != nil {
		return err
	}
	defer func() { _ = log.Sync() }()
	dataDir, err := filepath.Abs(dc.DataDir)
	if err != nil {
		return fmt.Errorf("--data-dir: %w", err)
	}
	// Its own user's alone: the Temporal store (temporal.db), the
	// evidence and the keys are in it.
	if err := os.MkdirAll(dataDir, 0o700); err != nil {
		return fmt.Errorf("creating data directory %s: %w", dataDir, err)
	}
	if cfg.EvidenceDir == "" {
		cfg.EvidenceDir = filepath.Join(dataDir, "evidence")
	}
	if cfg.CodecCORSOrigin == "" && dc.TemporalUIPort != 0 {
		cfg.CodecCORSOrigin = devUIOrigins(dc.TemporalUIPort)
	}
	if err := cfg.devPayloadKeysValid(); err != nil {
		return err
	}
	// Bind the API ports and check the others first: a taken port is
	// reported, by its flag, before anything slow starts or is created.
	if err := checkDevPorts(dc, cfg.DatabaseURL == ""); err != nil {
		return err
	}
	grpcL, err := listen("grpc", cfg.GRPCAddr)
	if err != nil {
		return err
	}
	defer grpcL.Close()
	httpL, err := listen("http", cfg.HTTPAddr)
	if err != nil {
		return err
	}
	defer httpL.Close()
	obs, stopObserving, err := cfg.observe(ctx, log, "xuncha-dev")
	if err != nil {
		return err
	}
	defer stopObserving()

	// Stopping uses a fresh context: ctx is already cancelled by Ctrl-C.
	stopCtx := func() (context.Context, context.CancelFunc) {
		return context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	}

	binDir, err := filepath.Abs(dc.BinDir)
	if err != nil {
		return fmt.Errorf("--bin-dir: %w", err)
	}
	temporalBin, err := temporaldev.EnsureBinary(ctx, binDir, log)
	if err != nil {
		return err
	}
	ts, err := temporaldev.Start(ctx, temporaldev.Config{
		BinPath: temporalBin,
		Port:    dc.TemporalPort,
		UIPort:  dc.TemporalUIPort,
		// The Web UI decodes payloads through the API's codec routes; a
		// request without a token acts as the dev office user, so the dev
		// UI, which has no sign-in, needs none.
		UICodecEndpoint:  "http://localhost" + portOf(httpL.Addr().String()) + api.CodecPath,
		DBFile:           filepath.Join(dataDir, "temporal.db"),
		Namespace:        cfg.TemporalNamespace,
		SearchAttributes: searchattr.DevServerFlags(),
		Log:              log.Named("temporal"),
	})
	if err != nil {
		return devPortError(err, dc)
	}
	defer func() {
		c, cancel := stopCtx()
		defer cancel()
		if err := ts.Stop(c); err != nil {
			log.Warn("stopping Temporal dev server", zap.Error(err))
		}
		log.Info("Temporal dev server stopped")
	}()
	cfg.TemporalAddress = ts.Address()

	if cfg.DatabaseURL == "" {
		pg, err := pgserver.Start(ctx, pgserver.Config{
			DataDir:  filepath.Join(dataDir, "postgres"),
			Port:     dc.PostgresPort,
			Database: "xuncha",
			Log:      log.Named("postgres"),
		})
		if err != nil {
			return devPortError(err, dc)
		}
		defer func() {
			c, cancel := stopCtx()
			defer cancel()
			if err := pg.Stop(c); err != nil {
				log.Warn("stopping PostgreSQL", zap.Error(err))
			}
			log.Info("PostgreSQL stopped")
		}()
		// As in production: migrations as the owner (here the superuser),
		// worker and API as the application role.
		if cfg.AppRole == "" {
			cfg.AppRole = ledger.DefaultAppRole
		}
		cfg.MigrateDatabaseURL, cfg.DatabaseURL = pg.URL(), pg.RoleURL(cfg.AppRole)
	}
	// Only now that the servers started: a taken port or a missing binary
	// leaves no key behind. Migrations seal tip content with it.
	if err := cfg.devTipKey(dataDir, log); err != nil {
		return err
	}
	if _, err := cfg.migrate(ctx, log); err != nil {
		return err
	}
	store, err := ledger.Open(ctx, cfg.DatabaseURL, obs.ledgerOptions()...)
	if err != nil {
		return err
	}
	defer store.Close()
	// Only now that everything started: a failed start leaves no key behind.
	if err := cfg.devPayloadKeys(dataDir, log); err != nil {
		return err
	}
	codec, err := cfg.payloadCodec()
	if err != nil {
		return err
	}
	tc, err := cfg.dialTemporal(ctx, log, codec, obs.tel)
	if err != nil {
		return err
	}
	defer tc.Close()

	issuer, issuerPath, err := startDevIssuer(cfg, dataDir, httpL.Addr().String())
	if err != nil {
		return err
	}
	who := devissuer.OfficeClerk
	opts := &devOptions{issuer: issuer, issuerPath: issuerPath,
		defaultIdentity: &authn.Identity{Subject: who.Subject, Name: who.Name, Organisation: who.Organisation, Roles: who.Roles, Units: who.Units},
		ready: func() {
			printBanner(cfg, ts.UIURL(), httpL.Addr().String(), grpcL.Addr().String(), issuer.URL(), filepath.Join(dc.DataDir, "oidc"), who, obs.admin.Addr().String())
		}}
	err = runWith(ctx, cfg, log, store, tc, codec, grpcL, httpL, true, obs, opts)
	log.Info("stopping")
	return err
}

// devUIOrigins are the origins of the dev Web UI on port: a browser reaches
// it as localhost or as 127.0.0.1, and sends whichever it was given.
func devUIOrigins(port int) string {
	return fmt.Sprintf("http://localhost:%d,http://127.0.0.1:%d", port, port)
}

// devPayloadKeysValid checks a payload key ring given explicitly before
// anything slow starts; without one, dev makes its own later.
func (c *config) devPayloadKeysValid() error {
	if c.PayloadKeys == "" && c.PayloadKeyFile == "" && os.Getenv("XUNCHA_PAYLOAD_KEYS") == "" {
		return nil
	}
	_, err := c.payloadCodec()
	return err
}

// startDevIssuer builds the embedded OpenID provider (keys in
// <data-dir>/oidc) at --oidc-issuer or http://localhost:<http port>/oidc,
// records its URL for `xuncha token`, and returns it with the path the REST
// port serves it at.
func startDevIssuer(cfg *config, dataDir, httpAddr string) (*devissuer.Issuer, string, error) {
	issuerURL := cfg.OIDC.Issuer
	if issuerURL == "" {
		issuerURL = "http://localhost" + portOf(httpAddr) + devIssuerPath
	}
	u, err := url.Parse(issuerURL)
	if err != nil || strings.Trim(u.Path, "/") == "" {
		return nil, "", fmt.Errorf("--oidc-issuer (XUNCHA_OIDC_ISSUER) for xuncha dev must be a URL with a path, such as http://localhost:8080/oidc: the REST port serves the embedded provider there")
	}
	issuer, err := devissuer.New(devissuer.Config{Issuer: issuerURL, Dir: filepath.Join(dataDir, devIssuerDir),
		Audience: cfg.OIDC.Audience, Claims: cfg.OIDC.Claims})
	if err != nil {
		return nil, "", err
	}
	if err := issuer.Record(); err != nil {
		return nil, "", err
	}
	return issuer, strings.TrimSuffix(u.Path, "/") + "/", nil
}

// devPort is a port `xuncha dev` gives one of its private servers, with the
// flag (and variable) that chooses it.
type devPort struct {
	port       int
	what, flag string
}

// devPorts are the private servers' ports; PostgreSQL's only when dev starts
// its own.
func devPorts(dc *devConfig, privatePostgres bool) []devPort {
	ports := []devPort{
		{dc.TemporalPort, "Temporal port", "--temporal-port (XUNCHA_DEV_TEMPORAL_PORT)"},
		{dc.TemporalUIPort, "Temporal Web UI port", "--temporal-ui-port (XUNCHA_DEV_TEMPORAL_UI_PORT)"},
	}
	if privatePostgres {
		ports = append(ports, devPort{dc.PostgresPort, "PostgreSQL port", "--postgres-port (XUNCHA_DEV_POSTGRES_PORT)"})
	}
	return ports
}

func (p devPort) taken() error {
	return fmt.Errorf("%s %d on 127.0.0.1 is already in use: stop what uses it or choose another with %s", p.what, p.port, p.flag)
}

// checkDevPorts reports the first of the private servers' ports that is
// taken, naming the flag that moves it.
func checkDevPorts(dc *devConfig, privatePostgres bool) error {
	for _, p := range devPorts(dc, privatePostgres) {
		if p.port == 0 {
			continue // the server picks a free one
		}
		l, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(p.port)))
		if err != nil {
			return p.taken()
		}
		if err := l.Close(); err != nil {
			return fmt.Errorf("checking the %s %d: %w", p.what, p.port, err)
		}
	}
	return nil
}

// devPortError names the flag of a port taken between checkDevPorts and a
// server's start (the servers' own errors name their Config); other errors
// pass unchanged.
func devPortError(err error, dc *devConfig) error {
	ports := devPorts(dc, true)
	var taken *temporaldev.PortInUseError
	switch {
	case errors.As(err, &taken) && taken.Which == temporaldev.FrontendPort:
		return ports[0].taken()
	case errors.As(err, &taken) && taken.Which == temporaldev.UIPort:
		return ports[1].taken()
	case errors.Is(err, pgserver.ErrPortInUse):
		return ports[2].taken()
	}
	return err
}

// printBanner tells the developer where everything is; keysDir is the dev
// issuer's key directory as --data-dir names it.
func printBanner(cfg *config, uiURL, httpAddr, grpcAddr, issuerURL, keysDir string, who devissuer.User, adminAddr string) {
	rest := "http://localhost" + portOf(httpAddr)
	fmt.Printf(`
xuncha dev is running (Ctrl-C stops everything).

  REST API         %[1]s   (health: %[1]s/healthz, OpenAPI: %[1]s/openapi.json)
  gRPC API         localhost%[2]s   (reflection on: grpcurl -plaintext localhost%[2]s list)
  Temporal Web UI  %[3]s   (decodes payloads through %[1]s/codec)
  Temporal         %[4]s   (bin/temporal workflow list --address %[4]s)
  PostgreSQL       %[5]s   (worker and API; migrations as %[10]s)
  OpenID issuer    %[6]s   (dev users for every role; keys in %[12]s)
  Metrics          http://localhost%[11]s/metrics   (also /healthz, /readyz, /debug/pprof/ on that port)

Every call carries a bearer token: bin/xuncha token --role ROLE prints one
(roles: office, committee, team_leader, team_member, unit, auditor, receiver, expert).
For convenience, a request without a token acts as the office user
%[7]s (%[8]s, %[9]s); xuncha server never does this.

Create an inspection:

  curl -s -X POST %[1]s/v1/inspections -H 'Content-Type: application/json' \
    -H "Authorization: Bearer $(bin/xuncha token --role office)" \
    -d '{"request_id":"demo-1","inspection":{"unit":{"code":"430100","name":"长沙市"},"kind":"SPECIAL","round":"2026年第一轮","planned_start":"2026-12-01","planned_end":"2026-12-15","content_areas":[1,5],"team":[{"name":"赵强","role":"LEADER","rank":"INSPECTOR_LEVEL_2","subject":"dev-team-leader"},{"name":"钱敏","role":"DEPUTY","rank":"DIVISION_CHIEF"},{"name":"孙伟","role":"MEMBER","rank":"OTHER","subject":"dev-team-member"},{"name":"李娜","role":"MEMBER","rank":"OTHER"},{"name":"周杰","role":"MEMBER","rank":"OTHER"},{"name":"吴刚","role":"EXPERT","rank":"OTHER"}]}}'

`, rest, portOf(grpcAddr), uiURL, cfg.TemporalAddress, redactURL(cfg.DatabaseURL), issuerURL, who.Name, who.Subject, who.Organisation,
		urlUser(cfg.MigrateDatabaseURL, cfg.DatabaseURL), portOf(adminAddr), keysDir)
}

// urlUser is the user of the first non-empty database URL: whom migrations
// connect as.
func urlUser(urls ...string) string {
	for _, raw := range urls {
		if raw == "" {
			continue
		}
		if u, err := url.Parse(raw); err == nil && u.User != nil {
			return u.User.Username()
		}
		return "(unparsable URL)"
	}
	return ""
}

func portOf(addr string) string {
	for i := len(addr) - 1; i >= 0; i-- {
		if addr[i] == ':' {
			return addr[i:]
		}
	}
	return addr
}

// loopbackAddr reports whether the listen address addr (host:port) binds
// this machine only: a loopback IP or localhost, not every interface (an
// empty host, 0.0.0.0, ::) nor another address.
func loopbackAddr(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	return err == nil && loopback.Host(host)
}
