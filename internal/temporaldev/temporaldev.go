// Package temporaldev runs the Temporal CLI's development server
// (`temporal server start-dev`) as a child process: the embedded Temporal of
// `xuncha dev` and of the integration tests.
//
// Every port the dev server opens on its own is made explicit (frontend gRPC,
// frontend HTTP, metrics, UI), so parallel processes do not collide; only the
// internal history, matching and worker gRPC ports are still picked by the
// server itself, from the kernel's free ports. On Linux the server receives
// SIGTERM if our process dies, so it never outlives us.
package temporaldev

import (
	"context"
	"debug/buildinfo"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	"go.uber.org/zap"

	"github.com/xuncha/xuncha/internal/buildlock"
	"github.com/xuncha/xuncha/internal/childproc"
	"github.com/xuncha/xuncha/internal/logging"
	"github.com/xuncha/xuncha/internal/searchattr"
)

const (
	// CLIVersion is the pinned Temporal CLI release: the only one that builds
	// with this module's toolchain and dependencies.
	CLIVersion = "v1.5.1"

	// CLIModule is the Go module of the Temporal CLI.
	CLIModule = "github.com/temporalio/cli"

	// CLIPackage is the Go package of the Temporal CLI binary.
	CLIPackage = "github.com/temporalio/cli/cmd/temporal"

	// DefaultNamespace is the namespace used when Config.Namespace is empty.
	DefaultNamespace = "default"

	// startTimeout bounds how long Start waits for the frontend and the
	// namespace to answer.
	startTimeout = 60 * time.Second
	// stopTimeout bounds a graceful stop before the server is killed, when
	// the context passed to Stop has no earlier deadline.
	stopTimeout = 15 * time.Second
)

// ErrPortInUse is matched by the error Start returns when a port is taken;
// errors.As gives the *PortInUseError.
var ErrPortInUse = errors.New("port in use")

// Which ports of the dev server a PortInUseError names.
const (
	// FrontendPort is Config.Port, the frontend's gRPC port.
	FrontendPort = "frontend"
	// UIPort is Config.UIPort, the Web UI's port.
	UIPort = "UI"
)

// PortInUseError reports a port the dev server cannot bind. Its text names
// the port, not a Config field, so that a command can name its own flag
// instead. It matches ErrPortInUse.
type PortInUseError struct {
	// Which is FrontendPort, UIPort, or "" for a port the server picked.
	Which string
	// Port is the taken port, 0 when Which is "".
	Port int
	// Output is the tail of the server's output, when the server itself
	// found the port taken.
	Output string
}

func (e *PortInUseError) Error() string {
	msg := "temporaldev: one of the dev server's ports on 127.0.0.1 is already in use: free it or choose another port"
	if e.Which != "" {
		msg = fmt.Sprintf("temporaldev: the %s port %d on 127.0.0.1 is already in use: free it or choose another port", e.Which, e.Port)
	}
	if e.Output != "" {
		msg += "; server output: " + e.Output
	}
	return msg
}

// Is makes errors.Is(err, ErrPortInUse) true.
func (e *PortInUseError) Is(target error) bool { return target == ErrPortInUse }

// EnsureBinary returns binDir/temporal, first building it with
// `go install CLIPackage@CLIVersion` (GOBIN=binDir) if it is missing or is
// another version. Concurrent callers (parallel test binaries) wait for one
// build instead of racing. The first build takes several minutes.
func EnsureBinary(ctx context.Context, binDir string, log *zap.Logger) (string, error) {
	if log == nil {
		log = zap.NewNop()
	}
	binDir, err := filepath.Abs(binDir)
	if err != nil {
		return "", fmt.Errorf("temporaldev: resolving bin dir: %w", err)
	}
	bin := filepath.Join(binDir, "temporal")
	if binaryVersionOK(bin) {
		return bin, nil
	}
	if err := os.MkdirAll(binDir, 0o755); err != nil {
		return "", fmt.Errorf("temporaldev: creating bin dir: %w", err)
	}
	unlock, err := buildlock.Lock(ctx, filepath.Join(binDir, ".temporal-build.lock"), "the Temporal CLI")
	if err != nil {
		return "", err
	}
	defer unlock()
	if binaryVersionOK(bin) { // built by another process while we waited
		return bin, nil
	}
	goBin, err := exec.LookPath("go")
	if err != nil {
		return "", fmt.Errorf("temporaldev: %s is missing and go is not on PATH to build it: install Go, or run `GOBIN=%s go install %s@%s`", bin, binDir, CLIPackage, CLIVersion)
	}
	log.Info("building the Temporal CLI; the first build takes several minutes",
		zap.String("package", CLIPackage+"@"+CLIVersion), zap.String("into", binDir))
	started := time.Now()
	cmd := exec.CommandContext(ctx, goBin, "install", CLIPackage+"@"+CLIVersion)
	cmd.Env = append(os.Environ(), "GOBIN="+binDir)
	cmd.Dir = binDir // outside any module: `go install pkg@version` needs none
	out, err := cmd.CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("temporaldev: building %s@%s into %s: %w: %s", CLIPackage, CLIVersion, binDir, err, childproc.OneLine(buildlock.LastLines(string(out), 20)))
	}
	if !binaryVersionOK(bin) {
		return "", fmt.Errorf("temporaldev: built %s but its build info does not name %s@%s", bin, CLIModule, CLIVersion)
	}
	log.Info("built the Temporal CLI", zap.String("path", bin), zap.Duration("took", time.Since(started).Round(time.Second)))
	return bin, nil
}

// binaryVersionOK tells whether bin exists and was built from the CLI module
// at CLIVersion. It reads the Go build info: `temporal --version` says
// "0.0.0-DEV" for builds made by go install, the release version being set by
// the release pipeline's linker flags.
func binaryVersionOK(bin string) bool {
	info, err := buildinfo.ReadFile(bin)
	return err == nil && info.Main.Path == CLIModule && info.Main.Version == CLIVersion
}

// Config configures Start.
type Config struct {
	// BinPath is the temporal CLI binary, e.g. from EnsureBinary. Required.
	BinPath string
	// Port is the frontend gRPC port on 127.0.0.1. 0 picks a free port.
	Port int
	// UIPort is the Web UI's port on 127.0.0.1. 0 runs headless (no UI).
	UIPort int
	// UICodecEndpoint, when set, is the remote codec the Web UI decodes
	// payloads with (--ui-codec-endpoint): the URL below which /decode and
	// /encode answer.
	UICodecEndpoint string
	// DBFile is the SQLite file that persists the server's state across
	// restarts; its directory is created if missing. "" keeps state in
	// memory, lost when the server stops.
	DBFile string
	// Namespace is created at start if missing. Default DefaultNamespace.
	Namespace string
	// SearchAttributes are "Name=Type" pairs (searchattr.DevServerFlags())
	// registered on Namespace. Start also registers them after the server is
	// up, because the dev server only applies its flags to namespaces it
	// creates, not to a namespace already in a reused DBFile.
	SearchAttributes []string
	// DynamicConfig are "key=value" pairs of the server's dynamic
	// configuration (--dynamic-config-value; the value is JSON, e.g.
	// "history.transferProcessorMaxPollRPS=1000"), over its defaults.
	DynamicConfig []string
	// Log receives the server's output at debug level and lifecycle events
	// at info level. Default: discard.
	Log *zap.Logger
}

// Server is a running dev server started by Start. Stop it with Stop.
type Server struct {
	address   string
	port      int
	uiPort    int
	uiURL     string
	namespace string
	log       *zap.Logger

	cmd  *exec.Cmd
	out  *childproc.Tail
	proc *childproc.Process

	stopOnce sync.Once
	stopErr  error
}

// Start starts the dev server, waits until its frontend is healthy and the
// namespace exists with the search attributes registered, and returns it.
// Errors are one line saying what to do; when the server itself failed, they
// end with the tail of its output.
func Start(ctx context.Context, cfg Config) (*Server, error) {
	if cfg.BinPath == "" {
		return nil, errors.New("temporaldev: Config.BinPath is empty: get it from EnsureBinary")
	}
	if cfg.Log == nil {
		cfg.Log = zap.NewNop()
	}
	if cfg.Namespace == "" {
		cfg.Namespace = DefaultNamespace
	}
	defs := make([]searchattr.Definition, 0, len(cfg.SearchAttributes))
	for _, sa := range cfg.SearchAttributes {
		d, err := searchattr.ParseDefinition(sa)
		if err != nil {
			return nil, fmt.Errorf("temporaldev: %w", err)
		}
		defs = append(defs, d)
	}
	for _, kv := range cfg.DynamicConfig {
		if key, value, ok := strings.Cut(kv, "="); !ok || strings.TrimSpace(key) == "" || value == "" {
			return nil, fmt.Errorf("temporaldev: dynamic config %q: want key=value", kv)
		}
	}
	if cfg.DBFile != "" {
		abs, err := filepath.Abs(cfg.DBFile)
		if err != nil {
			return nil, fmt.Errorf("temporaldev: resolving DB file: %w", err)
		}
		cfg.DBFile = abs
		if err := os.MkdirAll(filepath.Dir(abs), 0o755); err != nil {
			return nil, fmt.Errorf("temporaldev: creating DB file dir: %w", err)
		}
	}
	if cfg.Port != 0 {
		if err := checkPortFree(cfg.Port, FrontendPort); err != nil {
			return nil, err
		}
	}
	if cfg.UIPort != 0 {
		if err := checkPortFree(cfg.UIPort, UIPort); err != nil {
			return nil, err
		}
	}
	// Ports we pick can be taken by another process before the server binds
	// them (parallel test binaries do this); then pick others.
	for attempt := 1; ; attempt++ {
		s, err := launch(cfg)
		if err != nil {
			return nil, err
		}
		if err := s.waitReady(ctx, defs); err != nil {
			_ = s.proc.Kill()
			if errors.Is(err, ErrPortInUse) && attempt < 3 {
				cfg.Log.Info("a port was taken meanwhile, retrying", zap.Error(err))
				continue
			}
			return nil, err
		}
		cfg.Log.Info("Temporal dev server ready", zap.String("address", s.address), zap.String("ui", s.uiURL), zap.String("namespace", s.namespace))
		return s, nil
	}
}

// launch starts the server process with explicit ports.
func launch(cfg Config) (*Server, error) {
	ports, err := freePorts(3)
	if err != nil {
		return nil, err
	}
	port, httpPort, metricsPort := cfg.Port, ports[1], ports[2]
	if port == 0 {
		port = ports[0]
	}
	args := []string{
		"server", "start-dev",
		"--ip", "127.0.0.1",
		"--port", strconv.Itoa(port),
		"--http-port", strconv.Itoa(httpPort),
		"--metrics-port", strconv.Itoa(metricsPort),
		"--log-level", "warn",
	}
	s := &Server{
		address:   net.JoinHostPort("127.0.0.1", strconv.Itoa(port)),
		port:      port,
		uiPort:    cfg.UIPort,
		namespace: cfg.Namespace,
		log:       cfg.Log,
	}
	if cfg.UIPort == 0 {
		args = append(args, "--headless")
	} else {
		args = append(args, "--ui-port", strconv.Itoa(cfg.UIPort))
		if cfg.UICodecEndpoint != "" {
			args = append(args, "--ui-codec-endpoint", cfg.UICodecEndpoint)
		}
		s.uiURL = "http://" + net.JoinHostPort("127.0.0.1", strconv.Itoa(cfg.UIPort))
	}
	if cfg.DBFile != "" {
		args = append(args, "--db-filename", cfg.DBFile)
	}
	if cfg.Namespace != DefaultNamespace { // "default" is always created
		args = append(args, "--namespace", cfg.Namespace)
	}
	for _, sa := range cfg.SearchAttributes {
		args = append(args, "--search-attribute", sa)
	}
	for _, kv := range cfg.DynamicConfig {
		args = append(args, "--dynamic-config-value", kv)
	}
	out := &childproc.Tail{OnLine: func(line string) { cfg.Log.Debug(line) }}
	cmd := exec.Command(cfg.BinPath, args...)
	cmd.Stdout = out
	cmd.Stderr = out
	cmd.WaitDelay = 5 * time.Second
	s.cmd, s.out = cmd, out
	cfg.Log.Debug("starting Temporal dev server", zap.String("bin", cfg.BinPath), zap.Strings("args", args))
	proc, err := childproc.Start(cmd, syscall.SIGTERM)
	if err != nil {
		return nil, fmt.Errorf("temporaldev: starting %s: %w", cfg.BinPath, err)
	}
	s.proc = proc
	return s, nil
}

// waitReady polls until the frontend is healthy and the namespace exists,
// then registers defs on the namespace.
func (s *Server) waitReady(ctx context.Context, defs []searchattr.Definition) error {
	return s.proc.AwaitReady(ctx, startTimeout, 200*time.Millisecond, func(ctx context.Context) error {
		return s.probe(ctx, defs)
	}, func(exitErr error) error {
		return s.startFailure(fmt.Errorf("temporal server start-dev exited during startup (%v)", exitErr))
	}, func(ctxErr, lastErr error) error {
		return s.startFailure(fmt.Errorf("the dev server at %s was not ready within %s (%w): last attempt: %v", s.address, startTimeout, ctxErr, lastErr))
	})
}

// probe checks readiness once and registers the search attributes.
func (s *Server) probe(ctx context.Context, defs []searchattr.Definition) error {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	c, err := client.DialContext(ctx, client.Options{
		HostPort:  s.address,
		Namespace: s.namespace,
		Logger:    logging.Temporal(s.log.Named("sdk")),
	})
	if err != nil {
		return err
	}
	defer c.Close()
	if _, err := c.CheckHealth(ctx, &client.CheckHealthRequest{}); err != nil {
		return err
	}
	if _, err := c.WorkflowService().DescribeNamespace(ctx, &workflowservice.DescribeNamespaceRequest{Namespace: s.namespace}); err != nil {
		return err
	}
	if len(defs) > 0 {
		return searchattr.RegisterDefinitions(ctx, c.OperatorService(), s.namespace, defs)
	}
	return nil
}

// startFailure turns a startup failure into a one-line error: a taken port
// is reported as such, anything else carries the server's output tail.
func (s *Server) startFailure(err error) error {
	tail := s.out.String()
	if strings.Contains(tail, "address already in use") {
		taken := &PortInUseError{Output: childproc.OneLine(tail)}
		switch {
		case strings.Contains(tail, "frontend port"):
			taken.Which, taken.Port = FrontendPort, s.port
		case strings.Contains(tail, "UI port"):
			taken.Which, taken.Port = UIPort, s.uiPort
		}
		return taken
	}
	return fmt.Errorf("temporaldev: %w; server output: %s", err, childproc.OneLine(tail))
}

// Address is the frontend's host:port, e.g. 127.0.0.1:7233.
func (s *Server) Address() string { return s.address }

// UIURL is the Web UI's URL, or "" when running headless.
func (s *Server) UIURL() string { return s.uiURL }

// Namespace is the namespace Start made sure of.
func (s *Server) Namespace() string { return s.namespace }

// PID is the process ID of the dev server.
func (s *Server) PID() int { return s.proc.PID() }

// Done is closed when the dev server has exited, whether by Stop or not.
func (s *Server) Done() <-chan struct{} { return s.proc.Done() }

// Stop sends SIGTERM, waits for the server to exit, and kills it if ctx ends
// first or 15 seconds pass. Stop is idempotent: later calls return the first
// call's result. It reports an error if the server had died on its own.
func (s *Server) Stop(ctx context.Context) error {
	s.stopOnce.Do(func() { s.stopErr = s.stop(ctx) })
	return s.stopErr
}

func (s *Server) stop(ctx context.Context) error {
	if err := s.proc.Stop(ctx, syscall.SIGTERM, stopTimeout); err != nil {
		return fmt.Errorf("temporaldev: the dev server: %w: %s", err, childproc.OneLine(s.out.String()))
	}
	s.log.Info("Temporal dev server stopped", zap.String("address", s.address))
	return nil
}

// checkPortFree returns a *PortInUseError if 127.0.0.1:port cannot be
// bound; which is FrontendPort or UIPort.
func checkPortFree(port int, which string) error {
	l, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))
	if err != nil {
		return &PortInUseError{Which: which, Port: port}
	}
	return l.Close()
}

// freePorts asks the kernel for n distinct free ports on 127.0.0.1. Each is
// connected to once before returning, which leaves it in TIME_WAIT: the
// kernel then does not hand it out again to bind(:0) for a while, yet the
// server can still bind it explicitly. This keeps parallel processes from
// picking the same ports.
func freePorts(n int) ([]int, error) {
	ports := make([]int, 0, n)
	for range n {
		p, err := childproc.FreePort()
		if err != nil {
			return nil, err
		}
		ports = append(ports, p)
	}
	return ports, nil
}
