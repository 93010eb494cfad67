package temporalcluster

import (
	"context"
	"debug/buildinfo"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"go.uber.org/zap"

	"github.com/xuncha/xuncha/internal/buildlock"
	"github.com/xuncha/xuncha/internal/childproc"
)

// Binaries are what a cluster runs: the server and the schema tool, built
// from ServerModule at ServerVersion, and that module's source directory,
// which holds the SQL schemas they apply.
type Binaries struct {
	// Server is the temporal-server binary (go.temporal.io/server/cmd/server).
	Server string
	// SQLTool is the temporal-sql-tool binary (go.temporal.io/server/cmd/tools/sql).
	SQLTool string
	// ModuleDir is go.temporal.io/server@ServerVersion in the module cache;
	// its schema/postgresql/v12 holds the versioned schemas.
	ModuleDir string
}

// tools are the binaries EnsureBinaries installs: the name go install gives
// each and the name it is kept under in the bin directory.
var tools = []struct{ pkg, installed, name string }{
	{serverPackage, "server", ServerBinary},
	{sqlToolPackage, "sql", SQLToolBinary},
}

// EnsureBinaries returns binDir/temporal-server and binDir/temporal-sql-tool,
// first building them with `go install` if either is missing or was built
// from another version (as `make test` does beforehand), and the module's
// directory (`go mod download`). Concurrent callers (parallel test binaries)
// wait for one build. The first build takes several minutes; the module is
// never a dependency of xuncha's go.mod.
func EnsureBinaries(ctx context.Context, binDir string, log *zap.Logger) (Binaries, error) {
	if log == nil {
		log = zap.NewNop()
	}
	binDir, err := filepath.Abs(binDir)
	if err != nil {
		return Binaries{}, fmt.Errorf("temporalcluster: resolving bin dir: %w", err)
	}
	b := Binaries{Server: filepath.Join(binDir, ServerBinary), SQLTool: filepath.Join(binDir, SQLToolBinary)}
	if b.ModuleDir, err = moduleDir(ctx); err != nil {
		return Binaries{}, err
	}
	if binariesOK(binDir) {
		return b, nil
	}
	if err := os.MkdirAll(binDir, 0o755); err != nil {
		return Binaries{}, fmt.Errorf("temporalcluster: creating bin dir: %w", err)
	}
	unlock, err := buildlock.Lock(ctx, filepath.Join(binDir, ".temporal-server-build.lock"), "the Temporal server")
	if err != nil {
		return Binaries{}, err
	}
	defer unlock()
	if binariesOK(binDir) { // built by another process while we waited
		return b, nil
	}
	// A scratch GOBIN beside the binaries, so the renames below are atomic
	// and no half-written binary is ever seen under its final name.
	scratch, err := os.MkdirTemp(binDir, ".temporal-server-")
	if err != nil {
		return Binaries{}, fmt.Errorf("temporalcluster: %w", err)
	}
	defer os.RemoveAll(scratch)
	args := []string{"install"}
	for _, t := range tools {
		args = append(args, t.pkg+"@"+ServerVersion)
	}
	log.Info("building the Temporal server and its SQL tool; the first build takes several minutes",
		zap.String("module", ServerModule+"@"+ServerVersion), zap.String("into", binDir))
	started := time.Now()
	out, err := goCommand(ctx, scratch, args...)
	if err != nil {
		return Binaries{}, fmt.Errorf("temporalcluster: go %s (GOBIN=%s): %w: %s", strings.Join(args, " "), binDir, err, childproc.OneLine(buildlock.LastLines(out, 20)))
	}
	for _, t := range tools {
		if err := os.Rename(filepath.Join(scratch, t.installed), filepath.Join(binDir, t.name)); err != nil {
			return Binaries{}, fmt.Errorf("temporalcluster: %w", err)
		}
	}
	if !binariesOK(binDir) {
		return Binaries{}, fmt.Errorf("temporalcluster: built %s and %s but their build info does not name %s@%s", b.Server, b.SQLTool, ServerModule, ServerVersion)
	}
	log.Info("built the Temporal server", zap.String("path", b.Server), zap.Duration("took", time.Since(started).Round(time.Second)))
	return b, nil
}

// binariesOK tells whether both binaries exist and were built from their
// packages at ServerVersion (go install stamps the module version into the
// build info; the server's own --version is a release pipeline's).
func binariesOK(binDir string) bool {
	for _, t := range tools {
		info, err := buildinfo.ReadFile(filepath.Join(binDir, t.name))
		if err != nil || info.Path != t.pkg || info.Main.Path != ServerModule || info.Main.Version != ServerVersion {
			return false
		}
	}
	return true
}

// moduleDir returns the module cache directory of ServerModule@ServerVersion,
// downloading it if needed (go install has, if it built the binaries).
func moduleDir(ctx context.Context) (string, error) {
	out, err := goCommand(ctx, "", "mod", "download", "-json", ServerModule+"@"+ServerVersion)
	var mod struct{ Dir, Error string }
	if jerr := json.Unmarshal([]byte(out), &mod); jerr != nil || err != nil || mod.Error != "" || mod.Dir == "" {
		return "", fmt.Errorf("temporalcluster: go mod download %s@%s: %v %s: %s", ServerModule, ServerVersion, err, mod.Error, childproc.OneLine(buildlock.LastLines(out, 10)))
	}
	return mod.Dir, nil
}

// goCommand runs the go command outside any module (GOBIN=gobin when set)
// and returns its combined output.
func goCommand(ctx context.Context, gobin string, args ...string) (string, error) {
	goBin, err := exec.LookPath("go")
	if err != nil {
		return "", fmt.Errorf("go is not on PATH (needed to build %s@%s): install Go, or run `make test`, which builds it", ServerModule, ServerVersion)
	}
	dir, err := os.MkdirTemp("", "temporalcluster-go-")
	if err != nil {
		return "", err
	}
	defer os.RemoveAll(dir)
	cmd := exec.CommandContext(ctx, goBin, args...)
	// Outside any module and workspace: `go install pkg@version` and `go mod
	// download mod@version` need none, and must not touch xuncha's go.mod.
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GOWORK=off")
	if gobin != "" {
		cmd.Env = append(cmd.Env, "GOBIN="+gobin)
	}
	out, err := cmd.CombinedOutput()
	return string(out), err
}
