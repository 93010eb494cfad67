package casework

// Finding kinds (问题类型) and a hazard's severities (隐患等级): the one home
// of the lists, which the finding's rules (workflows.ValidateFinding), the
// sign-off rules, the extension limits and the exposures check against.
const (
	KindHazard         = "HAZARD"
	KindResponsibility = "RESPONSIBILITY"
	KindViolationClue  = "VIOLATION_CLUE"
	KindSystemicRisk   = "SYSTEMIC_RISK"

	SeverityGeneral = "GENERAL"
	SeverityMajor   = "MAJOR"
)

// FindingKinds lists the kinds of finding.
var FindingKinds = []string{KindHazard, KindResponsibility, KindViolationClue, KindSystemicRisk}

// HazardSeverities are a hazard's severities, in order; a finding of
// another kind has none.
var HazardSeverities = []string{SeverityGeneral, SeverityMajor}
