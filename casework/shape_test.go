package casework_test

import (
	"testing"

	"github.com/xuncha/xuncha/casework"
	"github.com/xuncha/xuncha/internal/payloadshape"
)

// payloads are the records the workflows carry in their state and
// histories.
var payloads = map[string]any{
	"Finding":           casework.Finding{},
	"Inspection":        casework.Inspection{},
	"InspectionSummary": casework.InspectionSummary{},
	"Interview":         casework.Interview{},
	"Event":             casework.Event{},
	"Escalation":        casework.Escalation{},
	"EscalationPolicy":  casework.EscalationPolicy{},
	"Expert":            casework.Expert{},
	"Lineup":            casework.Lineup{},
	"Invitation":        casework.Invitation{},
	"ReferralRoute":     casework.ReferralRoute{},
	"Exposure":          casework.Exposure{},
	"Webhook":           casework.Webhook{},
	"OutboxDelivery":    casework.OutboxDelivery{},
	"PoolCandidates":    casework.PoolCandidates{},
}

// TestPayloadsKeepTheirShape pins the JSON of every record type with every
// field set (testdata/payloads.json). A field added, dropped, renamed or
// retyped changes what recorded histories hold, so it fails here until the
// file is rewritten on purpose (go test ./casework -update) and the change
// is checked against workflows/testdata/replay. A column change in the
// ledger touches none of these.
func TestPayloadsKeepTheirShape(t *testing.T) {
	payloadshape.Check(t, "testdata/payloads.json", payloads, *payloadshape.Update)
}
