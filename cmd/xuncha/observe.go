package main

import (
	"context"
	"net"
	"slices"
	"time"

	"github.com/spf13/cobra"
	"go.temporal.io/sdk/client"
	"go.uber.org/zap"

	"github.com/xuncha/xuncha/api"
	"github.com/xuncha/xuncha/internal/telemetry"
	"github.com/xuncha/xuncha/ledger"
	"github.com/xuncha/xuncha/workflows"
)

// bindAdmin adds --admin-addr to a command that runs the API or the worker,
// on host by default (empty: every interface).
func (c *config) bindAdmin(cmd *cobra.Command, host string) {
	cmd.Flags().StringVar(&c.AdminAddr, "admin-addr", envOr("XUNCHA_ADMIN_ADDR", host+telemetry.DefaultAdminAddr),
		"admin listen address: /metrics, /healthz, /readyz, /debug/pprof/ (no token; keep it off public networks) [XUNCHA_ADMIN_ADDR]")
}

// observed is a process's telemetry and its bound admin listener.
type observed struct {
	tel   *telemetry.Telemetry
	admin net.Listener
}

// observe binds the admin address (a taken port is reported before anything
// slow starts) and builds the process's telemetry; service names its spans
// (xuncha-server, xuncha-worker, xuncha-dev). stop closes the listener and
// flushes the spans.
func (c *config) observe(ctx context.Context, log *zap.Logger, service string) (_ observed, stop func(), err error) {
	admin, err := listen("admin", c.AdminAddr)
	if err != nil {
		return observed{}, nil, err
	}
	tel, err := telemetry.New(ctx, telemetry.Config{Service: service, Log: log.Named("telemetry")})
	if err != nil {
		_ = admin.Close()
		return observed{}, nil, err
	}
	if tel.Exporting != "" {
		log.Info("exporting traces", zap.String("to", tel.Exporting))
	}
	return observed{tel: tel, admin: admin}, func() {
		_ = admin.Close()
		shutdownCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		if err := tel.Shutdown(shutdownCtx); err != nil {
			log.Warn("flushing traces", zap.Error(err))
		}
	}, nil
}

// metrics are the process's own instruments; nil without telemetry.
func (o observed) metrics() *telemetry.Metrics {
	if o.tel == nil {
		return nil
	}
	return o.tel.Metrics
}

// ledgerOptions traces the ledger's statements.
func (o observed) ledgerOptions() []ledger.Option {
	if o.tel == nil {
		return nil
	}
	return []ledger.Option{ledger.WithTracer(o.tel.PgxTracer())}
}

// serveAdmin adds the ledger's gauges to the registry and serves the admin
// routes until stop is called; a failure to serve calls failed. Readiness
// is the API's (api.Ready) for every process: the worker too needs the
// ledger and a healthy Temporal client. The routes outlive the process's
// other work: they serve through the API's drain, and stop is called once
// the API and the worker have ended (they stopped with the signal, and
// monitoring lost the process for the whole drain).
func (o observed) serveAdmin(ctx context.Context, failed func(), log *zap.Logger, store *ledger.Store, tc client.Client) (stop func() error, _ error) {
	if o.tel == nil {
		return func() error { return nil }, nil
	}
	open := slices.DeleteFunc(slices.Clone(workflows.FindingStages), func(s string) bool {
		return s == workflows.FindingClosed || s == workflows.FindingWithdrawn
	})
	if err := o.tel.WatchLedger(store, open); err != nil {
		return nil, err
	}
	a := &telemetry.Admin{Listener: o.admin, Gatherer: o.tel.Registry, Ready: api.Ready(store, tc), Log: log.Named("admin")}
	actx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	done := make(chan error, 1)
	go func() {
		err := a.Run(actx)
		if err != nil {
			failed()
		}
		done <- err
	}()
	return func() error { cancel(); return <-done }, nil
}
