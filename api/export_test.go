package api

import (
	"slices"
)

// AuthorizationRow is a row of the authorization table, for the table
// tests of package api_test.
type AuthorizationRow struct {
	// Method is the full gRPC method name, or an evidence route
	// ("POST /v1/evidence").
	Method string
	// Roles may call it.
	Roles []string
	// Public methods need no token.
	Public bool
	// Scope is which objects a permitted caller reaches.
	Scope Scope
	// Reads is true for a method that changes nothing.
	Reads bool
}

// AuthorizationRows returns the authorization table, sorted by method.
func AuthorizationRows() []AuthorizationRow {
	var rows []AuthorizationRow
	for m, r := range authorization {
		rows = append(rows, AuthorizationRow{Method: m, Roles: slices.Clone(r.roles), Public: r.public, Scope: r.scope, Reads: r.reads})
	}
	slices.SortFunc(rows, func(a, b AuthorizationRow) int {
		switch {
		case a.Method < b.Method:
			return -1
		case a.Method > b.Method:
			return 1
		}
		return 0
	})
	return rows
}

// LegacyFindingID is the ID a finding recorded before request_ids were
// scoped got from its request_id alone.
func LegacyFindingID(requestID string) string { return generatedID("f", "", requestID) }

// GeneratedID is generatedID, for the tests of package api_test that need
// the ID a create derives.
var GeneratedID = generatedID
