package api

import (
	"bytes"
	"context"
	"io"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/xuncha/xuncha/internal/derrors"
	"github.com/xuncha/xuncha/problemlist"
)

// TestWorkbooksWaitForASlot: with every slot taken, a workbook waits for
// one while its request lasts, and is then answered UNAVAILABLE (send it
// again), unread; a slot freed lets the next one be read.
func TestWorkbooksWaitForASlot(t *testing.T) {
	for range cap(workbookSlots) {
		workbookSlots <- struct{}{}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	read := 0
	readSheet := func(r io.Reader, l problemlist.Limits) (*problemlist.Sheet, error) {
		read++
		return problemlist.ReadWorkbook(r, l)
	}
	r := httptest.NewRequest("POST", "/v1/inspections/i-1/findings:import", bytes.NewReader([]byte("not read"))).WithContext(ctx)
	_, _, err := readUpload(r, ImportConfig{}, readSheet, "")
	require.ErrorIs(t, err, derrors.ErrUnavailable)
	require.Zero(t, read, "nothing read without a slot")

	<-workbookSlots
	r = httptest.NewRequest("POST", "/v1/inspections/i-1/findings:import", bytes.NewReader([]byte("not a workbook")))
	_, _, err = readUpload(r, ImportConfig{}, readSheet, "")
	require.ErrorContains(t, err, "is not a workbook", "read once a slot was free")
	require.Equal(t, 1, read)
	for range cap(workbookSlots) - 1 {
		<-workbookSlots
	}
}
