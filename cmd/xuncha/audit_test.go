package main

import (
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"github.com/xuncha/xuncha/casework"
	"github.com/xuncha/xuncha/internal/actor"
	"github.com/xuncha/xuncha/internal/testenv"
	"github.com/xuncha/xuncha/ledger"
)

// TestAuditCommands anchors and verifies a ledger with the commands, tampers
// with it, and sees `xuncha audit verify` fail with exit status 1 naming the
// row.
func TestAuditCommands(t *testing.T) {
	ctx := t.Context()
	url := testenv.PostgresURL(t)
	_, err := run(t, "migrate", "--database-url", url, "--log-level", "warn")
	require.NoError(t, err)
	store, err := ledger.Open(ctx, url)
	require.NoError(t, err)
	defer store.Close()
	office := actor.Actor{Name: "王芳", Role: actor.RoleOffice, Organisation: "省安委办"}
	for _, key := range []string{"create", "notify", "station"} {
		require.NoError(t, store.AppendEvent(ctx, casework.Event{SubjectType: casework.SubjectInspection, SubjectID: "ins-1",
			Key: key, Action: key, Actor: office, OccurredAt: time.Now()}))
	}

	out, err := run(t, "audit", "anchor", "--database-url", url, "--audit-hash", "sm3")
	require.NoError(t, err, out)
	ref := regexp.MustCompile(`^1:[0-9a-f]{64}\n`).FindString(out)
	require.NotEmpty(t, ref, out)
	require.Contains(t, out, "anchor 1 (sm3) over 1 chain heads")
	_, err = run(t, "audit", "anchor", "--database-url", url, "--access-log-retention", "90d")
	require.ErrorContains(t, err, "at least 180 days")

	out, err = run(t, "audit", "verify", "--database-url", url, "--expect-anchor", strings.TrimSpace(ref))
	require.NoError(t, err, out)
	require.Contains(t, out, "checked 1 chains: 3 events, 0 access records, 1 anchors; latest anchor "+strings.TrimSpace(ref))
	require.Contains(t, out, "audit chains intact")

	// Standard output is SEQ:HASH alone, what --expect-anchor takes.
	root := newRootCmd()
	var anchorOut, anchorErr bytes.Buffer
	root.SetOut(&anchorOut)
	root.SetErr(&anchorErr)
	root.SetArgs([]string{"audit", "anchor", "--database-url", url})
	require.NoError(t, root.ExecuteContext(ctx), anchorErr.String())
	require.Regexp(t, `^2:[0-9a-f]{64}\n$`, anchorOut.String())
	require.Contains(t, anchorErr.String(), "anchor 2 (sha256)")
	out, err = run(t, "audit", "verify", "--database-url", url, "--expect-anchor", strings.TrimSpace(anchorOut.String()))
	require.NoError(t, err, out)
	require.Contains(t, out, "latest anchor "+strings.TrimSpace(anchorOut.String()))

	conn, err := pgx.Connect(ctx, url)
	require.NoError(t, err)
	defer conn.Close(context.WithoutCancel(ctx))
	var id int64
	require.NoError(t, conn.QueryRow(ctx, `SELECT id FROM events WHERE seq = 2`).Scan(&id))
	_, err = conn.Exec(ctx, `BEGIN; SET LOCAL session_replication_role = replica;
		UPDATE events SET stage_after = 'CLOSED' WHERE seq = 2; COMMIT`)
	require.NoError(t, err)

	out, err = run(t, "audit", "verify", "--database-url", url)
	require.ErrorContains(t, err, "audit verification failed: 1 problem(s); the first: hash mismatch: events row")
	require.Contains(t, out, "hash mismatch: events row "+itoa(id)+" (inspection/ins-1, seq 2): its content does not give its stored hash")

	// As a process: exit status 1, the first problem on stderr.
	cmd := exec.Command(os.Args[0], "-test.run=^$", "--", "audit", "verify", "--database-url", url)
	cmd.Env = append(os.Environ(), runMainEnv+"=1")
	var stdout, stderr strings.Builder
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err = cmd.Run()
	var exit *exec.ExitError
	require.True(t, errors.As(err, &exit), "%v", err)
	require.Equal(t, 1, exit.ExitCode())
	require.Contains(t, stderr.String(), "xuncha: audit verification failed: 1 problem(s); the first: hash mismatch: events row "+itoa(id))
	require.Contains(t, stdout.String(), "checked 1 chains: 3 events")
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }
