package ledger_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/xuncha/xuncha/internal/derrors"
	"github.com/xuncha/xuncha/ledger"
)

// TestCalendarLoadRetriedAcrossChineseNames: a load recorded before the API
// gave holidays their Chinese names, retried with the same request_id by a
// server that gives them, is the same notice (the first version answers);
// it was refused as another notice (409). A notice that differs otherwise
// still is.
func TestCalendarLoadRetriedAcrossChineseNames(t *testing.T) {
	t.Parallel()
	fx := setup(t)
	ctx := t.Context()
	notice := func(nameZH, end string) []byte {
		zh := ""
		if nameZH != "" {
			zh = `,"name_zh":"` + nameZH + `"`
		}
		return []byte(`{"year":2028,"doc_number":"国办发明电〔2027〕测试号","holidays":[{"name":"National Day"` + zh +
			`,"start":"2028-10-01","end":"` + end + `"}],"makeup_days":[]}`)
	}
	version := func(n []byte) ledger.CalendarVersion {
		return ledger.CalendarVersion{Year: 2028, RequestID: "load-2028", DocNumber: "国办发明电〔2027〕测试号", Notice: n,
			LoadedBy: office, LoadedAt: time.Now().UTC()}
	}
	first, created, err := fx.store.InsertCalendarVersion(ctx, version(notice("", "2028-10-07")), nil)
	require.NoError(t, err)
	require.True(t, created)
	again, created, err := fx.store.InsertCalendarVersion(ctx, version(notice("国庆节", "2028-10-07")), nil)
	require.NoError(t, err, "the same notice, its Chinese name now given")
	require.False(t, created)
	require.Equal(t, first.ID, again.ID)
	_, _, err = fx.store.InsertCalendarVersion(ctx, version(notice("国庆节", "2028-10-08")), nil)
	require.ErrorIs(t, err, derrors.ErrAlreadyExists, "another notice under the same request_id")
	_, _, err = fx.store.InsertCalendarVersion(ctx, version(notice("十一", "2028-10-07")), nil)
	require.ErrorIs(t, err, derrors.ErrAlreadyExists, "another Chinese name is another notice")
}
