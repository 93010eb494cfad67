package activities

import (
	"context"
	"encoding/hex"

	"go.uber.org/zap"

	"github.com/xuncha/xuncha/ledger"
)

// WriteAuditAnchorInput asks for an anchor of the audit chains.
type WriteAuditAnchorInput struct {
	// TakenBy is casework.AnchorBySchedule for the daily anchor.
	TakenBy string `json:"taken_by"`
}

// WriteAuditAnchorResult is the anchor written.
type WriteAuditAnchorResult struct {
	Seq          int64 `json:"seq"`
	HeadsCount   int64 `json:"heads_count"`
	EntriesCount int64 `json:"entries_count"`
	// Hash is the anchor's hash, hex.
	Hash string `json:"hash"`
	// AccessPrunedRows is how many access records retention removed.
	AccessPrunedRows int64 `json:"access_pruned_rows"`
}

// WriteAuditAnchor seals stragglers, prunes the access log past
// AccessLogRetentionDays and writes an anchor (ledger.Store.WriteAnchor).
// A retry after a lost answer writes one more anchor, which is harmless.
func (a *Activities) WriteAuditAnchor(ctx context.Context, in WriteAuditAnchorInput) (WriteAuditAnchorResult, error) {
	anchor, err := a.Ledger.WriteAnchor(ctx, ledger.AnchorOptions{TakenBy: in.TakenBy, AccessLogRetentionDays: a.AccessLogRetentionDays})
	if err != nil {
		return WriteAuditAnchorResult{}, a.ledgerError(ctx, "writing the audit anchor", err)
	}
	res := WriteAuditAnchorResult{
		Seq: anchor.Seq, HeadsCount: anchor.HeadsCount, EntriesCount: anchor.EntriesCount,
		Hash: hex.EncodeToString(anchor.Hash), AccessPrunedRows: anchor.AccessPrunedRows,
	}
	a.Log.Info("audit anchor written", zap.Int64("seq", res.Seq), zap.String("hash", res.Hash),
		zap.Int64("heads", res.HeadsCount), zap.Int64("moved", res.EntriesCount), zap.Int64("access_pruned", res.AccessPrunedRows))
	return res, nil
}
