package api

import (
	"context"
	"io"
	"net/http"

	"go.uber.org/zap"
)

// guard is what every route served outside gRPC shares (evidence, the
// problem list's export and import, the round summary, the pool's import):
// the caller authorized as by the gRPC interceptor, errors written as by
// the gateway, and the route's logger.
type guard struct {
	// authorize returns the request's context with the caller of route (a
	// row of the authorization table) and its reach, as the gRPC
	// interceptor sets them.
	authorize func(r *http.Request, route string) (context.Context, error)
	// fail writes an error exactly as the gateway does.
	fail func(w http.ResponseWriter, r *http.Request, err error)
	log  *zap.Logger
}

// logTo is the guard with its own logger.
func (g guard) logTo(log *zap.Logger) guard {
	g.log = log
	return g
}

// register registers each route's handler behind authorize: a request it
// refuses is answered by fail and goes no further; one it lets through
// carries its actor in the request's context.
func (g guard) register(mux *http.ServeMux, routes map[string]http.HandlerFunc) {
	for route, serve := range routes {
		mux.HandleFunc(route, func(w http.ResponseWriter, r *http.Request) {
			ctx, err := g.authorize(r, route)
			if err != nil {
				g.fail(w, r, err)
				return
			}
			serve(w, r.WithContext(ctx))
		})
	}
}

// registerImport registers a workbook import's two routes behind
// authorize: template, the empty workbook to fill in (write's, named name,
// and nameZH for clients that read RFC 5987 names), and importRoute,
// served by importList.
func (g guard) registerImport(mux *http.ServeMux, template string, write func(io.Writer) error, name, nameZH string,
	importRoute string, importList http.HandlerFunc,
) {
	g.register(mux, map[string]http.HandlerFunc{
		template: func(w http.ResponseWriter, r *http.Request) {
			serveTemplate(w, r, g.fail, write, name, nameZH)
		},
		importRoute: importList,
	})
}
