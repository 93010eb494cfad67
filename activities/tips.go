package activities

import (
	"context"
	"fmt"
)

// Tips never pass through Temporal: the API writes them to the ledger
// directly, so that the reporter's identity is in no workflow input or
// history. Workflows see only tip IDs.

// UntriagedTipsInput names an inspection.
type UntriagedTipsInput struct {
	InspectionID string `json:"inspection_id"`
}

// UntriagedTipsResult lists the IDs of tips still RECEIVED, oldest first.
type UntriagedTipsResult struct {
	TipIDs []string `json:"tip_ids"`
}

// UntriagedTips lists an inspection's tips that were neither turned into a
// finding nor dismissed, so that the inspection workflow can hold back a
// step (e.g. the report) until every tip is decided. It returns IDs only.
func (a *Activities) UntriagedTips(ctx context.Context, in UntriagedTipsInput) (UntriagedTipsResult, error) {
	ids, err := a.Ledger.UntriagedTips(ctx, in.InspectionID)
	if err != nil {
		return UntriagedTipsResult{}, a.ledgerError(ctx, fmt.Sprintf("listing untriaged tips of inspection %q", in.InspectionID), err)
	}
	if ids == nil {
		ids = []string{}
	}
	return UntriagedTipsResult{TipIDs: ids}, nil
}
