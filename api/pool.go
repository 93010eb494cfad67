package api

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"
	"go.uber.org/zap"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/xuncha/xuncha/calendar"
	"github.com/xuncha/xuncha/casework"
	"github.com/xuncha/xuncha/internal/actor"
	"github.com/xuncha/xuncha/internal/derrors"
	"github.com/xuncha/xuncha/internal/i18n"
	"github.com/xuncha/xuncha/ledger"
	xunchav1 "github.com/xuncha/xuncha/proto/xuncha/v1"
	"github.com/xuncha/xuncha/workflows"
)

// The expert pool's API (issue 15): the pool (ExpertPoolServer), drawn
// line-ups (LineupServer) and invitations (InvitationServer). The draw and
// the team rules are the workflows' (workflows/pool_draw.go); the ledger
// records under one lock; invitations are InvitationWorkflows.

// ExpertPoolServer implements xunchav1.ExpertPoolServiceServer.
type ExpertPoolServer struct {
	xunchav1.UnimplementedExpertPoolServiceServer
	Ledger *ledger.Store
	Log    *zap.Logger
}

// LineupServer implements xunchav1.LineupServiceServer.
type LineupServer struct {
	xunchav1.UnimplementedLineupServiceServer
	Temporal  client.Client
	Ledger    *ledger.Store
	TaskQueue string
	Log       *zap.Logger
}

// InvitationServer implements xunchav1.InvitationServiceServer.
type InvitationServer struct {
	xunchav1.UnimplementedInvitationServiceServer
	Temporal client.Client
	Ledger   *ledger.Store
	Log      *zap.Logger
}

// ---- the pool ----

func expertKind(k xunchav1.Expert_Kind) string {
	if k == xunchav1.Expert_KIND_UNSPECIFIED {
		return ""
	}
	return k.String()
}

func intsOf(in []int32) []int {
	var out []int
	for _, a := range in {
		out = append(out, int(a))
	}
	return out
}

func int32sOf(in []int) []int32 {
	var out []int32
	for _, a := range in {
		out = append(out, int32(a))
	}
	return out
}

func expertProto(x casework.Expert) *xunchav1.Expert {
	out := &xunchav1.Expert{Id: x.ID, Subject: x.Subject, Name: x.Name, Organisation: x.Organisation, UnitCode: x.UnitCode,
		Rank: x.Rank, Kind: xunchav1.Expert_Kind(xunchav1.Expert_Kind_value[x.Kind]), ContentAreas: int32sOf(x.ContentAreas),
		Sectors: x.Sectors, HomeRegion: x.HomeRegion, LeftOn: x.LeftOn, LeaveReason: x.LeaveReason,
		CreateTime: timestamppb.New(x.CreatedAt), Version: int32(x.Version)}
	for _, a := range x.Affiliations {
		out.Affiliations = append(out.Affiliations, &xunchav1.Affiliation{UnitCode: a.UnitCode, FromYear: int32(a.FromYear), ToYear: int32(a.ToYear)})
	}
	for _, u := range x.Unavailable {
		out.Unavailable = append(out.Unavailable, &xunchav1.Unavailability{From: u.From, To: u.To, Reason: u.Reason})
	}
	return out
}

// AddExpert adds a person to the pool.
func (s *ExpertPoolServer) AddExpert(ctx context.Context, req *xunchav1.AddExpertRequest) (*xunchav1.Expert, error) {
	who, err := actor.Require(ctx)
	if err != nil {
		return nil, err
	}
	now := time.Now().UTC().Truncate(time.Microsecond)
	x, err := expertOf(req, who, now)
	if err != nil {
		return nil, err
	}
	if x.ID == "" {
		x.ID = generatedID("x", "", req.GetRequestId())
	}
	stored, created, err := s.Ledger.CreateExpert(ctx, x, casework.Event{Key: "add/" + req.GetRequestId(), Action: "add",
		Actor: who, OccurredAt: now, Note: fmt.Sprintf("%s (%s, %s) joins the pool", x.Name, x.Organisation, x.Rank)})
	if err != nil {
		return nil, err
	}
	if !created {
		// A retry of the request that added them (the idempotency key let
		// it through: same caller, same body) answers as the first did.
		first, err := s.addedBy(ctx, stored.ID, req.GetRequestId())
		if err != nil {
			return nil, err
		}
		if !first {
			return nil, derrors.New(derrors.ErrAlreadyExists, "expert %q already exists", x.ID)
		}
		_ = grpc.SetHeader(ctx, metadata.Pairs(ReplayedHeader, "true"))
	}
	return expertProto(stored), nil
}

// addedBy reports whether expert id was added by the AddExpert of
// requestID (its add event's key).
func (s *ExpertPoolServer) addedBy(ctx context.Context, id, requestID string) (bool, error) {
	events, err := s.Ledger.Events(ctx, casework.SubjectExpert, id)
	if err != nil {
		return false, err
	}
	return slices.ContainsFunc(events, func(e casework.Event) bool { return e.Key == "add/"+requestID }), nil
}

// expertOf is the person an AddExpertRequest adds, checked with the
// pool's rules (workflows.ValidateExpert) together with the request ID;
// the spreadsheet import checks each row with it too.
func expertOf(req *xunchav1.AddExpertRequest, who actor.Actor, now time.Time) (casework.Expert, error) {
	e := req.GetExpert()
	x := casework.Expert{ID: req.GetExpertId(), Subject: e.GetSubject(), Name: e.GetName(), Organisation: e.GetOrganisation(),
		UnitCode: e.GetUnitCode(), Rank: e.GetRank(), Kind: expertKind(e.GetKind()), ContentAreas: intsOf(e.GetContentAreas()),
		Sectors: e.GetSectors(), HomeRegion: e.GetHomeRegion(), LeftOn: e.GetLeftOn(), CreatedBy: who, CreatedAt: now,
		UpdatedAt: now, Version: 1}
	for _, a := range e.GetAffiliations() {
		x.Affiliations = append(x.Affiliations, casework.Affiliation{UnitCode: a.GetUnitCode(), FromYear: int(a.GetFromYear()), ToYear: int(a.GetToYear())})
	}
	for _, u := range e.GetUnavailable() {
		x.Unavailable = append(x.Unavailable, casework.Unavailability{From: u.GetFrom(), To: u.GetTo(), Reason: u.GetReason()})
	}
	var v derrors.Violations
	casework.ValidateRequestID(&v, "request_id", req.GetRequestId())
	if err := errors.Join(v.Err(), workflows.ValidateExpert(x)); err != nil {
		return casework.Expert{}, mergeInvalid(err)
	}
	return x, nil
}

// mergeInvalid joins the violations of several checks into one answer.
func mergeInvalid(err error) error {
	var all derrors.Violations
	var rest []error
	for _, e := range unjoin(err) {
		var inv *derrors.InvalidError
		if errors.As(e, &inv) {
			all = append(all, inv.Violations...)
			continue
		}
		rest = append(rest, e)
	}
	if len(rest) > 0 {
		return errors.Join(rest...)
	}
	return all.Err()
}

func unjoin(err error) []error {
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		return j.Unwrap()
	}
	return []error{err}
}

// GetExpert returns one person of the pool.
func (s *ExpertPoolServer) GetExpert(ctx context.Context, req *xunchav1.GetExpertRequest) (*xunchav1.Expert, error) {
	x, err := s.Ledger.GetExpert(ctx, req.GetId())
	if err != nil {
		return nil, err
	}
	return expertProto(x), nil
}

// ListExperts lists the pool.
func (s *ExpertPoolServer) ListExperts(ctx context.Context, req *xunchav1.ListExpertsRequest) (*xunchav1.ListExpertsResponse, error) {
	size, err := ledger.PageSize(req.GetPageSize())
	if err != nil {
		return nil, err
	}
	list, next, err := s.Ledger.ListExperts(ctx, req.GetIncludeLeft(), size, req.GetPageToken())
	if err != nil {
		return nil, err
	}
	out := &xunchav1.ListExpertsResponse{NextPageToken: next}
	for _, x := range list {
		out.Experts = append(out.Experts, expertProto(x))
	}
	return out, nil
}

// AddUnavailability records a window of unavailability.
func (s *ExpertPoolServer) AddUnavailability(ctx context.Context, req *xunchav1.AddUnavailabilityRequest) (*xunchav1.Expert, error) {
	who, v, err := changeRequestedBy(ctx, req.GetRequestId())
	if err != nil {
		return nil, err
	}
	u := casework.Unavailability{From: req.GetUnavailability().GetFrom(), To: req.GetUnavailability().GetTo(),
		Reason: req.GetUnavailability().GetReason()}
	if err := mergeInvalid(errors.Join(v.Err(), workflows.ValidateUnavailability("unavailability", u))); err != nil {
		return nil, err
	}
	x, err := s.Ledger.ChangeExpert(ctx, req.GetId(), casework.Event{Key: "unavailable/" + req.GetRequestId(), Action: "addUnavailability",
		Actor: who, OccurredAt: time.Now().UTC(), Note: fmt.Sprintf("unavailable from %s to %s: %s", u.From, u.To, u.Reason)},
		func(x *casework.Expert) error {
			x.Unavailable = append(x.Unavailable, u)
			return nil
		})
	if err != nil {
		return nil, err
	}
	return expertProto(x), nil
}

// LeavePool records a person's leaving.
func (s *ExpertPoolServer) LeavePool(ctx context.Context, req *xunchav1.LeavePoolRequest) (*xunchav1.Expert, error) {
	who, v, err := changeRequestedBy(ctx, req.GetRequestId())
	if err != nil {
		return nil, err
	}
	if _, err := calendar.ParseDate(req.GetLeftOn()); err != nil {
		v.Add("left_on", "must be a date YYYY-MM-DD")
	}
	if strings.TrimSpace(req.GetReason()) == "" {
		v.Add("reason", "must not be empty: a person leaves the pool with a reason")
	}
	if err := v.Err(); err != nil {
		return nil, err
	}
	x, err := s.Ledger.ChangeExpert(ctx, req.GetId(), casework.Event{Key: "leave/" + req.GetRequestId(), Action: "leave",
		Actor: who, OccurredAt: time.Now().UTC(), Note: req.GetLeftOn() + ": " + req.GetReason()},
		func(x *casework.Expert) error {
			if x.LeftOn != "" {
				return derrors.StageError{Reason: "ALREADY_LEFT", Subject: "expert/" + x.ID, Action: "leave"}.
					Says("expert %s left the pool on %s", x.ID, x.LeftOn)
			}
			x.LeftOn, x.LeaveReason = req.GetLeftOn(), req.GetReason()
			return nil
		})
	if err != nil {
		return nil, err
	}
	return expertProto(x), nil
}

// GetPoolStatistics counts a year's draws and answers.
func (s *ExpertPoolServer) GetPoolStatistics(ctx context.Context, req *xunchav1.GetPoolStatisticsRequest) (*xunchav1.PoolStatistics, error) {
	if y := req.GetYear(); y < int32(calendar.EarliestDate.Year) || y > int32(calendar.LatestDate.Year) {
		return nil, derrors.Invalid("year", "must be a year from %d to %d", calendar.EarliestDate.Year, calendar.LatestDate.Year)
	}
	st, err := s.Ledger.PoolStatistics(ctx, int(req.GetYear()))
	if err != nil {
		return nil, err
	}
	tally := func(t ledger.PoolTally) *xunchav1.PoolTally {
		return &xunchav1.PoolTally{ExpertId: t.ExpertID, Name: t.Name, UnitCode: t.UnitCode, Drawn: int32(t.Drawn),
			SwappedIn: int32(t.SwappedIn), Invited: int32(t.Invited), Accepted: int32(t.Accepted), Declined: int32(t.Declined),
			Unjustified: int32(t.Unjustified), Expired: int32(t.Expired)}
	}
	out := &xunchav1.PoolStatistics{Year: req.GetYear()}
	for _, t := range st.Experts {
		out.Experts = append(out.Experts, tally(t))
	}
	for _, t := range st.Units {
		out.Units = append(out.Units, tally(t))
	}
	return out, nil
}

// dataOf is an event's data: details that always encode as JSON.
func dataOf(v map[string]any) json.RawMessage {
	b, err := json.Marshal(v)
	if err != nil {
		return json.RawMessage(`{}`)
	}
	return b
}

// ---- line-ups ----

func lineupProto(lang i18n.Lang, l casework.Lineup) *xunchav1.Lineup {
	out := &xunchav1.Lineup{Id: l.ID, UnitCode: l.UnitCode, UnitName: l.UnitName, PlannedStart: l.PlannedStart,
		PlannedEnd: l.PlannedEnd, ContentAreas: int32sOf(l.ContentAreas), Seed: l.Seed, ConflictYears: int32(l.ConflictYears),
		TeamSize: int32(l.TeamSize), State: l.State, Draws: int32(l.Draws), InspectionId: l.InspectionID,
		CreateTime: timestamppb.New(l.CreatedAt), Version: int32(l.Version)}
	for _, m := range l.Members {
		out.Members = append(out.Members, &xunchav1.LineupMember{ExpertId: m.ExpertID, Name: m.Name, Organisation: m.Organisation,
			UnitCode: m.UnitCode, Role: m.Role, Rank: m.Rank, State: m.State, Draw: int32(m.Draw), Replaces: m.Replaces,
			InvitationId: m.InvitationID, Note: i18n.Text{EN: m.Note, ZH: m.NoteZH}.In(lang)})
	}
	for _, e := range l.Exclusions {
		pe := &xunchav1.Exclusion{ExpertId: e.ExpertID, Name: e.Name}
		for _, r := range e.Reasons {
			pe.Reasons = append(pe.Reasons, &xunchav1.ExclusionReason{Code: r.Code, Detail: i18n.Text{EN: r.Detail, ZH: r.DetailZH}.In(lang)})
		}
		out.Exclusions = append(out.Exclusions, pe)
	}
	return out
}

// randomSeed is the seed of a draw that asked for none: recorded with the
// line-up, so the draw can still be repeated.
func randomSeed() (int64, error) {
	var b [8]byte
	if _, err := rand.Read(b[:]); err != nil {
		return 0, fmt.Errorf("drawing a seed: %w", err)
	}
	return int64(binary.BigEndian.Uint64(b[:]) >> 1), nil
}

// DrawLineup draws a proposed line-up from the pool.
func (s *LineupServer) DrawLineup(ctx context.Context, req *xunchav1.DrawLineupRequest) (*xunchav1.Lineup, error) {
	who, v, err := changeRequestedBy(ctx, req.GetRequestId())
	if err != nil {
		return nil, err
	}
	in := workflows.DrawInput{UnitCode: req.GetUnitCode(), PlannedStart: req.GetPlannedStart(), PlannedEnd: req.GetPlannedEnd(),
		ContentAreas: intsOf(req.GetContentAreas()), TeamSize: int(req.GetTeamSize()), ConflictYears: workflows.DefaultConflictYears}
	if req.ConflictYears != nil {
		in.ConflictYears = int(req.GetConflictYears())
	}
	workflows.ValidateID(&v, "lineup_id", req.GetLineupId())
	if strings.TrimSpace(req.GetUnitName()) == "" {
		v.Add("unit_name", "must not be empty")
	}
	if err := mergeInvalid(errors.Join(v.Err(), renameFields(in.Validate(), "lineup.", ""))); err != nil {
		return nil, err
	}
	if req.Seed != nil {
		in.Seed = req.GetSeed()
	} else if in.Seed, err = randomSeed(); err != nil {
		return nil, err
	}
	id := req.GetLineupId()
	if id == "" {
		id = generatedID("l", "", req.GetRequestId())
	}
	// Two tries: a draw that lost a race for a person (EXPERT_BOOKED) is
	// drawn again from the pool as it is now.
	for try := 0; ; try++ {
		if in.Pool, err = s.Ledger.Candidates(ctx, in.PlannedStart, in.PlannedEnd, id); err != nil {
			return nil, err
		}
		res, err := workflows.Draw(in)
		if err != nil {
			return nil, err
		}
		now := time.Now().UTC().Truncate(time.Microsecond)
		l := casework.Lineup{ID: id, RequestID: req.GetRequestId(), UnitCode: in.UnitCode, UnitName: req.GetUnitName(),
			PlannedStart: in.PlannedStart, PlannedEnd: in.PlannedEnd, ContentAreas: in.ContentAreas, Seed: in.Seed,
			ConflictYears: in.ConflictYears, TeamSize: in.TeamSize, State: casework.LineupProposed, Members: res.Members,
			Exclusions: res.Exclusions, Draws: 1, CreatedBy: who, CreatedAt: now, UpdatedAt: now, Version: 1}
		stored, created, err := s.Ledger.RecordLineup(ctx, l, casework.Event{Key: "draw", Action: "draw", StageAfter: casework.LineupProposed,
			Actor: who, OccurredAt: now, Note: fmt.Sprintf("drawn with seed %d: %d people, %d excluded", in.Seed, len(res.Members),
				len(res.Exclusions)),
			Data: dataOf(map[string]any{"seed": in.Seed, "conflict_years": in.ConflictYears, "team_size": in.TeamSize,
				"members": res.Members, "exclusions": res.Exclusions})})
		var booked *derrors.StageError
		if errors.As(err, &booked) && booked.Reason == "EXPERT_BOOKED" && try == 0 {
			continue
		}
		if err != nil {
			return nil, err
		}
		if !created && stored.RequestID != req.GetRequestId() {
			return nil, derrors.New(derrors.ErrAlreadyExists, "line-up %q already exists, drawn by another request", id)
		}
		return lineupProto(i18n.FromContext(ctx), stored), nil
	}
}

// renameFields replaces a prefix of the violations' field names.
func renameFields(err error, from, to string) error {
	var inv *derrors.InvalidError
	if !errors.As(err, &inv) {
		return err
	}
	var v derrors.Violations
	for _, fv := range inv.Violations {
		v = append(v, derrors.FieldViolation{Field: to + strings.TrimPrefix(fv.Field, from), Rule: fv.Rule, RuleZH: fv.RuleZH})
	}
	return v.Err()
}

// GetLineup returns a line-up.
func (s *LineupServer) GetLineup(ctx context.Context, req *xunchav1.GetLineupRequest) (*xunchav1.Lineup, error) {
	l, err := s.Ledger.GetLineup(ctx, req.GetId())
	if err != nil {
		return nil, err
	}
	return lineupProto(i18n.FromContext(ctx), l), nil
}

// lineupStage refuses a step the line-up's state does not allow.
func lineupStage(l *casework.Lineup, action string, allowed ...string) error {
	if slices.Contains(allowed, l.State) {
		return nil
	}
	return derrors.StageError{Reason: "STAGE_NOT_ALLOWED", Subject: "lineup/" + l.ID, Action: action, Stage: l.State}.
		Says("line-up %s is %s: %s needs %s", l.ID, i18n.Term(i18n.LineupState, l.State), i18n.Term(i18n.LineupAction, action),
			i18n.Alternatives(i18n.LineupState, allowed...))
}

// SwapLineupMember puts another person in a member's place: before the
// invitations, in an active member's; while they are answered, in a place
// left open (a member declined or lapsed and nobody replaces them yet,
// typically because no replacement could be drawn), and invites them.
func (s *LineupServer) SwapLineupMember(ctx context.Context, req *xunchav1.SwapLineupMemberRequest) (*xunchav1.Lineup, error) {
	who, v, err := changeRequestedBy(ctx, req.GetRequestId())
	if err != nil {
		return nil, err
	}
	if req.GetExpertId() == "" {
		v.Add("expert_id", "must name the member leaving the line-up")
	}
	if req.GetReplacementExpertId() == "" {
		v.Add("replacement_expert_id", "must name the person of the pool taking their place")
	}
	if strings.TrimSpace(req.GetReason()) == "" {
		v.Add("reason", "must not be empty: the office swaps a person with a reason")
	}
	if err := v.Err(); err != nil {
		return nil, err
	}
	x, err := s.Ledger.GetExpert(ctx, req.GetReplacementExpertId())
	if errors.Is(err, derrors.ErrNotFound) {
		return nil, derrors.Invalid("replacement_expert_id", "must name a person of the pool (%s is not one)", req.GetReplacementExpertId())
	}
	if err != nil {
		return nil, err
	}
	current, err := s.Ledger.GetLineup(ctx, req.GetId())
	if err != nil {
		return nil, err
	}
	pool, err := s.Ledger.Candidates(ctx, current.PlannedStart, current.PlannedEnd, current.ID)
	if err != nil {
		return nil, err
	}
	l, err := s.Ledger.ChangeLineup(ctx, req.GetId(), casework.Event{Key: "swap/" + req.GetRequestId(), Action: "swap", Actor: who,
		OccurredAt: time.Now().UTC(), Note: fmt.Sprintf("%s swapped in for %s: %s", x.ID, req.GetExpertId(), req.GetReason()),
		Data: dataOf(map[string]any{"leaving": req.GetExpertId(), "replacement": x.ID, "reason": req.GetReason()})},
		func(l *casework.Lineup) error {
			if err := lineupStage(l, "swap", casework.LineupProposed, casework.LineupInviting); err != nil {
				return err
			}
			members, err := workflows.CheckSwap(workflows.DrawInput{UnitCode: l.UnitCode, PlannedStart: l.PlannedStart,
				PlannedEnd: l.PlannedEnd, ContentAreas: l.ContentAreas, ConflictYears: l.ConflictYears, Pool: pool},
				*l, req.GetExpertId(), x, req.GetReason())
			if err != nil {
				return err
			}
			l.Members = members
			return nil
		})
	if err != nil {
		return nil, err
	}
	// Put in an open place, the person is invited now (a retry of the swap
	// finds the line-up changed by it and starts the invitation if an
	// earlier try did not).
	if i := slices.IndexFunc(l.Members, func(m casework.LineupMember) bool {
		return m.ExpertID == x.ID && m.State == casework.MemberInvited && m.Replaces == req.GetExpertId()
	}); i >= 0 {
		m := l.Members[i]
		err := s.startInvitation(ctx, workflows.InvitationInput{ID: m.InvitationID, RequestID: "swap/" + l.ID + "/" + x.ID,
			LineupID: l.ID, Member: m, SecondFrom: l.PlannedStart, SecondTo: l.PlannedEnd, InspectedUnit: l.UnitName,
			InvitedBy: who})
		// ALREADY_EXISTS: the leaving member's own replacement draw, which
		// raced this fill, found the person in the place and invited them.
		// The invitation's first write leaves the line-up as the swap
		// wrote it (its member INVITED already): nothing to read again.
		if err != nil && !errors.Is(err, derrors.ErrAlreadyExists) {
			return nil, afterWrite(ctx, err)
		}
	}
	return lineupProto(i18n.FromContext(ctx), l), nil
}

// SendInvitations invites every member and starts their invitations'
// workflows; a retry, or a sending again while the line-up is INVITING,
// starts those not yet started. The event's key is the request's: a
// sending after the line-up moved on (COMPLETE, CANCELLED) is refused,
// whatever its request_id (until 2026-12-01 one key for all made any
// second sending a retry, answered 200 on a cancelled line-up).
func (s *LineupServer) SendInvitations(ctx context.Context, req *xunchav1.SendInvitationsRequest) (*xunchav1.Lineup, error) {
	who, v, err := changeRequestedBy(ctx, req.GetRequestId())
	if err != nil {
		return nil, err
	}
	if err := v.Err(); err != nil {
		return nil, err
	}
	l, err := s.Ledger.ChangeLineup(ctx, req.GetId(), casework.Event{Key: "invite/" + req.GetRequestId(), Action: "invite", Actor: who,
		OccurredAt: time.Now().UTC(), Note: "invitations sent"}, func(l *casework.Lineup) error {
		if err := lineupStage(l, "invite", casework.LineupProposed, casework.LineupInviting); err != nil {
			return err
		}
		if l.State == casework.LineupInviting {
			// Sent again: the members are invited already; only the
			// invitations' workflows are started again (below). Writing
			// nothing keeps the line-up's version, which a replacement's
			// write checks.
			return ledger.ErrNoChange
		}
		l.State = casework.LineupInviting
		for i, m := range l.Members {
			if m.State == casework.MemberProposed {
				l.Members[i].State = casework.MemberInvited
				l.Members[i].InvitationID = workflows.InvitationID(l.ID, m.ExpertID)
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	// Every member is invited even when one invitation fails: a sending
	// again starts the ones that failed, and finds the others started.
	var failed error
	for _, m := range l.Members {
		if m.InvitationID == "" {
			continue
		}
		in := workflows.InvitationInput{ID: m.InvitationID, RequestID: "invite/" + l.ID, LineupID: l.ID, Member: m,
			SecondFrom: l.PlannedStart, SecondTo: l.PlannedEnd, InspectedUnit: l.UnitName, InvitedBy: who}
		if m.Draw > 1 {
			// A replacement: the invitation that drew it starts it, as
			// here (the first to start it wins, the other finds it). A run
			// that failed before its first write left the member INVITED
			// with no invitation to answer, and the line-up INVITING for
			// good: a sending again starts it again.
			in.RequestID, in.InvitedBy = workflows.ReplacementRequestID(workflows.InvitationID(l.ID, m.Replaces)), actor.System
		}
		if err := s.startInvitation(ctx, in); err != nil && failed == nil {
			failed = err
		}
	}
	if failed != nil {
		return nil, failed
	}
	if l, err = s.Ledger.GetLineup(ctx, l.ID); err != nil {
		return nil, err
	}
	return lineupProto(i18n.FromContext(ctx), l), nil
}

// startInvitation starts an invitation's workflow, or finds it started,
// and returns once the ledger holds it. A run that failed before its first
// write (a year without calendar data for its deadline, the ledger away)
// may be started again: with REJECT_DUPLICATE it blocked its line-up for
// good, each sending answered 500.
func (s *LineupServer) startInvitation(ctx context.Context, in workflows.InvitationInput) error {
	_, err := sendCreate[workflows.InvitationState](ctx, s.Temporal, client.StartWorkflowOptions{
		ID:                    workflows.InvitationWorkflowID(in.ID),
		TaskQueue:             s.TaskQueue,
		WorkflowIDReusePolicy: enumspb.WORKFLOW_ID_REUSE_POLICY_ALLOW_DUPLICATE_FAILED_ONLY,
	}, workflows.InvitationWorkflowName, in, in.RequestID)
	var started *serviceerror.WorkflowExecutionAlreadyStarted
	if errors.As(err, &started) {
		if _, gerr := s.Ledger.GetInvitation(ctx, in.ID); gerr == nil {
			return nil // finished already: answered, and in the ledger
		}
	}
	if err != nil {
		return derrors.FromTemporal(err)
	}
	return nil
}

// ApproveLineup approves a COMPLETE line-up.
func (s *LineupServer) ApproveLineup(ctx context.Context, req *xunchav1.LineupActionRequest) (*xunchav1.Lineup, error) {
	who, v, err := changeRequestedBy(ctx, req.GetRequestId())
	if err != nil {
		return nil, err
	}
	if err := v.Err(); err != nil {
		return nil, err
	}
	// Read before the line-up is locked: refused in the write, after a
	// retry is answered and the stage is checked.
	cannotServe, err := s.cannotServe(ctx, req.GetId())
	if err != nil {
		return nil, err
	}
	l, err := s.Ledger.ChangeLineup(ctx, req.GetId(), casework.Event{Key: "approve/" + req.GetRequestId(), Action: "approve", Actor: who,
		OccurredAt: time.Now().UTC(), Note: req.GetNote()}, func(l *casework.Lineup) error {
		if err := lineupStage(l, "approve", casework.LineupComplete); err != nil {
			return err
		}
		if cannotServe != nil {
			return cannotServe
		}
		if err := workflows.CheckLineupTeam(l.Members); err != nil {
			return err
		}
		l.State = casework.LineupApproved
		return nil
	})
	if err != nil {
		return nil, err
	}
	return lineupProto(i18n.FromContext(ctx), l), nil
}

// cannotServe is the refusal of line-up id's approval, or of an
// inspection's taking it, while a member can no longer serve it
// (workflows.DrawInput.NoLongerEligible): one who left the pool or became
// unavailable after accepting was approved, and became the inspection's
// team. Nil when every member can.
func (s *LineupServer) cannotServe(ctx context.Context, id string) (*derrors.StageError, error) {
	l, err := s.Ledger.GetLineup(ctx, id)
	if err != nil {
		return nil, err
	}
	return lineupCannotServe(ctx, s.Ledger, l, "approve")
}

// lineupCannotServe is cannotServe of line-up l, read, for action.
func lineupCannotServe(ctx context.Context, store *ledger.Store, l casework.Lineup, action string) (*derrors.StageError, error) {
	in := workflows.DrawInput{UnitCode: l.UnitCode, PlannedStart: l.PlannedStart, PlannedEnd: l.PlannedEnd, ConflictYears: l.ConflictYears}
	var en, zh []string
	for _, m := range l.Active() {
		x, err := store.GetExpert(ctx, m.ExpertID)
		if err != nil {
			return nil, err
		}
		for _, r := range in.NoLongerEligible(x) {
			en = append(en, fmt.Sprintf("%s (%s): %s", m.Name, m.ExpertID, r.Detail))
			zh = append(zh, fmt.Sprintf("%s（%s）：%s", m.Name, m.ExpertID, r.DetailZH))
		}
	}
	if len(en) == 0 {
		return nil, nil
	}
	return derrors.StageError{Reason: "MEMBER_CANNOT_SERVE", Subject: "lineup/" + l.ID, Action: action, Stage: l.State}.
		Says("line-up %s has members who can no longer serve it (%s): cancel it and draw again", l.ID,
			i18n.Text{EN: strings.Join(en, "; "), ZH: strings.Join(zh, "；")}), nil
}

// CancelLineup calls a line-up off: its members not yet answered are
// withdrawn, then their invitations (a retry withdraws those an earlier
// try could not reach), and lineup.cancelled names those who had accepted.
func (s *LineupServer) CancelLineup(ctx context.Context, req *xunchav1.CancelLineupRequest) (*xunchav1.Lineup, error) {
	who, v, err := changeRequestedBy(ctx, req.GetRequestId())
	if err != nil {
		return nil, err
	}
	v.RequireText("reason", req.GetReason(), 1000)
	if err := v.Err(); err != nil {
		return nil, err
	}
	reason := req.GetReason()
	l, err := s.Ledger.ChangeLineup(ctx, req.GetId(), casework.Event{Key: "cancel/" + req.GetRequestId(), Action: "cancel", Actor: who,
		OccurredAt: time.Now().UTC(), Note: reason, Data: dataOf(map[string]any{"reason": reason})},
		func(l *casework.Lineup) error {
			if err := lineupStage(l, "cancel", casework.LineupProposed, casework.LineupInviting, casework.LineupComplete,
				casework.LineupApproved); err != nil {
				return err
			}
			l.Cancel(reason)
			return nil
		})
	if err != nil {
		return nil, err
	}
	if l.State != casework.LineupCancelled {
		// This request's cancel is recorded, so the line-up was cancelled;
		// it cannot have left CANCELLED since.
		return nil, fmt.Errorf("line-up %s is %s after its cancel", l.ID, l.State)
	}
	accepted := []map[string]any{}
	for _, m := range l.Members {
		switch {
		case m.State == casework.MemberAccepted:
			accepted = append(accepted, map[string]any{"expert_id": m.ExpertID, "name": m.Name, "unit_code": m.UnitCode,
				"organisation": m.Organisation, "team_role": m.Role, "invitation_id": m.InvitationID})
		case m.State == casework.MemberWithdrawn && m.InvitationID != "":
			if err := s.withdrawInvitation(ctx, m.InvitationID, req.GetRequestId(), l.ID, reason); err != nil {
				return nil, afterWrite(ctx, err)
			}
		}
	}
	payload, err := json.Marshal(map[string]any{"type": workflows.EventLineupCancelled, "occurred_at": l.UpdatedAt,
		"data": map[string]any{"lineup_id": l.ID, "unit_code": l.UnitCode, "unit_name": l.UnitName, "from": l.PlannedStart,
			"to": l.PlannedEnd, "reason": reason, "accepted": accepted}})
	if err != nil {
		return nil, err
	}
	if _, _, err := s.Ledger.QueueEvent(ctx, workflows.EventLineupCancelled, "lineup/"+l.ID+"/cancel", payload); err != nil {
		return nil, afterWrite(ctx, err)
	}
	// The withdrawals leave the line-up as the cancel wrote it (its
	// members WITHDRAWN already): nothing to read again.
	return lineupProto(i18n.FromContext(ctx), l), nil
}

// afterWrite is an error met after a change was written to the ledger:
// never a refusal that changed nothing, which would free the request_id
// for another body (withIdempotency) while the change stands, but
// UNAVAILABLE, for the client to retry the same request, which finds the
// change written and does what is left.
func afterWrite(ctx context.Context, err error) error {
	if err == nil || !changedNothing(err) {
		return err
	}
	lang := i18n.FromContext(ctx)
	why := toStatus(err, zap.NewNop(), lang).Message()
	return status.New(codes.Unavailable, lang.Say("the change is recorded but not finished (%s); retry the same request", why)).Err()
}

// withdrawInvitation withdraws the invitation of a member of a cancelled
// line-up. An invitation already ended (answered, lapsed, withdrawn) or not
// yet written is left: its ledger write is refused on the cancelled
// line-up.
func (s *LineupServer) withdrawInvitation(ctx context.Context, id, requestID, lineupID, reason string) error {
	note := i18n.T("line-up %s was cancelled: %s", lineupID, reason)
	clip := func(s string) string { return i18n.Clip(s, workflows.MaxWithdrawReason) }
	_, err := sendChange(ctx, s.Temporal, s.Ledger, invitationAPI, lifecycleChange{
		req:    &xunchav1.AnswerInvitationRequest{Id: id, RequestId: requestID},
		action: workflows.ActionWithdrawInvitation,
		input:  &workflows.WithdrawInvitationInput{Reason: clip(note.EN), ReasonZH: clip(note.ZH)},
	})
	// Ended already (answered, lapsed, withdrawn), its workflow gone, or not
	// written yet: nothing to withdraw. Still being recorded is not done:
	// the client retries.
	var stage *derrors.StageError
	switch {
	case err == nil, errors.Is(err, derrors.ErrNotFound):
		return nil
	case errors.As(err, &stage) && (stage.Reason == "STAGE_NOT_ALLOWED" || stage.Reason == "WORKFLOW_NOT_RUNNING"):
		return nil
	}
	return err
}

// lineupTeam is the team of an inspection created from line-up id: the
// line-up must be APPROVED (or USED by this very inspection, a retry) and
// drawn for the inspection's unit, dates and content areas; it becomes
// USED.
func lineupTeam(ctx context.Context, l *ledger.Store, id string, in workflows.InspectionInput, who actor.Actor) ([]casework.TeamMember, error) {
	var v derrors.Violations
	if len(in.Team) > 0 {
		v.Add("inspection.team", "must be empty when lineup_id names the line-up whose members are the team")
	}
	lu, err := l.GetLineup(ctx, id)
	if errors.Is(err, derrors.ErrNotFound) {
		return nil, derrors.Invalid("lineup_id", "must name a drawn line-up (%s is not one)", id)
	}
	if err != nil {
		return nil, err
	}
	if lu.UnitCode != in.Unit.Code {
		v.Add("inspection.unit.code", "must be %s, the unit line-up %s was drawn for", lu.UnitCode, id)
	}
	if lu.PlannedStart != in.PlannedStart || lu.PlannedEnd != in.PlannedEnd {
		v.Add("inspection.planned_start", "must be the line-up's dates, %s to %s", lu.PlannedStart, lu.PlannedEnd)
	}
	if !slices.Equal(slices.Sorted(slices.Values(lu.ContentAreas)), slices.Sorted(slices.Values(in.ContentAreas))) {
		v.Add("inspection.content_areas", "must be the line-up's content areas %v", lu.ContentAreas)
	}
	if err := v.Err(); err != nil {
		return nil, err
	}
	if lu.State == casework.LineupUsed && lu.InspectionID == in.ID {
		return lu.Team(), nil // a retry: taken already
	}
	// A member who left the pool or became unavailable after the
	// approval is not taken into the team.
	cannotServe, err := lineupCannotServe(ctx, l, lu, "use")
	if err != nil {
		return nil, err
	}
	// The key names the version the line-up is taken at: a line-up freed
	// again (releaseLineup) may be taken anew, by the same inspection ID too.
	used, err := l.ChangeLineup(ctx, id, casework.Event{Key: fmt.Sprintf("use/%s/%d", in.ID, lu.Version), Action: "use", Actor: who,
		OccurredAt: time.Now().UTC(), Note: "the team of inspection " + in.ID}, func(lu *casework.Lineup) error {
		if err := lineupStage(lu, "use", casework.LineupApproved); err != nil {
			return err
		}
		if cannotServe != nil {
			return cannotServe
		}
		lu.State, lu.InspectionID = casework.LineupUsed, in.ID
		return nil
	})
	if err != nil {
		return nil, err
	}
	if used.InspectionID != in.ID {
		return nil, lineupStage(&used, "use", casework.LineupApproved)
	}
	return used.Team(), nil
}

// errNotTaken stops releaseLineup's change: the line-up is no longer the
// one the refused inspection took.
var errNotTaken = errors.New("line-up not taken by the inspection")

// releaseLineup frees line-up id again after the inspection it was taken
// for (lineupTeam) was refused: USED by inspectionID, an inspection the
// ledger does not hold, it is APPROVED again, with a "release" event. A
// line-up that an inspection of the ledger uses (another request created
// inspectionID: that is why this one was refused), or that is not USED, is
// left as it is.
func releaseLineup(ctx context.Context, l *ledger.Store, id, inspectionID string, who actor.Actor) error {
	lu, err := l.GetLineup(ctx, id)
	if err != nil || lu.State != casework.LineupUsed || lu.InspectionID != inspectionID {
		return err
	}
	switch _, err := l.GetInspection(ctx, inspectionID); {
	case err == nil:
		return nil
	case !errors.Is(err, derrors.ErrNotFound):
		return err
	}
	_, err = l.ChangeLineup(ctx, id, casework.Event{Key: fmt.Sprintf("release/%s/%d", inspectionID, lu.Version), Action: "release",
		Actor: who, OccurredAt: time.Now().UTC(), Note: "inspection " + inspectionID + " was not created: the line-up is free again"},
		func(lu *casework.Lineup) error {
			if lu.State != casework.LineupUsed || lu.InspectionID != inspectionID {
				return errNotTaken
			}
			lu.State, lu.InspectionID = casework.LineupApproved, ""
			return nil
		})
	if errors.Is(err, errNotTaken) {
		return nil
	}
	return err
}

// ---- invitations ----

// invitationProto is an invitation as the API answers it, its deadline
// explained in lang.
func invitationProto(lang i18n.Lang, inv casework.Invitation) *xunchav1.Invitation {
	out := &xunchav1.Invitation{Id: inv.ID, LineupId: inv.LineupID, ExpertId: inv.ExpertID, Name: inv.ExpertName,
		UnitCode: inv.UnitCode, Organisation: inv.Organisation, TeamRole: inv.TeamRole, Stage: inv.Stage,
		SecondFrom: inv.SecondFrom, SecondTo: inv.SecondTo, InvitedOn: inv.InvitedOn, DeclineReason: inv.DeclineReason,
		Judgement: inv.Judgement, JudgeNote: inv.JudgeNote, ReplacedBy: inv.ReplacedBy, Note: i18n.Text{EN: inv.Note, ZH: inv.NoteZH}.In(lang), Version: int32(inv.Version)}
	if d := inv.AnswerDeadline; d != nil {
		out.AnswerDue, out.AnswerDueExplanation = d.Due.String(), d.ExplanationIn(lang)
	}
	return out
}

// invitationInReach answers NOT_FOUND for an invitation out of the
// caller's reach: a person (role expert) reaches their own only.
func invitationInReach(ctx context.Context, l *ledger.Store, id string) error {
	return inReach(ctx, l, casework.SubjectInvitation, id)
}

// GetInvitation returns one invitation.
func (s *InvitationServer) GetInvitation(ctx context.Context, req *xunchav1.GetInvitationRequest) (*xunchav1.Invitation, error) {
	if err := invitationInReach(ctx, s.Ledger, req.GetId()); err != nil {
		return nil, err
	}
	inv, err := s.Ledger.GetInvitation(ctx, req.GetId())
	if err != nil {
		return nil, err
	}
	return invitationProto(i18n.FromContext(ctx), inv), nil
}

// ListInvitations lists a page of a line-up's or a person's invitations;
// a person (role expert) lists their own whatever they ask.
func (s *InvitationServer) ListInvitations(ctx context.Context, req *xunchav1.ListInvitationsRequest) (*xunchav1.ListInvitationsResponse, error) {
	size, err := ledger.PageSize(req.GetPageSize())
	if err != nil {
		return nil, err
	}
	if st := req.GetStage(); st != "" && !slices.Contains(workflows.InvitationStages, st) {
		return nil, derrors.Invalid("stage", "must be one of %s", strings.Join(workflows.InvitationStages, ", "))
	}
	expertID := req.GetExpertId()
	if r := reachOf(ctx); !r.Province() {
		x, err := s.Ledger.ExpertBySubject(ctx, r.Subject)
		if errors.Is(err, derrors.ErrNotFound) || r.Subject == "" {
			// Nobody of the pool: no invitations, but a forged token is
			// still refused, as for anyone.
			if err := ledger.CheckPageToken(req.GetPageToken()); err != nil {
				return nil, err
			}
			return &xunchav1.ListInvitationsResponse{}, nil
		}
		if err != nil {
			return nil, err
		}
		expertID = x.ID
	}
	list, next, err := s.Ledger.ListInvitations(ctx, req.GetLineupId(), expertID, req.GetStage(), size, req.GetPageToken())
	if err != nil {
		return nil, err
	}
	out := &xunchav1.ListInvitationsResponse{NextPageToken: next}
	for _, inv := range list {
		out.Invitations = append(out.Invitations, invitationProto(i18n.FromContext(ctx), inv))
	}
	return out, nil
}

// invitationAPI is the invitation lifecycle for the one change path.
var invitationAPI = lifecycleAPI[workflows.InvitationState, casework.Invitation, *xunchav1.Invitation]{
	machine: workflows.InvitationMachine,
	get:     (*ledger.Store).GetInvitation,
	fromState: func(ctx context.Context, _ *ledger.Store, st workflows.InvitationState) (*xunchav1.Invitation, error) {
		return invitationProto(i18n.FromContext(ctx), st.Invitation), nil
	},
	fromRow: func(ctx context.Context, _ *ledger.Store, inv casework.Invitation) (*xunchav1.Invitation, error) {
		return invitationProto(i18n.FromContext(ctx), inv), nil
	},
}

// AcceptInvitation accepts an invitation.
func (s *InvitationServer) AcceptInvitation(ctx context.Context, req *xunchav1.AnswerInvitationRequest) (*xunchav1.Invitation, error) {
	return sendChange(ctx, s.Temporal, s.Ledger, invitationAPI, lifecycleChange{req: req, action: workflows.ActionAcceptInvitation,
		input: &workflows.AnswerInvitationInput{Reason: req.GetReason()}})
}

// DeclineInvitation declines an invitation with a reason.
func (s *InvitationServer) DeclineInvitation(ctx context.Context, req *xunchav1.AnswerInvitationRequest) (*xunchav1.Invitation, error) {
	return sendChange(ctx, s.Temporal, s.Ledger, invitationAPI, lifecycleChange{req: req, action: workflows.ActionDeclineInvitation,
		input: &workflows.DeclineInvitationInput{Reason: req.GetReason()}})
}

// JudgeDecline judges a decline's reason.
func (s *InvitationServer) JudgeDecline(ctx context.Context, req *xunchav1.JudgeDeclineRequest) (*xunchav1.Invitation, error) {
	return sendChange(ctx, s.Temporal, s.Ledger, invitationAPI, lifecycleChange{req: req, action: workflows.ActionJudgeDecline,
		input: &workflows.JudgeDeclineInput{Judgement: req.GetJudgement(), Note: req.GetNote()}})
}
