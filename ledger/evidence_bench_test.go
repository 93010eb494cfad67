package ledger_test

import (
	"flag"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/xuncha/xuncha/casework"
	"github.com/xuncha/xuncha/internal/actor"
	"github.com/xuncha/xuncha/internal/testenv"
	"github.com/xuncha/xuncha/ledger"
)

// evidenceFindings is the size of the ledger BenchmarkEvidenceInReach seeds.
var evidenceFindings = flag.Int("evidence.findings", 100_000, "findings BenchmarkEvidenceInReach seeds")

// BenchmarkEvidenceInReach asks whether a unit's user may name a piece of
// evidence it did not upload, which one finding of the unit names (its
// rectification report does, as a unit's report names the team's photo),
// in a ledger of 100,000 findings:
//
//	go test -run '^$' -bench BenchmarkEvidenceInReach -benchtime 200x ./ledger/
//
// Every change that names evidence asks it of each piece (api,
// unnameableEvidence). The baseline, asked in the same iteration, is
// whether the same user reaches the finding itself (its primary key); the
// benchmark reports both and their ratio.
func BenchmarkEvidenceInReach(b *testing.B) {
	store, db := testenv.Ledger(b)
	testenv.SeedLedger(b, db, *evidenceFindings)
	ctx := b.Context()
	if err := store.InsertEvidence(ctx, casework.Evidence{
		ID: "ev-photo", Kind: "PHOTO", SHA256: strings.Repeat("ab", 32), Size: 1, Location: "bench",
		CapturedAt: time.Now(), UploadedBy: actor.Actor{Name: "组员", Role: actor.RoleTeamMember, Subject: "team-member"},
	}); err != nil {
		b.Fatal(err)
	}
	conn, err := pgx.Connect(ctx, db.OwnerURL)
	if err != nil {
		b.Fatal(err)
	}
	var id, unit string
	if err := conn.QueryRow(ctx, `UPDATE findings SET rectification = jsonb_set(rectification, '{evidence_ids}', '["ev-photo"]')
		WHERE id = (SELECT min(id) FROM findings WHERE rectification IS NOT NULL) RETURNING id, unit_code`).Scan(&id, &unit); err != nil {
		b.Fatal(err)
	}
	if _, err := conn.Exec(ctx, `ANALYZE findings`); err != nil {
		b.Fatal(err)
	}
	_ = conn.Close(ctx)
	reach := ledger.Reach{ByUnit: true, Units: []string{unit}, Subject: "unit-user"}
	var evidence, finding time.Duration
	n := 0
	for b.Loop() {
		t0 := time.Now()
		if err := store.InReach(ctx, reach, ledger.SubjectEvidence, "ev-photo"); err != nil {
			b.Fatal(err)
		}
		t1 := time.Now()
		if err := store.InReach(ctx, reach, casework.SubjectFinding, id); err != nil {
			b.Fatal(err)
		}
		evidence, finding = evidence+t1.Sub(t0), finding+time.Since(t1)
		n++
	}
	reportPair(b, n, "evidence", evidence, "finding", finding)
}
