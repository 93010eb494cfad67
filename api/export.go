package api

import (
	"context"
	"fmt"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/grpc-ecosystem/grpc-gateway/v2/runtime"
	"github.com/grpc-ecosystem/grpc-gateway/v2/utilities"
	"go.uber.org/zap"

	"github.com/xuncha/xuncha/calendar"
	"github.com/xuncha/xuncha/internal/derrors"
	"github.com/xuncha/xuncha/problemlist"
	xunchav1 "github.com/xuncha/xuncha/proto/xuncha/v1"
)

// Export formats.
const (
	formatXLSX = "xlsx"
	formatCSV  = "csv"
)

// exportHandler serves the problem list's export (issue 13 item 2), plain
// HTTP beside the gateway, as the evidence endpoints are, because it
// streams a file:
//
//	GET /v1/findings:export?format=xlsx|csv&inspection_id=&unit_code=&stage=&kind=&severity=&overdue=
//
// The filters are ListFindings' (the same checks, the same statement, the
// same scope); every matching finding is written, oldest first.
type exportHandler struct {
	exporter *problemlist.Exporter
	// guard is the evidence endpoints' (evidenceHandler), with its own log.
	guard
}

func (h *exportHandler) register(mux *http.ServeMux) {
	h.guard.register(mux, map[string]http.HandlerFunc{FindingsExport: h.export})
}

// exportParameters are the query parameters the export takes: format and
// the list's filters (not its paging: the export holds every page).
var exportParameters = []string{"format", "inspection_id", "unit_code", "stage", "kind", "severity", "overdue"}

// exportRequest checks an export's query: the format (xlsx when absent)
// and the list's filters, exactly as ListFindings checks them.
func exportRequest(ctx context.Context, query url.Values) (format string, sel problemlist.Selection, err error) {
	var v derrors.Violations
	keys := slices.Sorted(maps.Keys(query))
	for _, k := range keys {
		switch {
		case !slices.Contains(exportParameters, k):
			v.Add(k, "is not a parameter of the export: it takes %s", strings.Join(exportParameters, ", "))
		case len(query[k]) > 1:
			v.Add(k, "must be given once")
		}
	}
	switch format = query.Get("format"); format {
	case "":
		format = formatXLSX
	case formatXLSX, formatCSV:
	default:
		v.Add("format", "must be %s or %s", formatXLSX, formatCSV)
	}
	if err := v.Err(); err != nil {
		return "", sel, err
	}
	filters := url.Values{}
	for _, k := range exportParameters[1:] {
		if vs, ok := query[k]; ok {
			filters[k] = vs
		}
	}
	req := &xunchav1.ListFindingsRequest{}
	if err := runtime.PopulateQueryParameters(req, filters, utilities.NewDoubleArray(nil)); err != nil {
		violations := queryViolations(filters, req.ProtoReflect().Descriptor(), nil)
		if len(violations) == 0 {
			violations.Add("", "the query could not be read: check the parameters against /openapi.json")
		}
		return "", sel, violations.Err()
	}
	// The input boundary every request passes (boundary.go).
	if err := checkRequest(req); err != nil {
		return "", sel, err
	}
	filter, err := findingFilter(ctx, req)
	if err != nil {
		return "", sel, err
	}
	return format, problemlist.Selection{Filter: filter, AsOf: time.Now()}, nil
}

// export writes the list. A workbook is written whole or not at all: an
// error before its first byte is answered as any error is. CSV goes out a
// page at a time: an error after its first row breaks the connection, so
// that no client takes a part for the whole.
func (h *exportHandler) export(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	format, sel, err := exportRequest(ctx, r.URL.Query())
	if err != nil {
		h.fail(w, r, err)
		return
	}
	name := "findings-" + calendar.DateOf(sel.AsOf).String()
	out := &lazyResponse{w: w, start: func() {
		// The Chinese name for those who keep it, an ASCII one for the rest.
		w.Header().Set("Content-Disposition", fmt.Sprintf(`attachment; filename="%s.%s"; filename*=UTF-8''%s.%s`,
			name, format, url.PathEscape("问题清单-"+calendar.DateOf(sel.AsOf).String()), format))
		w.Header().Set("X-Content-Type-Options", "nosniff")
		w.Header().Set("Cache-Control", "no-store")
		if format == formatCSV {
			w.Header().Set("Content-Type", "text/csv; charset=utf-8")
		} else {
			w.Header().Set("Content-Type", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
		}
		w.WriteHeader(http.StatusOK)
	}}
	if format == formatCSV {
		err = h.exporter.WriteCSV(ctx, sel, out)
	} else {
		err = h.exporter.WriteXLSX(ctx, sel, out)
	}
	switch {
	case err == nil:
	case !out.started:
		h.fail(w, r, err)
	default:
		h.log.Warn("export broken off", zap.String("format", format), zap.Error(err))
		panic(http.ErrAbortHandler)
	}
}

// lazyResponse writes the response's headers on its first write, so that
// an error found before then is still answered with its status.
type lazyResponse struct {
	w       http.ResponseWriter
	start   func()
	started bool
}

func (l *lazyResponse) Write(p []byte) (int, error) {
	if !l.started {
		l.started = true
		l.start()
	}
	return l.w.Write(p)
}
