package temporaldev_test

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/operatorservice/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	"go.uber.org/zap/zaptest"
	"google.golang.org/protobuf/types/known/durationpb"

	"github.com/xuncha/xuncha/internal/childproc"
	"github.com/xuncha/xuncha/internal/searchattr"
	"github.com/xuncha/xuncha/internal/temporaldev"
)

// binary returns the repository's bin/temporal, building it if missing.
func binary(t *testing.T) string {
	t.Helper()
	bin, err := temporaldev.EnsureBinary(t.Context(), filepath.Join("..", "..", "bin"), zaptest.NewLogger(t))
	require.NoError(t, err)
	return bin
}

func start(t *testing.T, cfg temporaldev.Config) *temporaldev.Server {
	t.Helper()
	if cfg.BinPath == "" {
		cfg.BinPath = binary(t)
	}
	if cfg.Log == nil {
		cfg.Log = zaptest.NewLogger(t)
	}
	s, err := temporaldev.Start(t.Context(), cfg)
	require.NoError(t, err)
	// Stopped, and its output read to the end, before the test is over:
	// the server's last lines go to the test's logger, which must not be
	// written to once the test has completed.
	t.Cleanup(func() { _ = s.Stop(context.Background()) })
	t.Logf("Temporal dev server (CLI %s) at %s, UI %q, pid %d", temporaldev.CLIVersion, s.Address(), s.UIURL(), s.PID())
	return s
}

func dial(t *testing.T, address, namespace string) client.Client {
	t.Helper()
	c, err := client.DialContext(t.Context(), client.Options{HostPort: address, Namespace: namespace})
	require.NoError(t, err)
	t.Cleanup(c.Close)
	return c
}

// customAttributes lists the namespace's custom search attributes.
func customAttributes(t *testing.T, c client.Client, namespace string) map[string]enumspb.IndexedValueType {
	t.Helper()
	resp, err := c.OperatorService().ListSearchAttributes(t.Context(), &operatorservice.ListSearchAttributesRequest{Namespace: namespace})
	require.NoError(t, err)
	return resp.GetCustomAttributes()
}

func wantAll() map[string]enumspb.IndexedValueType {
	want := map[string]enumspb.IndexedValueType{}
	for _, d := range searchattr.Definitions() {
		want[d.Name] = d.Type
	}
	return want
}

func TestStartStopWithSearchAttributes(t *testing.T) {
	t.Parallel()
	s := start(t, temporaldev.Config{SearchAttributes: searchattr.DevServerFlags()})
	require.Regexp(t, `^127\.0\.0\.1:\d+$`, s.Address())
	require.Empty(t, s.UIURL(), "headless by default")

	c := dial(t, s.Address(), "default")
	_, err := c.CheckHealth(t.Context(), &client.CheckHealthRequest{})
	require.NoError(t, err)
	require.Equal(t, wantAll(), customAttributes(t, c, "default"))

	pid := s.PID()
	require.NoError(t, s.Stop(t.Context()))
	require.NoError(t, s.Stop(t.Context()), "Stop is idempotent")
	requireGone(t, pid)
	conn, err := net.DialTimeout("tcp", s.Address(), time.Second)
	if err == nil {
		_ = conn.Close()
		t.Fatalf("%s still accepts connections after Stop", s.Address())
	}
}

func TestUIAndCustomNamespace(t *testing.T) {
	t.Parallel()
	// The free port can be taken meanwhile as another process's outgoing
	// connection (ephemeral ports share the range): this test is about the
	// UI, so it tries another port then.
	var uiPort int
	var s *temporaldev.Server
	for attempt := 1; ; attempt++ {
		uiPort = freePort(t)
		var err error
		s, err = temporaldev.Start(t.Context(), temporaldev.Config{BinPath: binary(t), Log: zaptest.NewLogger(t),
			UIPort: uiPort, Namespace: "xuncha-ui-test"})
		if errors.Is(err, temporaldev.ErrPortInUse) && attempt < 3 {
			t.Logf("UI port %d was taken meanwhile: %v", uiPort, err)
			continue
		}
		require.NoError(t, err)
		break
	}
	defer func() { require.NoError(t, s.Stop(t.Context())) }()
	require.Equal(t, fmt.Sprintf("http://127.0.0.1:%d", uiPort), s.UIURL())

	c := dial(t, s.Address(), "xuncha-ui-test")
	_, err := c.WorkflowService().DescribeNamespace(t.Context(), &workflowservice.DescribeNamespaceRequest{Namespace: "xuncha-ui-test"})
	require.NoError(t, err)

	require.EventuallyWithT(t, func(ct *assert.CollectT) {
		resp, err := http.Get(s.UIURL())
		if assert.NoError(ct, err) {
			_ = resp.Body.Close()
			assert.Equal(ct, http.StatusOK, resp.StatusCode)
		}
	}, 10*time.Second, 100*time.Millisecond, "Web UI answers")
}

// A reused DB file keeps state, and attributes added to the flags later are
// registered on the namespace the file already holds.
func TestDBFileIsReusedAndNewAttributesAreRegistered(t *testing.T) {
	t.Parallel()
	dbFile := filepath.Join(t.TempDir(), "state", "temporal.db")
	flags := searchattr.DevServerFlags()

	first := start(t, temporaldev.Config{DBFile: dbFile, SearchAttributes: flags[:2]})
	c := dial(t, first.Address(), "default")
	_, err := c.WorkflowService().RegisterNamespace(t.Context(), &workflowservice.RegisterNamespaceRequest{
		Namespace:                        "kept",
		WorkflowExecutionRetentionPeriod: durationpb.New(24 * time.Hour),
	})
	require.NoError(t, err)
	require.Len(t, customAttributes(t, c, "default"), 2)
	require.NoError(t, first.Stop(t.Context()))
	require.FileExists(t, dbFile)

	second := start(t, temporaldev.Config{DBFile: dbFile, SearchAttributes: flags})
	defer func() { require.NoError(t, second.Stop(t.Context())) }()
	c = dial(t, second.Address(), "default")
	_, err = c.WorkflowService().DescribeNamespace(t.Context(), &workflowservice.DescribeNamespaceRequest{Namespace: "kept"})
	require.NoError(t, err, "namespace from the first run")
	require.Equal(t, wantAll(), customAttributes(t, c, "default"))
}

func TestTakenPortIsAOneLineError(t *testing.T) {
	t.Parallel()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer l.Close()
	port := l.Addr().(*net.TCPAddr).Port
	bin := binary(t)

	for _, cfg := range []temporaldev.Config{
		{BinPath: bin, Port: port},
		{BinPath: bin, UIPort: port},
	} {
		_, err = temporaldev.Start(t.Context(), cfg)
		require.ErrorIs(t, err, temporaldev.ErrPortInUse)
		which := map[bool]string{true: temporaldev.FrontendPort, false: temporaldev.UIPort}[cfg.Port != 0]
		var taken *temporaldev.PortInUseError
		require.ErrorAs(t, err, &taken)
		require.Equal(t, temporaldev.PortInUseError{Which: which, Port: port}, *taken)
		require.Contains(t, err.Error(), fmt.Sprintf("the %s port %d on 127.0.0.1 is already in use", which, port))
		require.NotContains(t, err.Error(), "Config.", "a command names its own flags")
		require.Contains(t, err.Error(), "free it or choose another port")
		require.NotContains(t, err.Error(), "\n")
	}
}

// A dynamic config value given at start is the server's: with the longest
// ID cut to 40 characters, a workflow ID of 45 is refused and one of 10 is
// not.
func TestDynamicConfigReachesTheServer(t *testing.T) {
	t.Parallel()
	s := start(t, temporaldev.Config{DynamicConfig: []string{"limit.maxIDLength=40"}})
	c := dial(t, s.Address(), "default")
	opts := func(id string) client.StartWorkflowOptions {
		return client.StartWorkflowOptions{ID: id, TaskQueue: "nobody-polls"}
	}
	_, err := c.ExecuteWorkflow(t.Context(), opts(strings.Repeat("w", 45)), "Nothing")
	require.ErrorContains(t, err, "length exceeds limit")
	_, err = c.ExecuteWorkflow(t.Context(), opts(strings.Repeat("w", 10)), "Nothing")
	require.NoError(t, err)
}

func TestBadDynamicConfigIsRefused(t *testing.T) {
	t.Parallel()
	for _, kv := range []string{"history.transferProcessorMaxPollRPS", "=1000", "limit.maxIDLength="} {
		_, err := temporaldev.Start(t.Context(), temporaldev.Config{BinPath: "unused", DynamicConfig: []string{kv}})
		require.ErrorContains(t, err, "want key=value", kv)
	}
}

func TestBadSearchAttributeIsRefused(t *testing.T) {
	t.Parallel()
	_, err := temporaldev.Start(t.Context(), temporaldev.Config{BinPath: "unused", SearchAttributes: []string{"XunchaStage=Colour"}})
	require.ErrorContains(t, err, `unknown type "Colour"`)
}

func TestEnsureBinaryFindsTheBuiltBinary(t *testing.T) {
	t.Parallel()
	start := time.Now()
	bin := binary(t)
	require.Less(t, time.Since(start), 30*time.Second, "no rebuild when the binary is current")
	abs, err := filepath.Abs(filepath.Join("..", "..", "bin", "temporal"))
	require.NoError(t, err)
	require.Equal(t, abs, bin)
}

// If our process dies (here: SIGKILL), the parent-death signal stops the
// dev server: it never outlives us.
func TestServerDiesWithItsParent(t *testing.T) {
	t.Parallel()
	bin := binary(t)
	helper := exec.Command(os.Args[0], "-test.run=^TestHelperProcess$")
	helper.Env = append(os.Environ(), "TEMPORALDEV_HELPER_BIN="+bin)
	helper.Stderr = os.Stderr
	stdout, err := helper.StdoutPipe()
	require.NoError(t, err)
	require.NoError(t, helper.Start())
	line, err := bufio.NewReader(stdout).ReadString('\n')
	require.NoError(t, err, "helper output")
	pid, err := strconv.Atoi(strings.TrimPrefix(strings.TrimSpace(line), "PID "))
	require.NoError(t, err, "helper said %q", line)
	require.NoError(t, syscall.Kill(pid, 0), "dev server runs")

	require.NoError(t, helper.Process.Kill())
	_ = helper.Wait()
	requireGone(t, pid)
}

// TestHelperProcess is TestServerDiesWithItsParent's child: it starts a dev
// server, prints its PID, and waits to be killed.
func TestHelperProcess(t *testing.T) {
	bin := os.Getenv("TEMPORALDEV_HELPER_BIN")
	if bin == "" {
		t.Skip("helper process for TestServerDiesWithItsParent")
	}
	s, err := temporaldev.Start(context.WithoutCancel(t.Context()), temporaldev.Config{BinPath: bin})
	require.NoError(t, err)
	fmt.Printf("PID %d\n", s.PID())
	time.Sleep(time.Minute)
}

// freePort picks a port the kernel will not hand to another bind(:0) right
// away (childproc.FreePort), so parallel test packages do not collide on it.
func freePort(t *testing.T) int {
	t.Helper()
	port, err := childproc.FreePort()
	require.NoError(t, err)
	return port
}

// requireGone waits until pid has exited (a zombie counts as exited: PID 1
// of a container may not reap orphans).
func requireGone(t *testing.T, pid int) {
	t.Helper()
	require.Eventually(t, func() bool {
		if err := syscall.Kill(pid, 0); errors.Is(err, syscall.ESRCH) {
			return true
		}
		stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
		if err != nil {
			return true
		}
		_, after, _ := strings.Cut(string(stat), ") ")
		return strings.HasPrefix(after, "Z")
	}, 20*time.Second, 50*time.Millisecond, "process %d still running", pid)
}
