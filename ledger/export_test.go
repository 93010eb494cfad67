package ledger

// FindingListQuery exposes the finding list's statement builder to the
// tests of package ledger_test.
var FindingListQuery = findingListQuery
