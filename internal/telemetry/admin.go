package telemetry

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/pprof"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"go.uber.org/zap"
)

// DefaultAdminAddr is where server, worker and dev serve the admin routes
// unless configured (XUNCHA_ADMIN_ADDR): 9464 is the port OpenTelemetry's
// Prometheus exporters use by convention.
const DefaultAdminAddr = ":9464"

// Admin serves the operators' routes on their own port, apart from the API:
// GET /metrics (Prometheus text), GET /healthz (the process is alive),
// GET /readyz (Ready answers) and /debug/pprof/ (Go's profiles). It asks for
// no token: bind it where only the cluster's monitoring reaches.
type Admin struct {
	// Listener is bound by the caller, so that a taken port is reported
	// before anything starts.
	Listener net.Listener
	// Gatherer is the process's registry (Telemetry.Registry).
	Gatherer prometheus.Gatherer
	// Ready reports whether the process can do its work; nil is always ready.
	Ready func(context.Context) error
	// Log is the structured logger.
	Log *zap.Logger
	// IdleTimeout is how long a kept-alive connection may wait idle for
	// its next request; zero is DefaultAdminIdleTimeout.
	IdleTimeout time.Duration
}

// DefaultAdminIdleTimeout closes an admin connection kept alive without a
// next request, as the API's REST port does: the port asks for no token,
// and connections nobody used held their descriptors for ever.
const DefaultAdminIdleTimeout = 2 * time.Minute

// Handler is the admin routes' handler.
func (a *Admin) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", promhttp.HandlerFor(a.Gatherer, promhttp.HandlerOpts{
		// A collector's error (the ledger not answering) must not hide the
		// process's other metrics: the ledger says so in xuncha_ledger_up.
		ErrorHandling: promhttp.ContinueOnError,
		Timeout:       10 * time.Second,
	}))
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		_, _ = w.Write([]byte("ok\n"))
	})
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		if a.Ready != nil {
			ctx, cancel := context.WithTimeout(r.Context(), 5*time.Second)
			defer cancel()
			if err := a.Ready(ctx); err != nil {
				a.Log.Warn("not ready", zap.Error(err))
				w.WriteHeader(http.StatusServiceUnavailable)
				// Only what is down, never the error's own text.
				_, _ = fmt.Fprintf(w, "not ready: %s\n", strings.SplitN(err.Error(), ":", 2)[0])
				return
			}
		}
		_, _ = w.Write([]byte("ready\n"))
	})
	// No /debug/pprof/cmdline: a command line can hold secrets given as
	// flags (--database-url with its password, --tip-key), and this port
	// asks for no token. The index answers it 404 (no such profile).
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	return mux
}

// Run serves until ctx ends.
func (a *Admin) Run(ctx context.Context) error {
	// No WriteTimeout: a CPU profile or a trace streams for as long as asked.
	idle := a.IdleTimeout
	if idle <= 0 {
		idle = DefaultAdminIdleTimeout
	}
	srv := &http.Server{Handler: a.Handler(), ReadHeaderTimeout: 10 * time.Second, IdleTimeout: idle}
	done := make(chan struct{})
	go func() {
		defer close(done)
		<-ctx.Done()
		shutdownCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		if err := srv.Shutdown(shutdownCtx); err != nil {
			_ = srv.Close()
		}
	}()
	a.Log.Info("admin serving", zap.String("addr", a.Listener.Addr().String()),
		zap.String("routes", "/metrics /healthz /readyz /debug/pprof/"))
	if err := srv.Serve(a.Listener); err != nil && !errors.Is(err, http.ErrServerClosed) {
		// The shutdown goroutine ends with ctx, which the caller's errgroup
		// cancels on this error.
		return fmt.Errorf("serving the admin routes: %w", err)
	}
	<-done
	return nil
}
