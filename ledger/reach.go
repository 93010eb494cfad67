package ledger

import (
	"context"
	"fmt"

	"github.com/xuncha/xuncha/casework"
	"github.com/xuncha/xuncha/internal/derrors"
	"github.com/xuncha/xuncha/ledger/internal/dbsqlc"
)

// Reach limits reads to a caller's scope (issue 10 item 4). The zero value
// reaches the whole province. The lists filter by it in SQL, so that pages
// and their tokens count only what the caller may see, and InReach answers
// for one object by the same conditions.
type Reach struct {
	// ByUnit limits to inspections, findings, interviews and exposures of
	// the unit codes in Units; with no Units it reaches nothing.
	ByUnit bool
	Units  []string
	// ByTeam limits to the inspections whose team lists Subject, their
	// findings, and the interviews and exposures about them.
	ByTeam bool
	// ByReceiver limits a receiving body (issue 14 item 2) to the findings
	// whose clue referrals name Receiver, its organisation, their evidence
	// and the evidence it uploaded itself; it reaches no other kind of
	// object.
	ByReceiver bool
	Receiver   string
	// Subject is the caller's sign-in subject (the token's "sub"): the team
	// member a team must list, and, for either limit, the uploader whose
	// evidence the caller reads (EvidenceInReach).
	Subject string
}

// SubjectEvidence names evidence for InReach.
const SubjectEvidence = "evidence"

// Province reports whether r reaches everything.
func (r Reach) Province() bool { return !r.ByUnit && !r.ByTeam && !r.ByReceiver }

// InReach returns nil when the ledger holds the subject (SubjectInspection,
// SubjectFinding, SubjectInterview or SubjectEvidence) with the given ID
// and r reaches it,
// and an ErrNotFound error both when it does not exist and when it is out
// of reach: the answer never reveals that an object out of scope exists.
func (s *Store) InReach(ctx context.Context, r Reach, typ, id string) error {
	var ok bool
	var err error
	if r.ByReceiver && typ != casework.SubjectFinding && typ != SubjectEvidence {
		return derrors.NotFound(typ, id)
	}
	switch typ {
	case casework.SubjectInspection:
		ok, err = s.q.InspectionInReach(ctx, dbsqlc.InspectionInReachParams{ID: id, ByUnit: r.ByUnit, Units: r.Units, ByTeam: r.ByTeam, TeamSubject: r.Subject})
	case casework.SubjectFinding:
		ok, err = s.q.FindingInReach(ctx, dbsqlc.FindingInReachParams{ID: id, ByUnit: r.ByUnit, Units: r.Units, ByTeam: r.ByTeam, TeamSubject: r.Subject,
			ByReceiver: r.ByReceiver, Receiver: r.Receiver})
	case casework.SubjectInterview:
		ok, err = s.q.InterviewInReach(ctx, dbsqlc.InterviewInReachParams{ID: id, ByUnit: r.ByUnit, Units: r.Units, ByTeam: r.ByTeam, TeamSubject: r.Subject})
	case SubjectEvidence:
		ok, err = s.q.EvidenceInReach(ctx, dbsqlc.EvidenceInReachParams{ID: id, UploadersReach: true, ByUnit: r.ByUnit, Units: r.Units, ByTeam: r.ByTeam, CallerSubject: r.Subject,
			ByReceiver: r.ByReceiver, Receiver: r.Receiver})
	case casework.SubjectInvitation:
		// A person of the pool reaches their own invitations only: by
		// the subject their entry links to.
		if r.Subject == "" {
			return derrors.NotFound(typ, id)
		}
		return s.InvitationInReach(ctx, id, r.Subject)
	default:
		return fmt.Errorf("no scope rule for subject type %q", typ)
	}
	if err != nil {
		return fmt.Errorf("reading %s %q: %w", typ, id, err)
	}
	if !ok {
		return derrors.NotFound(typ, id)
	}
	return nil
}

// TeamPosition returns the position (workflows.TeamLeader, TeamMember, …)
// the team of an inspection gives the person signed in as subject: the
// inspection's (typ casework.SubjectInspection) or a finding's
// (SubjectFinding); "" when the team does not list them, or there is no
// such object.
func (s *Store) TeamPosition(ctx context.Context, typ, id, subject string) (string, error) {
	if typ != casework.SubjectInspection && typ != casework.SubjectFinding {
		return "", fmt.Errorf("no team position for subject type %q", typ)
	}
	position, err := s.q.TeamPosition(ctx, dbsqlc.TeamPositionParams{SubjectType: typ, ID: id, Subject: subject})
	if err != nil {
		return "", fmt.Errorf("reading %s %q's team: %w", typ, id, err)
	}
	return position, nil
}

// InReachToNameEvidence is InReach for evidence a change of r's caller
// would name: of its uploaders only the first reaches it. A later
// uploader of the same bytes holds them, but an object of its own naming
// them would show it, and its unit, what the first uploader said of them
// (evidence.go in api: sees); so it may name them only while nobody else
// has (api: unnameableEvidence asks EvidenceNamed).
func (s *Store) InReachToNameEvidence(ctx context.Context, r Reach, id string) error {
	if r.Province() {
		return s.InReach(ctx, r, SubjectEvidence, id)
	}
	ok, err := s.q.EvidenceInReach(ctx, dbsqlc.EvidenceInReachParams{ID: id, UploadersReach: true, FirstUploaderOnly: true,
		ByUnit: r.ByUnit, Units: r.Units, ByTeam: r.ByTeam, CallerSubject: r.Subject, ByReceiver: r.ByReceiver, Receiver: r.Receiver})
	if err != nil {
		return fmt.Errorf("reading evidence %q: %w", id, err)
	}
	if !ok {
		return derrors.NotFound(SubjectEvidence, id)
	}
	return nil
}

// EvidenceReachedByObject reports whether r reaches the evidence through an
// object that names it, not only as one of its uploaders: whether the
// caller may see what the first uploader said of it (its file name, who
// captured it, who uploaded it). An object a later uploader of the same
// bytes attached it to does not count: it carries that uploader's upload
// (until 2026-12-01 it showed them, and its unit, the first upload).
func (s *Store) EvidenceReachedByObject(ctx context.Context, r Reach, id string) (bool, error) {
	if r.Province() {
		return true, nil
	}
	ok, err := s.q.EvidenceInReach(ctx, dbsqlc.EvidenceInReachParams{ID: id, FirstUploadShown: true, ByUnit: r.ByUnit, Units: r.Units, ByTeam: r.ByTeam,
		CallerSubject: r.Subject, ByReceiver: r.ByReceiver, Receiver: r.Receiver})
	if err != nil {
		return false, fmt.Errorf("reading evidence %q: %w", id, err)
	}
	return ok, nil
}
