package casework_test

import (
	"go/build"
	"slices"
	"testing"
)

// TestLifecyclesNameNoLedgerRows keeps the line between the case and its
// rows: casework imports neither the ledger nor its generated queries, and
// the workflows and the deadline rules decide on casework types, not on
// the ledger's (they reach the ledger only through activities).
func TestLifecyclesNameNoLedgerRows(t *testing.T) {
	forbidden := []string{"github.com/xuncha/xuncha/ledger", "github.com/xuncha/xuncha/ledger/internal/dbsqlc"}
	for _, dir := range []string{".", "../workflows", "../deadline"} {
		pkg, err := build.ImportDir(dir, 0)
		if err != nil {
			t.Fatalf("reading %s: %v", dir, err)
		}
		for _, path := range forbidden {
			if slices.Contains(pkg.Imports, path) {
				t.Errorf("%s imports %s", pkg.ImportPath, path)
			}
		}
	}
}
