package main

import (
	"context"
	"fmt"
	"net/url"
	"os"
	"strconv"

	"github.com/spf13/cobra"
	"go.temporal.io/sdk/client"
	"go.uber.org/zap"

	"github.com/xuncha/xuncha/internal/logging"
	"github.com/xuncha/xuncha/workflows"
)

// config holds every setting; each flag's default comes from its environment
// variable when set, and an explicit flag wins over both.
type config struct {
	// DatabaseURL is the ledger's PostgreSQL (DATABASE_URL). Required for
	// server, worker and migrate; `dev` starts a private one when empty.
	DatabaseURL string
	// TemporalAddress is the Temporal frontend (TEMPORAL_ADDRESS, default
	// 127.0.0.1:7233).
	TemporalAddress string
	// TemporalNamespace (TEMPORAL_NAMESPACE, default "default").
	TemporalNamespace string
	// TaskQueue (XUNCHA_TASK_QUEUE, default "xuncha").
	TaskQueue string
	// GRPCAddr is the gRPC listen address (XUNCHA_GRPC_ADDR, default :9090).
	GRPCAddr string
	// HTTPAddr is the REST listen address (XUNCHA_HTTP_ADDR, default :8080).
	HTTPAddr string
	// LogLevel (XUNCHA_LOG_LEVEL, default info).
	LogLevel string
	// LogFormat is console or json (XUNCHA_LOG_FORMAT, default console).
	LogFormat string
}

func envOr(key, fallback string) string {
	if v, ok := os.LookupEnv(key); ok && v != "" {
		return v
	}
	return fallback
}

func envIntOr(key string, fallback int) int {
	if v, err := strconv.Atoi(os.Getenv(key)); err == nil {
		return v
	}
	return fallback
}

func (c *config) bindCommon(cmd *cobra.Command) {
	f := cmd.PersistentFlags()
	f.StringVar(&c.DatabaseURL, "database-url", envOr("DATABASE_URL", ""), "ledger PostgreSQL URL [DATABASE_URL]")
	f.StringVar(&c.TemporalAddress, "temporal-address", envOr("TEMPORAL_ADDRESS", "127.0.0.1:7233"), "Temporal frontend host:port [TEMPORAL_ADDRESS]")
	f.StringVar(&c.TemporalNamespace, "temporal-namespace", envOr("TEMPORAL_NAMESPACE", "default"), "Temporal namespace [TEMPORAL_NAMESPACE]")
	f.StringVar(&c.TaskQueue, "task-queue", envOr("XUNCHA_TASK_QUEUE", workflows.DefaultTaskQueue), "Temporal task queue [XUNCHA_TASK_QUEUE]")
	f.StringVar(&c.LogLevel, "log-level", envOr("XUNCHA_LOG_LEVEL", "info"), "debug, info, warn or error [XUNCHA_LOG_LEVEL]")
	f.StringVar(&c.LogFormat, "log-format", envOr("XUNCHA_LOG_FORMAT", "console"), "console or json [XUNCHA_LOG_FORMAT]")
}

func (c *config) bindListen(cmd *cobra.Command) {
	f := cmd.Flags()
	f.StringVar(&c.GRPCAddr, "grpc-addr", envOr("XUNCHA_GRPC_ADDR", ":9090"), "gRPC listen address [XUNCHA_GRPC_ADDR]")
	f.StringVar(&c.HTTPAddr, "http-addr", envOr("XUNCHA_HTTP_ADDR", ":8080"), "REST listen address [XUNCHA_HTTP_ADDR]")
}

func (c *config) logger() (*zap.Logger, error) {
	return logging.New(c.LogLevel, c.LogFormat)
}

func (c *config) requireDatabase() error {
	if c.DatabaseURL == "" {
		return fmt.Errorf("no database: set DATABASE_URL or --database-url (postgres://user:pass@host:5432/xuncha)")
	}
	return nil
}

// dialTemporal connects to the Temporal frontend and checks that it answers.
func (c *config) dialTemporal(ctx context.Context, log *zap.Logger) (client.Client, error) {
	cl, err := client.DialContext(ctx, client.Options{
		HostPort:  c.TemporalAddress,
		Namespace: c.TemporalNamespace,
		Logger:    logging.Temporal(log),
	})
	if err != nil {
		return nil, fmt.Errorf("Temporal at %s is unreachable: start it (make run starts a dev server) or set TEMPORAL_ADDRESS: %v", c.TemporalAddress, err)
	}
	return cl, nil
}

// redactURL hides a password in a database URL for printing.
func redactURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "(unparsable URL)"
	}
	return u.Redacted()
}
