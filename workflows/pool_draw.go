package workflows

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"

	"github.com/xuncha/xuncha/calendar"
	"github.com/xuncha/xuncha/casework"
	"github.com/xuncha/xuncha/internal/derrors"
	"github.com/xuncha/xuncha/internal/i18n"
)

// The draw of a line-up from the expert pool (issue 15 item 2): who is
// eligible, and who among the eligible is chosen, at random from a recorded
// seed. It is a pure function of its input, so the same seed, pool and
// bookings give the same line-up: the API draws with it, the invitation
// workflow draws replacements with it, and an auditor repeats either. The
// team rules it must meet are ValidateTeam's, checked on every result.

// Exclusion codes: why a person of the pool could not be drawn.
const (
	ExcludedConflict     = "CONFLICT_OF_INTEREST"
	ExcludedDoubleBooked = "DOUBLE_BOOKED"
	ExcludedUnavailable  = "UNAVAILABLE"
	ExcludedLeftPool     = "LEFT_POOL"
	ExcludedOnLineup     = "ALREADY_ON_LINEUP"
)

// DefaultConflictYears is how many years back a past affiliation still
// conflicts, when the office gives none.
const DefaultConflictYears = 3

// DrawInput is what a draw needs: the planned inspection, the rules'
// parameters, the seed and the pool as the ledger holds it.
type DrawInput struct {
	UnitCode     string `json:"unit_code"`
	PlannedStart string `json:"planned_start"`
	PlannedEnd   string `json:"planned_end"`
	ContentAreas []int  `json:"content_areas"`
	// TeamSize is the counted size (leader, deputy, members), MinTeam to
	// MaxTeam.
	TeamSize      int   `json:"team_size"`
	ConflictYears int   `json:"conflict_years"`
	Seed          int64 `json:"seed"`
	// Pool is the pool and the bookings on the dates, outside the line-up.
	Pool casework.PoolCandidates `json:"pool"`
	// InPoolOnStartOnly keeps the rule replacements drawn by invitation
	// runs from before versionPoolThroughEnd followed: in the pool on the
	// planned start (not on every day to the end). Never sent.
	InPoolOnStartOnly bool `json:"-"`
	// CodesExact keeps the rule replacements drawn by invitation runs from
	// before versionCodesAnyCase followed: unit codes compared letter for
	// letter, case included. Never sent.
	CodesExact bool `json:"-"`
}

// DrawResult is a drawn line-up: its members in draw order and every
// person of the pool who could not be drawn, with the reasons.
type DrawResult struct {
	Members    []casework.LineupMember `json:"members"`
	Exclusions []casework.Exclusion    `json:"exclusions"`
}

// MaxLineupDays is the longest period a line-up may book its people for,
// its first and last day counted: a quarter of a year, far beyond an
// inspection's weeks on site. A draw from 2027 to 2099 booked six people
// for 72 years.
const MaxLineupDays = 92

// Validate checks the draw's own parameters; field names are the
// DrawLineupRequest's.
func (in DrawInput) Validate() error {
	var v derrors.Violations
	switch {
	case strings.TrimSpace(in.UnitCode) == "":
		v.Add("lineup.unit_code", "must not be empty")
	case !unitCodePattern.MatchString(in.UnitCode):
		v.Add("lineup.unit_code", "must be 2–32 letters, digits or \"-\" (an administrative division or organisation code)")
	}
	start, errStart := calendar.ParseDate(in.PlannedStart)
	if errStart != nil {
		v.Add("lineup.planned_start", "must be a date YYYY-MM-DD")
	}
	end, errEnd := calendar.ParseDate(in.PlannedEnd)
	if errEnd != nil {
		v.Add("lineup.planned_end", "must be a date YYYY-MM-DD")
	}
	switch {
	case errStart != nil || errEnd != nil:
	case end.Before(start):
		v.Add("lineup.planned_end", "must not be before planned_start (%s)", start)
	case end.After(start.AddDays(MaxLineupDays - 1)):
		v.Add("lineup.planned_end", "must be at most %d days from planned_start (%s): a line-up books its people for every day of it",
			MaxLineupDays, start)
	}
	validateContentAreas(&v, "lineup.content_areas", in.ContentAreas)
	if in.TeamSize < MinTeam || in.TeamSize > MaxTeam {
		v.Add("lineup.team_size", "must be %d to %d people counting leader, deputy and members (charter 二)", MinTeam, MaxTeam)
	}
	if in.ConflictYears < 0 || in.ConflictYears > 30 {
		v.Add("lineup.conflict_years", "must be 0 to 30 years")
	}
	return v.Err()
}

// sameOrWithin reports whether two unit codes name the same unit, or two
// administrative divisions one of which contains the other. An
// organisation's code is the same whatever the case of its letters (hn-yjt
// is HN-YJT), unless exact (runs from before versionCodesAnyCase).
func sameOrWithin(a, b string, exact bool) bool {
	if a == "" || b == "" {
		return false
	}
	if a == b || !exact && strings.EqualFold(a, b) {
		return true
	}
	pa, pb := casework.DivisionPrefix(a), casework.DivisionPrefix(b)
	return pa != "" && pb != "" && (strings.HasPrefix(pa, pb) || strings.HasPrefix(pb, pa))
}

// exclusion is a reason of code, said in both languages.
func exclusion(code, format string, args ...any) casework.ExclusionReason {
	t := i18n.T(format, args...)
	return casework.ExclusionReason{Code: code, Detail: t.EN, DetailZH: t.ZH}
}

// Exclusions returns why x may not be drawn for the planned inspection
// (none: eligible). onLineup names the people already drawn for the
// line-up, with their state.
func (in DrawInput) exclusionsOf(x casework.Expert, onLineup map[string]string) []casework.ExclusionReason {
	var out []casework.ExclusionReason
	start, end := calendar.MustParseDate(in.PlannedStart), calendar.MustParseDate(in.PlannedEnd)
	lastDay := end
	if in.InPoolOnStartOnly {
		lastDay = start
	}
	// In the pool on every day of the inspection: someone leaving in the
	// middle of it (retiring mid-tour) could not serve it to the end.
	if !x.InPoolOn(lastDay) {
		out = append(out, exclusion(ExcludedLeftPool, "left the pool on %s: %s", x.LeftOn, x.LeaveReason))
	}
	if st, ok := onLineup[x.ID]; ok {
		out = append(out, exclusion(ExcludedOnLineup, "already drawn for this line-up (%s)", i18n.Term(i18n.MemberState, st)))
	}
	if sameOrWithin(x.UnitCode, in.UnitCode, in.CodesExact) {
		out = append(out, exclusion(ExcludedConflict, "works for %s (%s), the inspected unit or within it", x.Organisation, x.UnitCode))
	}
	if sameOrWithin(x.HomeRegion, in.UnitCode, in.CodesExact) {
		out = append(out, exclusion(ExcludedConflict, "home region %s is the inspected unit %s or within it", x.HomeRegion, in.UnitCode))
	}
	since := start.Year - in.ConflictYears
	for _, a := range x.Affiliations {
		if !sameOrWithin(a.UnitCode, in.UnitCode, in.CodesExact) {
			continue
		}
		switch {
		case a.ToYear == 0:
			out = append(out, exclusion(ExcludedConflict, "works for %s since %d", a.UnitCode, a.FromYear))
		case a.ToYear >= since:
			out = append(out, exclusion(ExcludedConflict, "worked for %s from %d to %d, within %d years of %d", a.UnitCode, a.FromYear, a.ToYear,
				in.ConflictYears, start.Year))
		}
	}
	for _, b := range in.Pool.Busy {
		if b.ExpertID == x.ID {
			out = append(out, exclusion(ExcludedDoubleBooked, "on %s from %s to %s", b.What, b.From, b.To))
		}
	}
	for _, u := range x.Unavailable {
		from, errF := calendar.ParseDate(u.From)
		to, errT := calendar.ParseDate(u.To)
		if errF == nil && errT == nil && !to.Before(start) && !end.Before(from) {
			out = append(out, exclusion(ExcludedUnavailable, "unavailable from %s to %s: %s", u.From, u.To, u.Reason))
		}
	}
	return out
}

// NoLongerEligible is why x, drawn for the line-up in, can no longer serve
// it: the reasons that come about after a draw (the person left the pool,
// or is unavailable on some of its days). The approval of a line-up with
// such a member is refused, and so is an inspection's taking it: one who
// accepted is not swapped out (README, Known limits), the office cancels
// the line-up and draws again.
func (in DrawInput) NoLongerEligible(x casework.Expert) []casework.ExclusionReason {
	return slices.DeleteFunc(in.exclusionsOf(x, nil), func(r casework.ExclusionReason) bool {
		return r.Code != ExcludedLeftPool && r.Code != ExcludedUnavailable
	})
}

// drawer chooses among the eligible with the seed's random stream.
type drawer struct {
	in       DrawInput
	src      *rand.PCG
	eligible []casework.Expert
	chosen   []casework.LineupMember
	draw     int
}

// newDrawer sorts the pool by ID (the order the stream picks from) and
// splits it into the eligible and the excluded. Draw n (1: the line-up's,
// 2 and up: replacements) has its own stream of the seed.
func newDrawer(in DrawInput, draw int, onLineup map[string]string) (*drawer, []casework.Exclusion) {
	d := &drawer{in: in, src: rand.NewPCG(uint64(in.Seed), uint64(draw)), draw: draw}
	pool := slices.Clone(in.Pool.Experts)
	slices.SortFunc(pool, func(a, b casework.Expert) int { return strings.Compare(a.ID, b.ID) })
	var excluded []casework.Exclusion
	for _, x := range pool {
		if reasons := in.exclusionsOf(x, onLineup); len(reasons) > 0 {
			excluded = append(excluded, casework.Exclusion{ExpertID: x.ID, Name: x.Name, Reasons: reasons})
			continue
		}
		d.eligible = append(d.eligible, x)
	}
	return d, excluded
}

// pick removes and returns one of the eligible that ok accepts, chosen by
// the stream: the index is the next Uint64 modulo their number, so the
// choice depends only on the seed, the draw and the sorted pool.
func (d *drawer) pick(ok func(casework.Expert) bool) (casework.Expert, bool) {
	var idx []int
	for i, x := range d.eligible {
		if ok(x) {
			idx = append(idx, i)
		}
	}
	if len(idx) == 0 {
		return casework.Expert{}, false
	}
	i := idx[d.src.Uint64()%uint64(len(idx))]
	x := d.eligible[i]
	d.eligible = slices.Delete(d.eligible, i, i+1)
	return x, true
}

func (d *drawer) add(x casework.Expert, role string) casework.LineupMember {
	m := casework.LineupMember{ExpertID: x.ID, Name: x.Name, Organisation: x.Organisation, UnitCode: x.UnitCode,
		Subject: x.Subject, Role: role, Rank: x.Rank, State: casework.MemberProposed, Draw: d.draw}
	d.chosen = append(d.chosen, m)
	return m
}

// roleOf is the team role a pool entry takes when drawn as a member.
func roleOf(x casework.Expert) string {
	if x.Kind == casework.ExpertKindExpert {
		return TeamExpert
	}
	return TeamMember
}

func staff(x casework.Expert) bool { return x.Kind != casework.ExpertKindExpert }

func covers(x casework.Expert, area int) bool { return slices.Contains(x.ContentAreas, area) }

// uncovered lists the content areas that none of the experts covers.
func uncovered(areas []int, experts []casework.Expert) []int {
	var out []int
	for _, a := range areas {
		if !slices.ContainsFunc(experts, func(x casework.Expert) bool { return covers(x, a) }) {
			out = append(out, a)
		}
	}
	return out
}

// poolTooSmall refuses a draw the eligible cannot fill.
func poolTooSmall(what i18n.Text, excluded []casework.Exclusion) error {
	return derrors.StageError{Reason: "POOL_TOO_SMALL", Subject: "pool", Action: "draw"}.
		Says("the pool has no eligible %s (%d people excluded: see a draw's exclusions)", what, len(excluded))
}

// Draw draws a line-up: a leader and a deputy of the ranks the charter
// requires, then, for each content area in order that nobody chosen yet
// covers, someone who covers it (an expert or a member), then members up to
// TeamSize. Every choice is among the eligible only; the result meets
// ValidateTeam.
func Draw(in DrawInput) (DrawResult, error) {
	if err := in.Validate(); err != nil {
		return DrawResult{}, err
	}
	d, excluded := newDrawer(in, 1, nil)
	var chosen []casework.Expert
	leader, ok := d.pick(func(x casework.Expert) bool { return staff(x) && slices.Contains(leaderRanks, x.Rank) })
	if !ok {
		return DrawResult{}, poolTooSmall(i18n.T("leader (组长) of department level or level-two inspector and above"), excluded)
	}
	d.add(leader, TeamLeader)
	chosen = append(chosen, leader)
	deputy, ok := d.pick(func(x casework.Expert) bool { return staff(x) && slices.Contains(deputyRanks, x.Rank) })
	if !ok {
		return DrawResult{}, poolTooSmall(i18n.T("deputy (副组长) of division chief or above"), excluded)
	}
	d.add(deputy, TeamDeputy)
	chosen = append(chosen, deputy)
	for _, area := range in.ContentAreas {
		if len(uncovered([]int{area}, chosen)) == 0 {
			continue
		}
		if len(chosen) == in.TeamSize {
			return DrawResult{}, poolTooSmall(i18n.T("people to cover content area %d within %d people", area, in.TeamSize), excluded)
		}
		x, ok := d.pick(func(x casework.Expert) bool { return covers(x, area) })
		if !ok {
			return DrawResult{}, poolTooSmall(i18n.T("person qualified for content area %d", area), excluded)
		}
		d.add(x, roleOf(x))
		chosen = append(chosen, x)
	}
	for len(chosen) < in.TeamSize {
		x, ok := d.pick(func(casework.Expert) bool { return true })
		if !ok {
			return DrawResult{}, poolTooSmall(i18n.T("members to make %d people", in.TeamSize), excluded)
		}
		d.add(x, roleOf(x))
		chosen = append(chosen, x)
	}
	res := DrawResult{Members: d.chosen, Exclusions: excluded}
	return res, CheckLineup(in.ContentAreas, res.Members, in.Pool.Experts)
}

// CheckLineup checks the members on a line-up (those active) against the
// team rules (ValidateTeam) and the inspection's content areas, which the
// pool's entries of the members must cover.
func CheckLineup(areas []int, members []casework.LineupMember, pool []casework.Expert) error {
	var v derrors.Violations
	var on []casework.Expert
	for _, m := range members {
		if i := slices.IndexFunc(pool, func(x casework.Expert) bool { return x.ID == m.ExpertID }); i >= 0 && casework.MemberActive(m.State) {
			on = append(on, pool[i])
		}
	}
	validateTeamAt(&v, "lineup.members", activeTeam(members))
	for _, a := range uncovered(areas, on) {
		v.Add("lineup.members", "nobody on the line-up is qualified for content area %d of the inspection", a)
	}
	return v.Err()
}

// CheckLineupTeam checks the members on a line-up (those active) against
// the team rules alone (ValidateTeam), where the pool is not at hand: the
// content areas were covered as they were drawn (CheckLineup).
func CheckLineupTeam(members []casework.LineupMember) error {
	var v derrors.Violations
	validateTeamAt(&v, "lineup.members", activeTeam(members))
	return v.Err()
}

// activeTeam is the team the active members of a line-up make.
func activeTeam(members []casework.LineupMember) []casework.TeamMember {
	var team []casework.TeamMember
	for _, m := range members {
		if casework.MemberActive(m.State) {
			team = append(team, casework.TeamMember{Name: m.Name, Role: m.Role, Rank: m.Rank, Organisation: m.Organisation,
				Subject: m.Subject, ExpertID: m.ExpertID})
		}
	}
	return team
}

// ReplaceInput asks for a replacement of one member of a line-up.
type ReplaceInput struct {
	Draw   DrawInput       `json:"draw"`
	Lineup casework.Lineup `json:"lineup"`
	// Leaving is the expert ID of the member who declined or let the
	// invitation lapse (no longer active on the line-up).
	Leaving string `json:"leaving"`
}

// DrawReplacement draws one person in the place of a member who left the
// line-up: of the ranks the leaving member's role requires, covering the
// content areas that nobody left on the line-up covers, among the eligible
// (never anyone already drawn for the line-up). Its stream is draw
// Lineup.Draws+1 of the seed. The line-up with the new member (PROPOSED)
// must meet CheckLineup; exclusions are the replacement's.
func DrawReplacement(in ReplaceInput) (casework.LineupMember, []casework.Exclusion, error) {
	leaving := slices.IndexFunc(in.Lineup.Members, func(m casework.LineupMember) bool {
		return m.ExpertID == in.Leaving && !casework.MemberActive(m.State)
	})
	if leaving < 0 {
		return casework.LineupMember{}, nil, derrors.New(derrors.ErrFailedPrecondition, "line-up %s has no member %s who left",
			in.Lineup.ID, in.Leaving)
	}
	role := in.Lineup.Members[leaving].Role
	onLineup := map[string]string{}
	var remaining []casework.Expert
	for _, m := range in.Lineup.Members {
		onLineup[m.ExpertID] = m.State
		if casework.MemberActive(m.State) {
			if i := slices.IndexFunc(in.Draw.Pool.Experts, func(x casework.Expert) bool { return x.ID == m.ExpertID }); i >= 0 {
				remaining = append(remaining, in.Draw.Pool.Experts[i])
			}
		}
	}
	d, excluded := newDrawer(in.Draw, in.Lineup.Draws+1, onLineup)
	need := uncovered(in.Draw.ContentAreas, remaining)
	ok := func(x casework.Expert) bool {
		switch role {
		case TeamLeader:
			return staff(x) && slices.Contains(leaderRanks, x.Rank)
		case TeamDeputy:
			return staff(x) && slices.Contains(deputyRanks, x.Rank)
		}
		return true
	}
	x, found := d.pick(func(x casework.Expert) bool { return ok(x) && len(uncovered(need, []casework.Expert{x})) == 0 })
	if !found {
		return casework.LineupMember{}, excluded, poolTooSmall(i18n.T("replacement for the %s of line-up %s", i18n.Term(i18n.TeamRole, role), in.Lineup.ID), excluded)
	}
	r := roleOf(x)
	if role == TeamLeader || role == TeamDeputy {
		r = role
	}
	m := d.add(x, r)
	m.Replaces = in.Leaving
	members := append(slices.Clone(in.Lineup.Members), m)
	return m, excluded, CheckLineup(in.Draw.ContentAreas, members, in.Draw.Pool.Experts)
}

// CheckSwap checks that the office may put x in the place of leaving and
// returns the members after it: before the invitations (PROPOSED), in the
// place of an active member, who is swapped out; while they are answered
// (INVITING), in a place left open (Lineup.OpenPlaces: a member declined
// or lapsed and no replacement could be drawn), where x is invited at
// once. x must be eligible for the planned inspection and not already
// drawn, and the line-up after the swap must meet CheckLineup.
func CheckSwap(in DrawInput, l casework.Lineup, leaving string, x casework.Expert, reason string) ([]casework.LineupMember, error) {
	members := slices.Clone(l.Members)
	var i int
	swapIn := casework.LineupMember{ExpertID: x.ID, Name: x.Name, Organisation: x.Organisation, UnitCode: x.UnitCode,
		Subject: x.Subject, Rank: x.Rank, Replaces: leaving}
	if l.State == casework.LineupInviting {
		i = slices.IndexFunc(members, func(m casework.LineupMember) bool { return m.ExpertID == leaving })
		if !slices.ContainsFunc(l.OpenPlaces(), func(m casework.LineupMember) bool { return m.ExpertID == leaving }) {
			return nil, derrors.Invalid("expert_id", "must name a member of line-up %s whose place is open (who declined or let the invitation lapse, and whom nobody replaces yet): %s is not one", l.ID, leaving)
		}
		swapIn.State, swapIn.InvitationID = casework.MemberInvited, InvitationID(l.ID, x.ID)
		swapIn.SetNote(i18n.T("put in by the office in an open place: %s", reason))
	} else {
		i = slices.IndexFunc(members, func(m casework.LineupMember) bool { return m.ExpertID == leaving && casework.MemberActive(m.State) })
		if i < 0 {
			return nil, derrors.Invalid("expert_id", "must name a member on line-up %s (%s is not on it)", l.ID, leaving)
		}
		members[i].State = casework.MemberSwappedOut
		members[i].SetNote(i18n.T("swapped out by the office: %s", reason))
		swapIn.State = casework.MemberProposed
		swapIn.SetNote(i18n.T("swapped in by the office: %s", reason))
	}
	onLineup := map[string]string{}
	for _, m := range l.Members {
		onLineup[m.ExpertID] = m.State
	}
	if reasons := in.exclusionsOf(x, onLineup); len(reasons) > 0 {
		var en, zh []string
		for _, r := range reasons {
			en = append(en, r.Code+": "+r.Detail)
			zh = append(zh, i18n.ExclusionCode(r.Code)+"："+r.DetailZH)
		}
		return nil, derrors.Invalid("replacement_expert_id", "%s (%s) may not be drawn: %s", x.Name, x.ID,
			i18n.Text{EN: strings.Join(en, "; "), ZH: strings.Join(zh, "；")})
	}
	swapIn.Role = members[i].Role
	if swapIn.Role != TeamLeader && swapIn.Role != TeamDeputy {
		swapIn.Role = roleOf(x)
	}
	members = append(members, swapIn)
	pool := append(slices.Clone(in.Pool.Experts), x)
	return members, CheckLineup(in.ContentAreas, members, pool)
}

// ValidateExpert checks a new entry of the pool; field names are the
// AddExpertRequest's.
func ValidateExpert(x casework.Expert) error {
	var v derrors.Violations
	ValidateID(&v, "expert_id", x.ID)
	v.RequireText("expert.name", x.Name, 100)
	v.RequireText("expert.organisation", x.Organisation, 200)
	switch {
	case strings.TrimSpace(x.UnitCode) == "":
		v.Add("expert.unit_code", "must not be empty")
	case !unitCodePattern.MatchString(x.UnitCode):
		v.Add("expert.unit_code", "must be 2–32 letters, digits or \"-\" (an administrative division or organisation code)")
	}
	if !slices.Contains(teamRanks, x.Rank) {
		v.Add("expert.rank", "must be one of %s", strings.Join(teamRanks, ", "))
	}
	if x.Kind != casework.ExpertKindStaff && x.Kind != casework.ExpertKindExpert {
		v.Add("expert.kind", "must be one of %s, %s", casework.ExpertKindStaff, casework.ExpertKindExpert)
	}
	validateContentAreas(&v, "expert.content_areas", x.ContentAreas)
	for i, s := range x.Sectors {
		v.RequireText(fmt.Sprintf("expert.sectors[%d]", i), s, 100)
	}
	if !casework.IsLocalGovernment(x.HomeRegion) {
		v.Add("expert.home_region", "must be a six-digit administrative division code")
	}
	for i, a := range x.Affiliations {
		f := fmt.Sprintf("expert.affiliations[%d]", i)
		if !unitCodePattern.MatchString(a.UnitCode) {
			v.Add(f+".unit_code", "must be 2–32 letters, digits or \"-\"")
		}
		if a.FromYear < 1950 || a.FromYear > 2100 {
			v.Add(f+".from_year", "must be a year from 1950 to 2100")
		}
		if a.ToYear != 0 && (a.ToYear < a.FromYear || a.ToYear > 2100) {
			v.Add(f+".to_year", "must be 0 (to this day) or a year from from_year to 2100")
		}
	}
	for i, u := range x.Unavailable {
		validateUnavailability(&v, fmt.Sprintf("expert.unavailable[%d]", i), u)
	}
	if x.LeftOn != "" {
		v.Add("expert.left_on", "must be empty: a person leaves the pool with LeavePool")
	}
	return v.Err()
}

// ValidateUnavailability checks a window of unavailability named field.
func ValidateUnavailability(field string, u casework.Unavailability) error {
	var v derrors.Violations
	validateUnavailability(&v, field, u)
	return v.Err()
}

func validateUnavailability(v *derrors.Violations, field string, u casework.Unavailability) {
	from, errF := calendar.ParseDate(u.From)
	if errF != nil {
		v.Add(field+".from", "must be a date YYYY-MM-DD")
	}
	to, errT := calendar.ParseDate(u.To)
	if errT != nil {
		v.Add(field+".to", "must be a date YYYY-MM-DD")
	}
	if errF == nil && errT == nil && to.Before(from) {
		v.Add(field+".to", "must not be before from (%s)", from)
	}
	v.RequireText(field+".reason", u.Reason, 500)
}

// validateContentAreas checks a list of the charter's content items (三(一)
// 1–10) named field: at least one, each in range, none twice.
func validateContentAreas(v *derrors.Violations, field string, areas []int) {
	if len(areas) == 0 {
		v.Add(field, "must list at least one of the charter's content items 1 to %d", ContentAreas)
	}
	seen := map[int]bool{}
	for i, a := range areas {
		switch {
		case a < 1 || a > ContentAreas:
			v.Add(fmt.Sprintf("%s[%d]", field, i), "must be the charter's content item 1 to %d", ContentAreas)
		case seen[a]:
			v.Add(fmt.Sprintf("%s[%d]", field, i), "item %d is listed twice", a)
		}
		seen[a] = true
	}
}
