package workflows

import (
	"fmt"
	"slices"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/xuncha/xuncha/casework"
	"github.com/xuncha/xuncha/internal/derrors"
	"github.com/xuncha/xuncha/internal/i18n"
)

// testPool is a pool of 30: 6 who may lead, 6 more who may be deputy, 10
// staff members and 8 experts, with content areas spread over 1–10; every
// other person comes from Changsha (430100), the rest from Yueyang
// (430600).
func testPool() []casework.Expert {
	var pool []casework.Expert
	for i := range 30 {
		x := casework.Expert{ID: fmt.Sprintf("x-%02d", i), Name: fmt.Sprintf("专家%02d", i), Organisation: "厅局",
			UnitCode: fmt.Sprintf("org-%d", i%4), Kind: casework.ExpertKindStaff, Rank: RankOther,
			ContentAreas: []int{1 + i%10, 1 + (i+3)%10}, HomeRegion: []string{"430100", "430600"}[i%2]}
		switch {
		case i < 6:
			x.Rank = RankInspector2
		case i < 12:
			x.Rank = RankDivisionChief
		case i >= 22:
			x.Kind = casework.ExpertKindExpert
		}
		pool = append(pool, x)
	}
	return pool
}

func testDraw(seed int64) DrawInput {
	return DrawInput{UnitCode: "430300", PlannedStart: "2026-05-11", PlannedEnd: "2026-05-22", ContentAreas: []int{1, 4, 9},
		TeamSize: 7, ConflictYears: 3, Seed: seed, Pool: casework.PoolCandidates{Experts: testPool()}}
}

func ids(ms []casework.LineupMember) []string {
	var out []string
	for _, m := range ms {
		out = append(out, m.Role+":"+m.ExpertID)
	}
	return out
}

func TestDrawSameSeedSameLineup(t *testing.T) {
	t.Parallel()
	a, err := Draw(testDraw(20260511))
	require.NoError(t, err)
	in := testDraw(20260511)
	slices.Reverse(in.Pool.Experts) // the order the ledger lists the pool in does not matter
	b, err := Draw(in)
	require.NoError(t, err)
	require.Equal(t, a, b)
	distinct := map[string]bool{}
	for seed := range int64(20) {
		r, err := Draw(testDraw(seed))
		require.NoError(t, err)
		distinct[fmt.Sprint(ids(r.Members))] = true
	}
	require.Greater(t, len(distinct), 10, "other seeds draw other line-ups")
}

func TestDrawnLineupsKeepTheTeamRules(t *testing.T) {
	t.Parallel()
	for seed := range int64(300) {
		in := testDraw(seed)
		in.TeamSize = MinTeam + int(seed)%(MaxTeam-MinTeam+1)
		r, err := Draw(in)
		require.NoError(t, err, "seed %d", seed)
		var team []casework.TeamMember
		for _, m := range r.Members {
			team = append(team, casework.TeamMember{Name: m.Name, Role: m.Role, Rank: m.Rank})
		}
		var v derrors.Violations
		ValidateTeam(&v, team)
		require.NoError(t, v.Err(), "seed %d: %v", seed, ids(r.Members))
		require.Len(t, r.Members, in.TeamSize)
		require.NoError(t, CheckLineup(in.ContentAreas, r.Members, in.Pool.Experts))
	}
}

// TestCheckLineupTeamAsksNoPool: the approval's check holds a line-up to
// the team rules without the pool (content areas were covered as it was
// drawn): a drawn line-up passes, and one with its deputy made a second
// leader is refused for the team alone, while CheckLineup without the
// pool would also count every content area uncovered.
func TestCheckLineupTeamAsksNoPool(t *testing.T) {
	t.Parallel()
	in := testDraw(7)
	r, err := Draw(in)
	require.NoError(t, err)
	require.NoError(t, CheckLineupTeam(r.Members))
	members := slices.Clone(r.Members)
	for i := range members {
		if members[i].Role == TeamDeputy {
			members[i].Role = TeamLeader
		}
	}
	var invalid *derrors.InvalidError
	require.ErrorAs(t, CheckLineupTeam(members), &invalid)
	for _, v := range invalid.Violations {
		require.NotContains(t, v.Rule, "content area", "the pool is not asked")
	}
	require.ErrorContains(t, CheckLineupTeam(members), "2 leaders")
	require.ErrorContains(t, CheckLineup(in.ContentAreas, r.Members, nil), "content area")
}

func TestDrawNeverChoosesTheExcludedAndSaysWhy(t *testing.T) {
	t.Parallel()
	in := testDraw(7)
	in.UnitCode = "430600" // Yueyang: every odd-numbered person's home region
	pool := in.Pool.Experts
	pool[0].Affiliations = []casework.Affiliation{{UnitCode: "430602", FromYear: 2018, ToYear: 2024}} // a district of Yueyang, 2 years ago
	pool[2].Affiliations = []casework.Affiliation{{UnitCode: "430600", FromYear: 2010, ToYear: 2019}} // long ago: no conflict
	pool[4].Unavailable = []casework.Unavailability{{From: "2026-05-20", To: "2026-06-01", Reason: "出国"}}
	pool[6].LeftOn, pool[6].LeaveReason = "2026-04-01", "退休"
	in.Pool.Busy = []casework.Busy{{ExpertID: "x-08", What: "inspection/i-1", From: "2026-05-01", To: "2026-05-12"}}
	want := map[string]string{"x-00": ExcludedConflict, "x-04": ExcludedUnavailable, "x-06": ExcludedLeftPool, "x-08": ExcludedDoubleBooked}
	for i := 1; i < 30; i += 2 {
		want[fmt.Sprintf("x-%02d", i)] = ExcludedConflict
	}
	for seed := range int64(50) {
		in.Seed = seed
		r, err := Draw(in)
		require.NoError(t, err)
		for _, m := range r.Members {
			require.NotContains(t, want, m.ExpertID, "seed %d drew an excluded person", seed)
		}
		got := map[string]string{}
		for _, e := range r.Exclusions {
			require.NotEmpty(t, e.Reasons[0].Detail)
			require.NotEmpty(t, e.Reasons[0].DetailZH, "said in Chinese too")
			got[e.ExpertID] = e.Reasons[0].Code
		}
		require.Equal(t, want, got)
	}
	r, err := Draw(in)
	require.NoError(t, err)
	i := slices.IndexFunc(r.Exclusions, func(e casework.Exclusion) bool { return e.ExpertID == "x-00" })
	require.Equal(t, "worked for 430602 from 2018 to 2024, within 3 years of 2026", r.Exclusions[i].Reasons[0].Detail)
	require.Equal(t, "2018 年至 2024 年在 430602 工作，距 2026 年 3 年以内", r.Exclusions[i].Reasons[0].DetailZH)
	i = slices.IndexFunc(r.Exclusions, func(e casework.Exclusion) bool { return e.ExpertID == "x-08" })
	require.Equal(t, "on inspection/i-1 from 2026-05-01 to 2026-05-12", r.Exclusions[i].Reasons[0].Detail)
}

func TestDrawRefusesWhatThePoolCannotFill(t *testing.T) {
	t.Parallel()
	in := testDraw(1)
	for i := range 6 {
		in.Pool.Busy = append(in.Pool.Busy, casework.Busy{ExpertID: fmt.Sprintf("x-%02d", i), What: "lineup/a"})
	}
	_, err := Draw(in)
	var se *derrors.StageError
	require.ErrorAs(t, err, &se)
	require.Equal(t, "POOL_TOO_SMALL", se.Reason)
	require.Contains(t, se.Message, "leader")
	require.Equal(t, "专家库中没有符合条件的厅局级或二级巡视员以上的组长（6 人被排除：见抽选的排除说明）", derrors.Message(err, i18n.Chinese))

	in = testDraw(1)
	in.TeamSize, in.ContentAreas = 9, []int{0}
	_, err = Draw(in)
	require.ErrorContains(t, err, "lineup.team_size")
}

func TestDrawReplacement(t *testing.T) {
	t.Parallel()
	in := testDraw(99)
	r, err := Draw(in)
	require.NoError(t, err)
	l := casework.Lineup{ID: "l-1", Members: r.Members, Draws: 1}
	for _, leaving := range []int{0, 3} { // the leader, then a member
		l.Members[leaving].State = casework.MemberDeclined
		m, _, err := DrawReplacement(ReplaceInput{Draw: in, Lineup: l, Leaving: l.Members[leaving].ExpertID})
		require.NoError(t, err)
		again, _, err := DrawReplacement(ReplaceInput{Draw: in, Lineup: l, Leaving: l.Members[leaving].ExpertID})
		require.NoError(t, err)
		require.Equal(t, m, again, "a replacement repeats too")
		require.Equal(t, l.Members[leaving].ExpertID, m.Replaces)
		require.Equal(t, 2+len(l.Members)-len(r.Members), m.Draw)
		for _, o := range l.Members {
			require.NotEqual(t, o.ExpertID, m.ExpertID, "never someone already drawn for the line-up")
		}
		if leaving == 0 {
			require.Equal(t, TeamLeader, m.Role)
			require.Contains(t, leaderRanks, m.Rank)
		}
		l.Members = append(l.Members, m)
		l.Draws++
		require.NoError(t, CheckLineup(in.ContentAreas, l.Members, in.Pool.Experts))
	}
	// Nobody who left under that ID: refused, in Chinese too (an
	// invitation's note says why no replacement was drawn).
	_, _, err = DrawReplacement(ReplaceInput{Draw: in, Lineup: l, Leaving: "nobody"})
	require.ErrorIs(t, err, derrors.ErrFailedPrecondition)
	require.Equal(t, "巡查组名单 l-1 中没有已离开的成员 nobody", derrors.Message(err, i18n.Chinese))
}

func TestCheckSwap(t *testing.T) {
	t.Parallel()
	in := testDraw(5)
	r, err := Draw(in)
	require.NoError(t, err)
	l := casework.Lineup{ID: "l-1", Members: r.Members, Draws: 1}
	pool := in.Pool.Experts
	// A member in place of the leader breaks the leader's rank rule.
	member := pool[slices.IndexFunc(pool, func(x casework.Expert) bool {
		return x.Rank == RankOther && !slices.ContainsFunc(l.Members, func(m casework.LineupMember) bool { return m.ExpertID == x.ID })
	})]
	_, err = CheckSwap(in, l, l.Members[0].ExpertID, member, "组长另有任务")
	require.ErrorContains(t, err, "the leader (组长) must hold")
	// A conflicted person is refused with the reason.
	conflicted := member
	conflicted.HomeRegion = "430304"
	_, err = CheckSwap(in, l, l.Members[3].ExpertID, conflicted, "换人")
	require.ErrorContains(t, err, "CONFLICT_OF_INTEREST: home region 430304")
	require.Contains(t, derrors.Message(err, i18n.Chinese), "利益冲突回避：籍贯地 430304 即被巡查单位 430300 或在其辖区内",
		"in Chinese, with no code or English: it read \"CONFLICT_OF_INTEREST: home region …\"")
	members, err := CheckSwap(in, l, l.Members[len(l.Members)-1].ExpertID, member, "换人")
	if err == nil {
		require.Equal(t, casework.MemberSwappedOut, members[len(l.Members)-1].State)
		require.Equal(t, member.ID, members[len(members)-1].ExpertID)
	} else {
		require.ErrorContains(t, err, "content area", "only the content areas may refuse this swap")
	}
}

// TestValidateContentAreas: a line-up's or a person's content items are at
// least one, each the charter's 1 to 10, none twice; each refusal names
// its field and item.
func TestValidateContentAreas(t *testing.T) {
	for _, tt := range []struct {
		areas []int
		want  []derrors.FieldViolation
	}{
		{[]int{1, 10}, nil},
		{nil, []derrors.FieldViolation{{Field: "lineup.content_areas", Rule: "must list at least one of the charter's content items 1 to 10"}}},
		{[]int{0, 3, 11}, []derrors.FieldViolation{
			{Field: "lineup.content_areas[0]", Rule: "must be the charter's content item 1 to 10"},
			{Field: "lineup.content_areas[2]", Rule: "must be the charter's content item 1 to 10"},
		}},
		{[]int{4, 5, 4}, []derrors.FieldViolation{{Field: "lineup.content_areas[2]", Rule: "item 4 is listed twice"}}},
	} {
		var v derrors.Violations
		validateContentAreas(&v, "lineup.content_areas", tt.areas)
		var got []derrors.FieldViolation
		for _, fv := range v {
			require.NotEmpty(t, fv.RuleZH, "the rule in Chinese too")
			got = append(got, derrors.FieldViolation{Field: fv.Field, Rule: fv.Rule})
		}
		require.Equal(t, tt.want, got, "%v", tt.areas)
	}
}

// TestLeavingDuringTheInspectionExcludes: someone who leaves the pool on a
// day of the inspection (retiring mid-tour) could not serve it to the end
// and is excluded, like someone who left before it; leaving the day after
// its last day excludes nobody. Replacements of invitation runs from
// before versionPoolThroughEnd keep the old rule (the start day only).
func TestLeavingDuringTheInspectionExcludes(t *testing.T) {
	t.Parallel()
	in := testDraw(3) // 2026-05-11 .. 2026-05-22
	in.Pool.Experts[2].LeftOn, in.Pool.Experts[2].LeaveReason = "2026-05-12", "退休"
	in.Pool.Experts[4].LeftOn, in.Pool.Experts[4].LeaveReason = "2026-05-23", "退休"
	got := exclusionCodes(t, in)
	require.Equal(t, ExcludedLeftPool, got["x-02"])
	require.NotContains(t, got, "x-04")
	in.InPoolOnStartOnly = true
	require.NotContains(t, exclusionCodes(t, in), "x-02", "the old rule")
}

// TestConflictCodesAnyCase: an organisation's code is the same whatever
// the case of its letters: an expert of hn-yjt, or once of Hn-Yjt, is not
// drawn to inspect HN-YJT. Replacements of invitation runs from before
// versionCodesAnyCase compared them exactly (CodesExact).
func TestConflictCodesAnyCase(t *testing.T) {
	t.Parallel()
	in := testDraw(5)
	in.UnitCode = "HN-YJT"
	in.Pool.Experts[2].UnitCode = "hn-yjt"
	in.Pool.Experts[4].Affiliations = []casework.Affiliation{{UnitCode: "Hn-Yjt", FromYear: 2020}}
	got := exclusionCodes(t, in)
	require.Equal(t, ExcludedConflict, got["x-02"])
	require.Equal(t, ExcludedConflict, got["x-04"])
	in.CodesExact = true
	got = exclusionCodes(t, in)
	require.NotContains(t, got, "x-02", "the old rule")
	require.NotContains(t, got, "x-04", "the old rule")
}

// exclusionCodes draws in and maps each person excluded to the code of
// their first reason.
func exclusionCodes(t *testing.T, in DrawInput) map[string]string {
	t.Helper()
	r, err := Draw(in)
	require.NoError(t, err)
	got := map[string]string{}
	for _, e := range r.Exclusions {
		got[e.ExpertID] = e.Reasons[0].Code
	}
	return got
}

// TestDrawPeriodIsBounded: a line-up books its people for every day of its
// period, so the period is at most MaxLineupDays, first and last counted
// (a draw from 2027 to 2099 was taken and booked six people for 72 years);
// it may not end before it starts.
func TestDrawPeriodIsBounded(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		start, end string
		refused    string
	}{
		{"2026-05-11", "2026-08-10", ""}, // 92 days
		{"2026-05-11", "2026-08-11", "must be at most 92 days from planned_start (2026-05-11): a line-up books its people for every day of it"},
		{"2027-05-01", "2099-05-03", "must be at most 92 days from planned_start (2027-05-01)"},
		{"2026-05-11", "2026-05-10", "must not be before planned_start (2026-05-11)"},
	} {
		in := testDraw(1)
		in.PlannedStart, in.PlannedEnd = tc.start, tc.end
		err := in.Validate()
		if tc.refused == "" {
			require.NoError(t, err, "%s to %s", tc.start, tc.end)
			continue
		}
		var invalid *derrors.InvalidError
		require.ErrorAs(t, err, &invalid, "%s to %s", tc.start, tc.end)
		require.Equal(t, "lineup.planned_end", invalid.Violations[0].Field)
		require.Contains(t, invalid.Violations[0].Rule, tc.refused)
	}
}
