package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"syscall"
	"time"

	"github.com/spf13/cobra"
	"go.temporal.io/sdk/client"
	"go.uber.org/zap"
	"golang.org/x/sync/errgroup"

	"github.com/xuncha/xuncha/activities"
	"github.com/xuncha/xuncha/api"
	"github.com/xuncha/xuncha/internal/authn"
	"github.com/xuncha/xuncha/internal/devissuer"
	"github.com/xuncha/xuncha/internal/evidence"
	"github.com/xuncha/xuncha/internal/payloadcrypt"
	"github.com/xuncha/xuncha/internal/searchattr"
	"github.com/xuncha/xuncha/ledger"
	"github.com/xuncha/xuncha/workflows"
)

func newServerCmd(cfg *config) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "server",
		Short: "Serve the gRPC API and the REST gateway",
		RunE: func(cmd *cobra.Command, _ []string) error {
			return cfg.runProcesses(cmd.Context(), true, false, nil)
		},
	}
	cfg.bindListen(cmd, "", 5*time.Second)
	cfg.bindAdmin(cmd, "")
	cfg.bindEvidence(cmd, defaultServerEvidenceDir, "")
	cfg.bindTipKey(cmd)
	cfg.bindPayloadKeys(cmd) // it starts workflows and reads their answers, and serves the codec routes
	cfg.bindCodecCORS(cmd, "", " (default none)")
	cfg.bindWebhookAllow(cmd, "")
	cfg.bindOIDC(cmd, "the OpenID provider's issuer URL; every API call must carry a bearer token it issued (required)")
	cfg.bindAudit(cmd)
	return cmd
}

// defaultServerEvidenceDir is where `xuncha server` keeps evidence blobs
// unless configured: the image's volume (deploy/Dockerfile).
const defaultServerEvidenceDir = "/var/lib/xuncha/evidence"

func newWorkerCmd(cfg *config) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "worker",
		Short: "Run the Temporal worker: workflows, timers, escalation, ledger writes, webhook deliveries",
		RunE: func(cmd *cobra.Command, _ []string) error {
			return cfg.runProcesses(cmd.Context(), false, true, nil)
		},
	}
	cfg.bindAdmin(cmd, "")
	cfg.bindTipKey(cmd) // it seals webhook secrets, which the worker opens to sign
	cfg.bindPayloadKeys(cmd)
	cfg.bindWebhookAllow(cmd, "")
	cfg.bindAudit(cmd)
	cfg.bindStatistics(cmd)
	return cmd
}

// listen binds an address, turning a taken port into a one-line instruction.
func listen(what, addr string) (net.Listener, error) {
	l, err := net.Listen("tcp", addr)
	if errors.Is(err, syscall.EADDRINUSE) {
		return nil, fmt.Errorf("%s address %s is already in use: stop what uses it or choose another with --%s-addr", what, addr, what)
	}
	if err != nil {
		return nil, fmt.Errorf("listening for %s on %s: %w", what, addr, err)
	}
	return l, nil
}

// runProcesses runs the API and/or the worker until ctx ends; opts is set
// only by `xuncha dev`.
func (cfg *config) runProcesses(ctx context.Context, serveAPI, runWorker bool, opts *devOptions) error {
	log, err := cfg.logger()
	if err != nil {
		return err
	}
	defer func() { _ = log.Sync() }()
	if err := cfg.requireDatabase(); err != nil {
		return err
	}
	var grpcL, httpL net.Listener
	if _, err := cfg.webhookPolicy(); err != nil {
		return err
	}
	if _, err := cfg.tipSealer(); err != nil {
		return err
	}
	if _, err := cfg.auditHash(); err != nil {
		return err
	}
	if _, err := cfg.accessLogRetentionDays(); err != nil {
		return err
	}
	codec, err := cfg.payloadCodec()
	if err != nil {
		return err
	}
	if serveAPI {
		// Before anything binds or connects: no API without sign-in.
		if err := cfg.OIDC.Validate(); err != nil {
			return fmt.Errorf("xuncha server verifies every API call's bearer token: %w", err)
		}
		if _, err := api.CodecOrigins(cfg.CodecCORSOrigin); err != nil {
			return fmt.Errorf("XUNCHA_CODEC_CORS_ORIGIN / --codec-cors-origin: %w", err)
		}
		if grpcL, err = listen("grpc", cfg.GRPCAddr); err != nil {
			return err
		}
		defer grpcL.Close()
		if httpL, err = listen("http", cfg.HTTPAddr); err != nil {
			return err
		}
		defer httpL.Close()
	}
	service := "xuncha-worker"
	if serveAPI {
		service = "xuncha-server"
	}
	obs, stopObserving, err := cfg.observe(ctx, log, service)
	if err != nil {
		return err
	}
	defer stopObserving()
	store, err := ledger.Open(ctx, cfg.DatabaseURL, obs.ledgerOptions()...)
	if err != nil {
		return err
	}
	defer store.Close()
	schema, err := store.CheckSchema(ctx)
	if err != nil {
		return err
	}
	if schema.Ahead() {
		log.Warn("a newer release migrated the ledger: replace this release's servers and workers with it",
			zap.Int32("schema_version", schema.Version), zap.Int32("release_schema_version", schema.Latest))
	}
	tc, err := cfg.dialTemporal(ctx, log, codec, obs.tel)
	if err != nil {
		return err
	}
	defer tc.Close()
	return runWith(ctx, cfg, log, store, tc, codec, grpcL, httpL, runWorker, obs, opts)
}

// runWith runs the worker and/or the API over a ledger and a Temporal
// client that encrypts with codec, which the API also serves to the Web UI.
func runWith(ctx context.Context, cfg *config, log *zap.Logger, store *ledger.Store, tc client.Client, codec *payloadcrypt.Codec,
	grpcL, httpL net.Listener, runWorker bool, obs observed, opts *devOptions) error {
	var blobs *evidence.Store
	webhooks, err := cfg.webhookPolicy()
	if err != nil {
		return err
	}
	// The server key seals tip reporters' identities and webhook secrets.
	sealer, err := cfg.tipSealer()
	if err != nil {
		return err
	}
	store.Secrets = sealer
	if err := store.CheckSecretsKey(ctx); err != nil {
		return err
	}
	if cfg.tipKeyPlaceholder() {
		// Not refused: the key cannot change once something is sealed
		// with it, and what is must stay readable.
		log.Warn("XUNCHA_TIP_KEY is one byte repeated, a placeholder anyone can guess: tips' content, their reporters and webhook secrets are sealed with it; " +
			"it cannot be changed once something is sealed, so replace it before the first tip or webhook (README: XUNCHA_TIP_KEY)")
	}
	if store.AuditHash, err = cfg.auditHash(); err != nil {
		return err
	}
	retention, err := cfg.accessLogRetentionDays()
	if err != nil {
		return err
	}
	if n, err := store.SealWebhookSecrets(ctx); err != nil {
		return fmt.Errorf("sealing webhook secrets stored in plaintext: %w", err)
	} else if n > 0 {
		log.Info("sealed webhook secrets stored in plaintext", zap.Int("webhooks", n))
	}
	// Least privilege is `xuncha migrate`'s to set up; say so if it is not.
	warnings, err := store.PrivilegeWarnings(ctx)
	if err != nil {
		return err
	}
	for _, w := range warnings {
		log.Warn(w)
	}
	// Events an older binary wrote during a rolling upgrade join their chains.
	if n, err := store.SealAuditChains(ctx); ledger.PermissionDenied(err) {
		log.Warn("events written without a hash wait for `xuncha migrate`, as the ledger's owner, to join their audit chains", zap.Error(err))
	} else if err != nil {
		return fmt.Errorf("chaining events written without a hash: %w", err)
	} else if n > 0 {
		log.Info("chained events written without a hash", zap.Int("events", n))
	}
	var verifier *authn.Verifier
	var origins []string
	if grpcL != nil {
		oidc := cfg.OIDC
		if opts != nil && opts.issuer != nil {
			oidc.Issuer = opts.issuer.URL()
		}
		if verifier, err = authn.New(oidc); err != nil {
			return err
		}
		if cfg.RequestTimeout <= 0 {
			return fmt.Errorf("--request-timeout must be positive, not %s", cfg.RequestTimeout)
		}
		if cfg.WriteIdleTimeout <= 0 {
			return fmt.Errorf("--write-idle-timeout must be positive, not %s", cfg.WriteIdleTimeout)
		}
		if cfg.DrainDelay < 0 {
			return fmt.Errorf("--drain-delay must not be negative, not %s", cfg.DrainDelay)
		}
		if cfg.ReadIdleTimeout <= 0 {
			return fmt.Errorf("--read-idle-timeout must be positive, not %s", cfg.ReadIdleTimeout)
		}
		if blobs, err = cfg.evidenceStore(); err != nil {
			return err
		}
		if origins, err = api.CodecOrigins(cfg.CodecCORSOrigin); err != nil {
			return fmt.Errorf("XUNCHA_CODEC_CORS_ORIGIN / --codec-cors-origin: %w", err)
		}
	}
	if runWorker && cfg.StatisticsCompactEvery < 0 {
		return fmt.Errorf("XUNCHA_STATISTICS_COMPACT_EVERY / --statistics-compact-every must not be negative, not %s", cfg.StatisticsCompactEvery)
	}
	if runWorker {
		// Before a task is taken: a missing attribute fails every task.
		if err := searchattr.Check(ctx, tc.OperatorService(), cfg.TemporalNamespace); err != nil {
			return err
		}
	}
	ctx, stopAll := context.WithCancel(ctx)
	defer stopAll()
	g, ctx := errgroup.WithContext(ctx)
	stopAdmin, err := obs.serveAdmin(ctx, stopAll, log, store, tc)
	if err != nil {
		return err
	}
	finished := false
	defer func() {
		if !finished { // a return before the end: what started stops too
			stopAll()
			_ = g.Wait()
			_ = stopAdmin()
		}
	}()
	if runWorker {
		w := &workflows.Worker{
			Temporal:  tc,
			TaskQueue: cfg.TaskQueue,
			Activities: &activities.Activities{Ledger: store, Log: log.Named("activities"), Temporal: tc, Egress: webhooks,
				AccessLogRetentionDays: retention, Metrics: obs.metrics()},
			Log:          log.Named("worker"),
			AuditAnchors: true,
		}
		g.Go(func() error { return w.Run(ctx) })
		if cfg.StatisticsCompactEvery > 0 {
			c := &ledger.StatisticsCompactor{Store: store, Every: cfg.StatisticsCompactEvery, Log: log.Named("statistics")}
			g.Go(func() error { return c.Run(ctx) })
		}
	}
	if grpcL != nil {
		srv := &api.Server{
			Temporal:         tc,
			Ledger:           store,
			TaskQueue:        cfg.TaskQueue,
			GRPCListener:     grpcL,
			HTTPListener:     httpL,
			Evidence:         blobs,
			MaxEvidenceBytes: cfg.MaxEvidenceBytes,
			RequestTimeout:   cfg.RequestTimeout,
			WriteIdleTimeout: cfg.WriteIdleTimeout,
			ReadIdleTimeout:  cfg.ReadIdleTimeout,
			DrainDelay:       cfg.DrainDelay,
			Tips:             sealer,
			WebhookPolicy:    webhooks,
			Verifier:         verifier,
			PayloadCodec:     codec,
			CodecCORSOrigins: origins,
			Telemetry:        obs.tel,
			Log:              log.Named("api"),
		}
		if opts != nil {
			srv.DevIdentity = opts.defaultIdentity
			if opts.issuer != nil {
				if srv.DevIssuer, err = opts.issuer.Handler(); err != nil {
					return err
				}
				srv.DevIssuerPath = opts.issuerPath
			}
		}
		g.Go(func() error { return srv.Run(ctx) })
	}
	if opts != nil && opts.ready != nil {
		opts.ready()
	}
	err = g.Wait()
	finished = true
	return errors.Join(err, stopAdmin())
}

// devOptions are what `xuncha dev` adds to the production processes.
type devOptions struct {
	// issuer is the embedded OpenID provider, served on the REST port at
	// issuerPath; the API verifies tokens with it.
	issuer     *devissuer.Issuer
	issuerPath string
	// defaultIdentity is who a request without a token acts as.
	defaultIdentity *authn.Identity
	// ready, when set, is called once everything is up.
	ready func()
}
