package activities

import (
	"context"

	"github.com/xuncha/xuncha/casework"
)

// RouteReferralInput asks the office's routing table for the body with
// jurisdiction over a clue (issue 14 item 2).
type RouteReferralInput struct {
	UnitLevel string `json:"unit_level"`
	ClueKind  string `json:"clue_kind"`
	CadreRank string `json:"cadre_rank"`
}

// RouteReferralResult is the route in force for the key, nil when the
// table has none.
type RouteReferralResult struct {
	Route *casework.ReferralRoute `json:"route,omitempty"`
}

// RouteReferral reads the routing table's route for a key: the reading is
// this activity's, the choice (confirm or override) the workflow's.
func (a *Activities) RouteReferral(ctx context.Context, in RouteReferralInput) (RouteReferralResult, error) {
	route, ok, err := a.Ledger.MatchReferralRoute(ctx, in.UnitLevel, in.ClueKind, in.CadreRank)
	if err != nil {
		return RouteReferralResult{}, a.ledgerError(ctx, "reading the referral routing table", err)
	}
	if !ok {
		return RouteReferralResult{}, nil
	}
	return RouteReferralResult{Route: &route}, nil
}
