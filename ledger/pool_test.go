package ledger_test

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/xuncha/xuncha/activities"
	"github.com/xuncha/xuncha/casework"
	"github.com/xuncha/xuncha/internal/derrors"
	"github.com/xuncha/xuncha/ledger"
)

func poolExpert(id, unit string) casework.Expert {
	at := time.Date(2026, 1, 5, 1, 0, 0, 0, time.UTC)
	return casework.Expert{ID: id, Subject: "sub-" + id, Name: "专家 " + id, Organisation: "单位 " + unit, UnitCode: unit,
		Rank: "OTHER", Kind: casework.ExpertKindStaff, ContentAreas: []int{1, 2}, HomeRegion: "430100",
		Affiliations: []casework.Affiliation{{UnitCode: "430200", FromYear: 2020, ToYear: 2023}},
		CreatedBy:    office, CreatedAt: at, UpdatedAt: at, Version: 1}
}

func poolLineup(id string, experts ...string) casework.Lineup {
	at := time.Date(2026, 2, 1, 1, 0, 0, 0, time.UTC)
	l := casework.Lineup{ID: id, RequestID: "req-" + id, UnitCode: "430300", UnitName: "湘潭市", PlannedStart: "2026-03-02",
		PlannedEnd: "2026-03-13", ContentAreas: []int{1}, Seed: 42, ConflictYears: 3, TeamSize: 6,
		State: casework.LineupProposed, Draws: 1, CreatedBy: office, CreatedAt: at, UpdatedAt: at, Version: 1}
	for _, x := range experts {
		l.Members = append(l.Members, casework.LineupMember{ExpertID: x, Name: "专家 " + x, UnitCode: "u1", Role: "MEMBER",
			Rank: "OTHER", State: casework.MemberProposed, Draw: 1})
	}
	return l
}

func TestPoolLedger(t *testing.T) {
	t.Parallel()
	fx := setup(t)
	ctx := t.Context()
	for i := range 3 {
		x, created, err := fx.store.CreateExpert(ctx, poolExpert(fmt.Sprintf("x-%d", i), "u1"),
			casework.Event{Key: "add", Action: "add", Actor: office, OccurredAt: time.Now()})
		require.NoError(t, err)
		require.True(t, created)
		require.Equal(t, []casework.Affiliation{{UnitCode: "430200", FromYear: 2020, ToYear: 2023}}, x.Affiliations)
	}
	// A retry returns the stored entry; a second entry for one subject is refused.
	_, created, err := fx.store.CreateExpert(ctx, poolExpert("x-0", "u1"), casework.Event{Key: "add", Action: "add", Actor: office, OccurredAt: time.Now()})
	require.NoError(t, err)
	require.False(t, created)
	other := poolExpert("x-9", "u1")
	other.Subject = "sub-x-1"
	_, _, err = fx.store.CreateExpert(ctx, other, casework.Event{Key: "add", Action: "add", Actor: office, OccurredAt: time.Now()})
	require.ErrorIs(t, err, derrors.ErrAlreadyExists)

	// Unavailability and leaving are changes with events; a retry changes nothing.
	change := func(x *casework.Expert) error {
		x.Unavailable = append(x.Unavailable, casework.Unavailability{From: "2026-03-01", To: "2026-03-05", Reason: "培训"})
		return nil
	}
	ev := casework.Event{Key: "unavailable/r1", Action: "addUnavailability", Actor: office, OccurredAt: time.Now()}
	x, err := fx.store.ChangeExpert(ctx, "x-2", ev, change)
	require.NoError(t, err)
	require.Equal(t, 2, x.Version)
	x, err = fx.store.ChangeExpert(ctx, "x-2", ev, change)
	require.NoError(t, err)
	require.Len(t, x.Unavailable, 1)
	require.Equal(t, 2, x.Version)
	require.Error(t, fx.exec(t, `DELETE FROM experts WHERE id = 'x-2'`), "nobody is deleted from the pool")

	// An entry reads back as written, by ID and by subject; one who left
	// keeps the day and the reason, and is listed only when asked.
	got, err := fx.store.GetExpert(ctx, "x-0")
	require.NoError(t, err)
	got.CreatedAt, got.UpdatedAt = got.CreatedAt.UTC(), got.UpdatedAt.UTC() // read in the local zone
	require.Equal(t, poolExpert("x-0", "u1"), got)
	x, err = fx.store.ChangeExpert(ctx, "x-2", casework.Event{Key: "leave", Action: "leave", Actor: office, OccurredAt: time.Now()},
		func(x *casework.Expert) error { x.LeftOn, x.LeaveReason = "2026-04-30", "退休"; return nil })
	require.NoError(t, err)
	got, err = fx.store.ExpertBySubject(ctx, "sub-x-2")
	require.NoError(t, err)
	require.Equal(t, "2026-04-30", got.LeftOn)
	require.Equal(t, "退休", got.LeaveReason)
	require.Equal(t, x.Version, got.Version)
	listed := func(includeLeft bool) []string {
		var ids []string
		token := ""
		for {
			page, next, err := fx.store.ListExperts(ctx, includeLeft, 1, token)
			require.NoError(t, err)
			for _, x := range page {
				ids = append(ids, x.ID)
			}
			if token = next; token == "" {
				return ids
			}
		}
	}
	require.Equal(t, []string{"x-0", "x-1"}, listed(false))
	require.Equal(t, []string{"x-0", "x-1", "x-2"}, listed(true))

	// A line-up books its members; another line-up on overlapping dates may not book them.
	_, created, err = fx.store.RecordLineup(ctx, poolLineup("l-1", "x-0", "x-1"), casework.Event{Key: "draw", Action: "draw", Actor: office, OccurredAt: time.Now()})
	require.NoError(t, err)
	require.True(t, created)
	l, err := fx.store.GetLineup(ctx, "l-1")
	require.NoError(t, err)
	l.CreatedAt, l.UpdatedAt = l.CreatedAt.UTC(), l.UpdatedAt.UTC() // read in the local zone
	drawn := poolLineup("l-1", "x-0", "x-1")
	drawn.Exclusions = []casework.Exclusion{} // none: [] in its column, and so when read back
	require.Equal(t, drawn, l, "a line-up reads back as drawn")
	_, _, err = fx.store.RecordLineup(ctx, poolLineup("l-2", "x-1"), casework.Event{Key: "draw", Action: "draw", Actor: office, OccurredAt: time.Now()})
	require.ErrorIs(t, err, derrors.ErrFailedPrecondition)
	require.ErrorContains(t, err, "lineup/l-1")
	c, err := fx.store.Candidates(ctx, "2026-03-10", "2026-03-20", "")
	require.NoError(t, err)
	require.Len(t, c.Experts, 3)
	require.Equal(t, []casework.Busy{{ExpertID: "x-0", What: "lineup/l-1", From: "2026-03-02", To: "2026-03-13"},
		{ExpertID: "x-1", What: "lineup/l-1", From: "2026-03-02", To: "2026-03-13"}}, c.Busy)
	c, err = fx.store.Candidates(ctx, "2026-03-14", "2026-03-20", "")
	require.NoError(t, err)
	require.Empty(t, c.Busy, "dates that do not overlap book nobody")

	// Invitations keep the member's state; all accepted completes the line-up.
	l, err = fx.store.ChangeLineup(ctx, "l-1", casework.Event{Key: "invite", Action: "invite", Actor: office, OccurredAt: time.Now()},
		func(l *casework.Lineup) error {
			l.State = casework.LineupInviting
			for i := range l.Members {
				l.Members[i].State = casework.MemberInvited
				l.Members[i].InvitationID = "l-1-" + l.Members[i].ExpertID
			}
			return nil
		})
	require.NoError(t, err)
	require.Equal(t, casework.LineupInviting, l.State)
	at := time.Now().UTC()
	for i, id := range []string{"x-0", "x-1"} {
		inv := casework.Invitation{Lifecycle: casework.Lifecycle{ID: "l-1-" + id, WorkflowID: "invitation/l-1-" + id, UnitCode: "u1",
			Stage: "INVITED", CreatedAt: at, UpdatedAt: at, Version: 1},
			LineupID: "l-1", ExpertID: id,
			Subject: "sub-" + id, TeamRole: "MEMBER"}
		require.NoError(t, fx.store.CreateInvitation(ctx, inv, casework.Event{Key: "invite", Action: "invite", Actor: office, OccurredAt: at}))
		// Its answer's deadline runs: a calendar change re-dates it.
		open, err := fx.store.OpenDeadlineWorkflows(ctx)
		require.NoError(t, err)
		require.Contains(t, open, inv.WorkflowID)
		inv.Stage, inv.Version = "ACCEPTED", 2
		if i == 1 {
			inv.Stage, inv.Judgement = "DECLINE_UNJUSTIFIED", "UNJUSTIFIED"
		}
		require.NoError(t, fx.store.ApplyInvitationChange(ctx, inv, casework.Event{Key: "answer", Action: "answer", Actor: office, OccurredAt: at}))
		open, err = fx.store.OpenDeadlineWorkflows(ctx)
		require.NoError(t, err)
		require.NotContains(t, open, inv.WorkflowID, "answered: no deadline runs")
	}
	l, err = fx.store.GetLineup(ctx, "l-1")
	require.NoError(t, err)
	require.Equal(t, casework.MemberAccepted, l.Members[0].State)
	require.Equal(t, casework.MemberDeclined, l.Members[1].State)
	require.Equal(t, casework.LineupInviting, l.State, "x-1 declined and nobody replaces them yet: a place is open")
	require.Equal(t, []string{"x-1"}, expertIDs(l.OpenPlaces()))
	require.True(t, l.UpdatedAt.Equal(at.Truncate(time.Microsecond)), "the line-up changed when the invitation did, not %s", l.UpdatedAt)

	// x-2 replaces x-1 and accepts: every place is filled, and all on the
	// line-up accepted.
	_, err = fx.store.ChangeLineup(ctx, "l-1", casework.Event{Key: "replace/x-1", Action: "drawReplacement", Actor: office, OccurredAt: at},
		func(l *casework.Lineup) error {
			l.Members = append(l.Members, casework.LineupMember{ExpertID: "x-2", Name: "专家 x-2", UnitCode: "u1", Role: "MEMBER",
				Rank: "OTHER", State: casework.MemberInvited, Draw: 2, Replaces: "x-1", InvitationID: "l-1-x-2"})
			return nil
		})
	require.NoError(t, err)
	replacement := casework.Invitation{Lifecycle: casework.Lifecycle{ID: "l-1-x-2", WorkflowID: "invitation/l-1-x-2", UnitCode: "u1",
		Stage: "INVITED", CreatedAt: at, UpdatedAt: at, Version: 1},
		LineupID: "l-1", ExpertID: "x-2",
		Subject: "sub-x-2", TeamRole: "MEMBER"}
	require.NoError(t, fx.store.CreateInvitation(ctx, replacement, casework.Event{Key: "invite", Action: "invite", Actor: office, OccurredAt: at}))
	replacement.Stage, replacement.Version = "ACCEPTED", 2
	require.NoError(t, fx.store.ApplyInvitationChange(ctx, replacement, casework.Event{Key: "answer", Action: "answer", Actor: office, OccurredAt: at}))
	l, err = fx.store.GetLineup(ctx, "l-1")
	require.NoError(t, err)
	require.Empty(t, l.OpenPlaces())
	require.Equal(t, casework.LineupComplete, l.State, "the members on it all accepted")
	events, err := fx.store.Events(ctx, casework.SubjectLineup, "l-1")
	require.NoError(t, err)
	last := events[len(events)-1]
	require.Equal(t, "complete", last.Action, "the completion is an event of its own")
	require.Equal(t, casework.LineupInviting, last.StageBefore)
	require.Equal(t, casework.LineupComplete, last.StageAfter)
	require.Contains(t, last.Note, "every member accepted")
	var invited []string
	for token := ""; ; {
		page, next, err := fx.store.ListInvitations(ctx, "l-1", "", "", 1, token)
		require.NoError(t, err)
		for _, inv := range page {
			invited = append(invited, inv.ID+" "+inv.Stage)
		}
		if token = next; token == "" {
			break
		}
	}
	require.Equal(t, []string{"l-1-x-0 ACCEPTED", "l-1-x-1 DECLINE_UNJUSTIFIED", "l-1-x-2 ACCEPTED"}, invited, "a page at a time, oldest first")
	inv, err := fx.store.GetInvitation(ctx, "l-1-x-1")
	require.NoError(t, err)
	require.Equal(t, "UNJUSTIFIED", inv.Judgement)
	require.NoError(t, fx.store.InvitationInReach(ctx, "l-1-x-0", "sub-x-0"))
	require.ErrorIs(t, fx.store.InvitationInReach(ctx, "l-1-x-0", "sub-x-1"), derrors.ErrNotFound)

	stats, err := fx.store.PoolStatistics(ctx, 2026)
	require.NoError(t, err)
	require.Equal(t, ledger.PoolTally{ExpertID: "x-1", Name: "专家 x-1", UnitCode: "u1", Drawn: 1, Invited: 1, Declined: 1, Unjustified: 1}, stats.Experts[1])
	require.Equal(t, []ledger.PoolTally{{UnitCode: "u1", Drawn: 3, Invited: 3, Accepted: 2, Declined: 1, Unjustified: 1}}, stats.Units)
}

// TestPoolDaysUnreadableRefused: a day the pool cannot read is refused as
// invalid input (a permanent refusal to the activities, never retried), and
// nothing is written.
func TestPoolDaysUnreadableRefused(t *testing.T) {
	fx := setup(t)
	ctx := t.Context()
	bad := poolLineup("l-bad")
	bad.PlannedEnd = "2026-3-13"
	_, _, err := fx.store.RecordLineup(ctx, bad, casework.Event{Key: "draw", Action: "draw", Actor: office, OccurredAt: time.Now()})
	require.ErrorIs(t, err, derrors.ErrInvalidArgument)
	require.ErrorContains(t, err, "planned_end")
	require.False(t, activities.ClassifyLedgerError(err).Retry, "a day that cannot be read is not retried")
	_, err = fx.store.GetLineup(ctx, "l-bad")
	require.ErrorIs(t, err, derrors.ErrNotFound)

	_, err = fx.store.Candidates(ctx, "2026-03-10", "20.3.2026", "")
	require.ErrorIs(t, err, derrors.ErrInvalidArgument)
	require.ErrorContains(t, err, "to")
}

// TestUsedLineupBooksItsPeople: a line-up an inspection took (USED) books
// its people until the inspection's row is written, which books them
// then; between the two nothing did, and a second line-up could take the
// same person for the same days.
func TestUsedLineupBooksItsPeople(t *testing.T) {
	t.Parallel()
	fx := setup(t)
	ctx := t.Context()
	now := time.Now().UTC().Truncate(time.Microsecond)
	lineup := func(id, state string) casework.Lineup {
		return casework.Lineup{ID: id, RequestID: "r-" + id, UnitCode: "430300", UnitName: "湘潭市", PlannedStart: "2026-12-01",
			PlannedEnd: "2026-12-15", ContentAreas: []int{1}, Seed: 1, ConflictYears: 3, TeamSize: 6, State: state,
			Members: []casework.LineupMember{{ExpertID: "p-1", Name: "甲", Role: "LEADER", State: casework.MemberAccepted, Draw: 1}},
			Draws:   1, CreatedBy: office, CreatedAt: now, UpdatedAt: now, Version: 1}
	}
	_, _, err := fx.store.RecordLineup(ctx, lineup("l-a", casework.LineupApproved), casework.Event{Key: "draw", Action: "draw", Actor: office, OccurredAt: now})
	require.NoError(t, err)
	_, err = fx.store.ChangeLineup(ctx, "l-a", casework.Event{Key: "use/ins-1/1", Action: "use", Actor: office, OccurredAt: now},
		func(l *casework.Lineup) error { l.State, l.InspectionID = casework.LineupUsed, "ins-1"; return nil })
	require.NoError(t, err)
	pool, err := fx.store.Candidates(ctx, "2026-12-01", "2026-12-15", "l-x")
	require.NoError(t, err)
	require.NotEmpty(t, pool.Busy, "USED, the inspection's row not written yet: still booked")
	_, _, err = fx.store.RecordLineup(ctx, lineup("l-b", casework.LineupProposed), casework.Event{Key: "draw", Action: "draw", Actor: office, OccurredAt: now})
	require.ErrorIs(t, err, derrors.ErrFailedPrecondition, "a second line-up cannot take the same person")
}

// expertIDs are the members' expert IDs, in order.
func expertIDs(members []casework.LineupMember) []string {
	var out []string
	for _, m := range members {
		out = append(out, m.ExpertID)
	}
	return out
}

// TestAnswerAfterCancelRefused: once a line-up is cancelled, an answer to
// an invitation its member does not already hold, or the first write of an
// invitation, is refused in the ledger's write (the cancel and the answer
// take the same lock); a lapse, a withdrawal or a reminder is written.
func TestAnswerAfterCancelRefused(t *testing.T) {
	t.Parallel()
	fx := setup(t)
	ctx := t.Context()
	for i := range 3 {
		_, _, err := fx.store.CreateExpert(ctx, poolExpert(fmt.Sprintf("x-%d", i), "u1"),
			casework.Event{Key: "add", Action: "add", Actor: office, OccurredAt: time.Now()})
		require.NoError(t, err)
	}
	_, _, err := fx.store.RecordLineup(ctx, poolLineup("l-c", "x-0", "x-1", "x-2"), casework.Event{Key: "draw", Action: "draw", Actor: office, OccurredAt: time.Now()})
	require.NoError(t, err)
	at := time.Now().UTC()
	_, err = fx.store.ChangeLineup(ctx, "l-c", casework.Event{Key: "invite", Action: "invite", Actor: office, OccurredAt: at},
		func(l *casework.Lineup) error {
			l.State = casework.LineupInviting
			for i := range l.Members {
				l.Members[i].State, l.Members[i].InvitationID = casework.MemberInvited, "l-c-"+l.Members[i].ExpertID
			}
			return nil
		})
	require.NoError(t, err)
	invitation := func(expert, stage string, version int) casework.Invitation {
		return casework.Invitation{Lifecycle: casework.Lifecycle{ID: "l-c-" + expert, WorkflowID: "invitation/l-c-" + expert, UnitCode: "u1",
			Stage: stage, CreatedAt: at, UpdatedAt: at, Version: version},
			LineupID: "l-c", ExpertID: expert,
			Subject: "sub-" + expert, TeamRole: "MEMBER"}
	}
	write := func(inv casework.Invitation, key string) error {
		return fx.store.ApplyInvitationChange(ctx, inv, casework.Event{Key: key, Action: key, Actor: office, OccurredAt: at})
	}
	require.NoError(t, write(invitation("x-0", "INVITED", 1), "invite"))
	require.NoError(t, write(invitation("x-1", "INVITED", 1), "invite"))
	require.NoError(t, write(invitation("x-0", "ACCEPTED", 2), "accept"))
	// x-2's invitation is not written yet when the line-up is cancelled.
	l, err := fx.store.ChangeLineup(ctx, "l-c", casework.Event{Key: "cancel/r1", Action: "cancel", Actor: office, OccurredAt: at},
		func(l *casework.Lineup) error { l.Cancel("计划调整"); return nil })
	require.NoError(t, err)
	require.Equal(t, casework.LineupCancelled, l.State)
	require.Equal(t, []string{casework.MemberAccepted, casework.MemberWithdrawn, casework.MemberWithdrawn},
		[]string{l.Members[0].State, l.Members[1].State, l.Members[2].State})

	require.NoError(t, write(invitation("x-0", "ACCEPTED", 2), "accept"), "a retry of what the line-up holds")
	require.NoError(t, write(invitation("x-1", "INVITED", 1), "invite"), "a retry of a write made before the cancel")
	for _, refused := range []casework.Invitation{invitation("x-1", "ACCEPTED", 2), invitation("x-1", "DECLINED", 2), invitation("x-2", "INVITED", 1)} {
		err := write(refused, "answer-"+refused.Stage)
		require.ErrorIs(t, err, derrors.ErrFailedPrecondition, "%s %s", refused.ID, refused.Stage)
		require.ErrorContains(t, err, "line-up l-c was cancelled")
	}
	_, err = fx.store.GetInvitation(ctx, "l-c-x-2")
	require.ErrorIs(t, err, derrors.ErrNotFound, "the refused first write wrote nothing")
	require.NoError(t, write(invitation("x-1", "INVITED", 2), "remind"), "a reminder")
	// The lapse came before the withdrawal could: written, but not counted
	// against the person, whom the cancel withdrew.
	require.NoError(t, write(invitation("x-1", "EXPIRED", 3), "expire"))
	inv, err := fx.store.GetInvitation(ctx, "l-c-x-1")
	require.NoError(t, err)
	require.Equal(t, "EXPIRED", inv.Stage)
	l, err = fx.store.GetLineup(ctx, "l-c")
	require.NoError(t, err)
	require.Equal(t, casework.LineupCancelled, l.State)
	require.Equal(t, casework.MemberAccepted, l.Members[0].State)
	require.Equal(t, casework.MemberWithdrawn, l.Members[1].State)
	stats, err := fx.store.PoolStatistics(ctx, 2026)
	require.NoError(t, err)
	tally := map[string]ledger.PoolTally{}
	for _, x := range stats.Experts {
		tally[x.ExpertID] = x
	}
	require.Equal(t, ledger.PoolTally{ExpertID: "x-0", Name: "专家 x-0", UnitCode: "u1", Drawn: 1, Invited: 1, Accepted: 1}, tally["x-0"])
	require.Equal(t, ledger.PoolTally{ExpertID: "x-1", Name: "专家 x-1", UnitCode: "u1"}, tally["x-1"], "withdrawn: not drawn, invited nor lapsed")
}

// TestCancelIgnoresBookings: a line-up is cancelled although one of its
// people was booked elsewhere meanwhile (here a second line-up written
// around the checks, as a team typed into an inspection is); the cancel
// was refused as a double booking, and the line-up could be neither used
// nor called off.
func TestCancelIgnoresBookings(t *testing.T) {
	t.Parallel()
	fx := setup(t)
	ctx := t.Context()
	now := time.Now().UTC()
	_, _, err := fx.store.CreateExpert(ctx, poolExpert("x-0", "u1"), casework.Event{Key: "add", Action: "add", Actor: office, OccurredAt: now})
	require.NoError(t, err)
	first := poolLineup("l-1", "x-0")
	first.State, first.Members[0].State = casework.LineupApproved, casework.MemberAccepted
	_, _, err = fx.store.RecordLineup(ctx, first, casework.Event{Key: "draw", Action: "draw", Actor: office, OccurredAt: now})
	require.NoError(t, err)
	second := poolLineup("l-2", "x-0")
	second.PlannedStart, second.PlannedEnd = "2026-04-01", "2026-04-10"
	_, _, err = fx.store.RecordLineup(ctx, second, casework.Event{Key: "draw", Action: "draw", Actor: office, OccurredAt: now})
	require.NoError(t, err)
	require.NoError(t, fx.exec(t, `UPDATE lineups SET planned_start = '2026-03-05', planned_end = '2026-03-20' WHERE id = 'l-2'`))
	_, err = fx.store.ChangeLineup(ctx, "l-1", casework.Event{Key: "approve-again", Action: "note", Actor: office, OccurredAt: now},
		func(*casework.Lineup) error { return nil })
	require.ErrorIs(t, err, derrors.ErrFailedPrecondition, "booked twice: other changes are refused")
	l, err := fx.store.ChangeLineup(ctx, "l-1", casework.Event{Key: "cancel/r1", Action: "cancel", Actor: office, OccurredAt: now},
		func(l *casework.Lineup) error { l.Cancel("重新抽选"); return nil })
	require.NoError(t, err)
	require.Equal(t, casework.LineupCancelled, l.State)
}

// TestExpertAddedOnceConcurrently: the same person added many times at
// once (two uploads of one pool list) is added once, and every add answers
// with the row: two at once both passed the subject's check, and the
// second's insert broke the subject's unique index (an internal error).
func TestExpertAddedOnceConcurrently(t *testing.T) {
	t.Parallel()
	fx := setup(t)
	var wg sync.WaitGroup
	errs := make(chan error, 400)
	created := make(chan bool, 400)
	for i := range 100 {
		x := poolExpert(fmt.Sprintf("x-%02d", i), "u1")
		for range 4 {
			wg.Go(func() {
				_, c, err := fx.store.CreateExpert(t.Context(), x, casework.Event{Key: "add/" + x.ID, Action: "add", Actor: office, OccurredAt: x.CreatedAt})
				errs <- err
				created <- c
			})
		}
	}
	wg.Wait()
	close(errs)
	close(created)
	for err := range errs {
		require.NoError(t, err)
	}
	n := 0
	for c := range created {
		if c {
			n++
		}
	}
	require.Equal(t, 100, n, "each person created once")
	require.Equal(t, 100, fx.count(t, `SELECT count(*) FROM experts`))
}
