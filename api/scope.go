package api

import (
	"context"
	"errors"
	"strings"

	"github.com/xuncha/xuncha/casework"
	"github.com/xuncha/xuncha/internal/actor"
	"github.com/xuncha/xuncha/internal/authn"
	"github.com/xuncha/xuncha/internal/derrors"
	"github.com/xuncha/xuncha/ledger"
	xunchav1 "github.com/xuncha/xuncha/proto/xuncha/v1"
	"github.com/xuncha/xuncha/workflows"
)

// reachFor is the scope rule (issue 10 item 4): which objects a caller
// permitted on a row of the authorization table reaches. On rows of scope
// ScopeUnitOrTeam or ScopeTeam a unit user reaches the objects of the unit
// codes in its token, and the team roles the inspections whose team lists
// their token's subject (with their findings, interviews, exposures and
// tips); the office, the committee and the auditor reach the province, as
// does every caller on a ScopeProvince row. A receiving body reaches the
// findings referred to the organisation its token names, and nothing else,
// whatever the row's scope. Evidence is in reach of a unit
// or team caller when it uploaded it or an object in its reach names it.
func reachFor(scope Scope, role string, id authn.Identity) ledger.Reach {
	if scope == ScopeProvince && role != actor.RoleReceiver {
		return ledger.Reach{}
	}
	switch role {
	case actor.RoleUnit:
		return ledger.Reach{ByUnit: true, Units: id.Units, Subject: id.Subject}
	case actor.RoleTeamLeader, actor.RoleTeamMember:
		return ledger.Reach{ByTeam: true, Subject: id.Subject}
	case actor.RoleReceiver:
		return ledger.Reach{ByReceiver: true, Receiver: id.Organisation, Subject: id.Subject}
	case actor.RoleExpert:
		// A person of the pool reaches no unit's objects, only their own
		// invitations (by subject, ledger.InReach).
		return ledger.Reach{ByUnit: true, Subject: id.Subject}
	}
	return ledger.Reach{}
}

type reachKey struct{}

// withReach returns ctx carrying the caller's reach; the interceptor and the
// evidence guard set it with the actor.
func withReach(ctx context.Context, r ledger.Reach) context.Context {
	return context.WithValue(ctx, reachKey{}, r)
}

// reachOf returns the caller's reach. A context the interceptor did not
// set reaches nothing: scope fails closed.
func reachOf(ctx context.Context) ledger.Reach {
	if r, ok := ctx.Value(reachKey{}).(ledger.Reach); ok {
		return r
	}
	return ledger.Reach{ByUnit: true}
}

// reachAs is inReach for a change of the caller who, and returns who as
// their position on the team of the inspection that typ/id is
// (casework.SubjectInspection) or belongs to (SubjectFinding) makes them,
// for the team roles, whose reach is that team: one read gives both. A
// token's team_leader role is a leader's only on the inspections whose
// team lists its subject as LEADER: on another team it acts as a team
// member, and permitted (whether the row or the action allows a role)
// decides. An observer's place on a team lets them watch, never change
// anything. Other roles and other subjects (no interview action is the
// leader's alone) keep the token's role.
func reachAs(ctx context.Context, l *ledger.Store, who actor.Actor, typ, id string, permitted func(actor.Actor) error) (actor.Actor, error) {
	if !teamCaller(ctx, who) || typ != casework.SubjectInspection && typ != casework.SubjectFinding {
		return who, inReach(ctx, l, typ, id)
	}
	position, err := l.TeamPosition(ctx, typ, id, who.Subject)
	switch {
	case err != nil:
		return who, err
	case position == "":
		// Out of reach, answered as inReach answers it.
		return who, derrors.NotFound(typ, id)
	case position == workflows.TeamObserver:
		return who, derrors.New(derrors.ErrPermissionDenied,
			"the team of %s %q lists you as an observer (%s): observers change nothing", typ, id, position)
	case position == workflows.TeamLeader:
		return who, nil
	}
	who.Role = actor.RoleTeamMember
	if permitted(who) != nil {
		return who, derrors.New(derrors.ErrPermissionDenied,
			"this is the team leader's to do: the team of %s %q lists you as %s, not %s", typ, id, position, workflows.TeamLeader)
	}
	return who, nil
}

// teamCaller reports whether who, calling with ctx's reach, reaches by
// team: a team role whose reach is the teams that list its subject.
func teamCaller(ctx context.Context, who actor.Actor) bool {
	return (who.Role == actor.RoleTeamLeader || who.Role == actor.RoleTeamMember) && reachOf(ctx).ByTeam
}

// inReach answers NOT_FOUND, exactly as for an object that does not exist,
// unless the caller's reach includes the subject (casework.SubjectInspection,
// SubjectFinding or SubjectInterview). A caller who reaches the province
// costs no read.
func inReach(ctx context.Context, l *ledger.Store, typ, id string) error {
	r := reachOf(ctx)
	if r.Province() {
		return nil
	}
	return l.InReach(ctx, r, typ, id)
}

// readInReach reads the ledger row (get) of the object of type typ with
// the given ID; a missing ID is InvalidArgument, a missing object, or one
// out of the caller's reach, NotFound.
func readInReach[R any](ctx context.Context, l *ledger.Store, typ, id string,
	get func(*ledger.Store, context.Context, string) (R, error),
) (R, error) {
	var zero R
	if id == "" {
		return zero, derrors.Invalid("id", "must not be empty")
	}
	if err := inReach(ctx, l, typ, id); err != nil {
		return zero, err
	}
	return get(l, ctx, id)
}

// eventLog is the whole event log of the subject typ/id, oldest first, for
// a caller who reaches it (readInReach; get says that it exists).
func eventLog[R any](ctx context.Context, l *ledger.Store, typ, id string,
	get func(*ledger.Store, context.Context, string) (R, error),
) ([]*xunchav1.FindingEvent, error) {
	if _, err := readInReach(ctx, l, typ, id, get); err != nil {
		return nil, err
	}
	events, err := l.Events(ctx, typ, id)
	if err != nil {
		return nil, err
	}
	out := make([]*xunchav1.FindingEvent, 0, len(events))
	for _, e := range events {
		out = append(out, eventProto(e))
	}
	return out, nil
}

// tipInReach answers NOT_FOUND, as for a tip that does not exist, unless
// the caller reaches the tip's inspection's tips (tipsInReach).
func tipInReach(ctx context.Context, l *ledger.Store, t ledger.Tip) error {
	err := tipsInReach(ctx, l, t.InspectionID)
	if errors.Is(err, derrors.ErrNotFound) {
		return derrors.New(derrors.ErrNotFound, "tip %q not found", t.ID)
	}
	return err
}

// tipsInReach answers NOT_FOUND, as for an inspection that does not exist,
// unless the caller reaches its tips: only the office and the inspection's
// team read them, and an observer on the team does not (what the public
// reports stays with those who act on it).
func tipsInReach(ctx context.Context, l *ledger.Store, inspectionID string) error {
	who, _ := actor.FromContext(ctx)
	if !teamCaller(ctx, who) {
		return inReach(ctx, l, casework.SubjectInspection, inspectionID)
	}
	position, err := l.TeamPosition(ctx, casework.SubjectInspection, inspectionID, who.Subject)
	if err == nil && (position == "" || position == workflows.TeamObserver) {
		err = derrors.NotFound(casework.SubjectInspection, inspectionID)
	}
	return err
}

// targetInReach is inReach for a request's idempotency target
// ("findings/f-1", "inspections/ins-1/findings", "tips/tip-1"; see
// requestTarget). withIdempotency asks it before refusing a reused
// request_id, so that a caller out of scope learns from the refusal
// neither that the object exists nor that the key was used on it.
func targetInReach(ctx context.Context, l *ledger.Store, target string) error {
	if reachOf(ctx).Province() {
		return nil
	}
	parts := strings.Split(target, "/")
	if len(parts) < 2 {
		return nil
	}
	switch parts[0] {
	case "findings":
		return inReach(ctx, l, casework.SubjectFinding, parts[1])
	case "inspections":
		return inReach(ctx, l, casework.SubjectInspection, parts[1])
	case "interviews":
		return inReach(ctx, l, casework.SubjectInterview, parts[1])
	case "invitations":
		return inReach(ctx, l, casework.SubjectInvitation, parts[1])
	case "tips":
		t, err := l.GetTip(ctx, parts[1])
		if err != nil {
			return err
		}
		return tipInReach(ctx, l, t)
	}
	return nil
}
