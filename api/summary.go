package api

import (
	"bytes"
	"net/http"
	"strconv"
	"time"

	"github.com/xuncha/xuncha/internal/derrors"
	"github.com/xuncha/xuncha/ledger"
	"github.com/xuncha/xuncha/problemlist"
	xunchav1 "github.com/xuncha/xuncha/proto/xuncha/v1"
)

// summaryHandler serves the committee's summary workbook of a round
// (issue 13 item 2), plain HTTP beside the gateway as the export is:
//
//	GET /v1/rounds/{round}/summary.xlsx
//
// The statistics of the round's findings by unit (and by unit and kind),
// with charts, in the caller's reach (problemlist.WriteRoundSummary).
type summaryHandler struct {
	ledger *ledger.Store
	// guard is the evidence endpoints' (evidenceHandler), with its own log.
	guard
}

func (h *summaryHandler) register(mux *http.ServeMux) {
	h.guard.register(mux, map[string]http.HandlerFunc{RoundSummary: h.summary})
}

func (h *summaryHandler) summary(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	round := r.PathValue("round")
	if len(r.URL.Query()) > 0 {
		h.fail(w, r, derrors.Invalid(firstKey(r.URL.Query()), "is not a parameter: the summary takes none"))
		return
	}
	if round == "" {
		h.fail(w, r, derrors.Invalid("round", "must not be empty"))
		return
	}
	// The input boundary, as GetStatistics checks its round.
	if err := checkRequest(&xunchav1.GetStatisticsRequest{Round: round}); err != nil {
		h.fail(w, r, err)
		return
	}
	var buf bytes.Buffer
	sum := problemlist.RoundSummary{Round: round, Reach: reachOf(ctx), AsOf: time.Now()}
	if err := (&problemlist.Exporter{Ledger: h.ledger}).WriteRoundSummary(ctx, sum, &buf); err != nil {
		h.fail(w, r, err)
		return
	}
	attachment(w, "round-summary.xlsx", round+"巡查汇总.xlsx")
	w.Header().Set("Content-Type", xlsxType)
	w.Header().Set("Content-Length", strconv.Itoa(buf.Len()))
	_, _ = buf.WriteTo(w)
}
