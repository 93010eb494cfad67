package api

import (
	"bytes"
	"context"
	"errors"
	"io"
	"maps"
	"mime"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/grpc-ecosystem/grpc-gateway/v2/runtime"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"

	"github.com/xuncha/xuncha/internal/derrors"
	"github.com/xuncha/xuncha/internal/i18n"
)

// MaxRequestBytes is the largest request the API reads: a gRPC message, or
// a REST body on the gateway (4 MiB). Evidence uploads (POST /v1/evidence)
// have their own limit, Server.MaxEvidenceBytes.
const MaxRequestBytes = 4 << 20

// restRequest follows one REST request through the gateway, so that the
// error handler can explain a request the gateway could not read.
type restRequest struct {
	// body is what the gateway read of the request body.
	body bytes.Buffer
	// tooLarge is set when the body passed MaxRequestBytes.
	tooLarge bool
	// forwarded is set once the gateway called the gRPC method: an error
	// after that is the method's, not the gateway's.
	forwarded bool
	// query is the request's query, lang the language of its answers.
	query url.Values
	lang  i18n.Lang
}

type restRequestKey struct{}

// restRequestFrom returns the request's tracker, or nil outside restInput.
func restRequestFrom(ctx context.Context) *restRequest {
	rr, _ := ctx.Value(restRequestKey{}).(*restRequest)
	return rr
}

// trackedBody keeps a copy of what is read and notices the size limit.
type trackedBody struct {
	io.ReadCloser
	req *restRequest
}

func (b *trackedBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	b.req.body.Write(p[:n])
	var tooLarge *http.MaxBytesError
	if errors.As(err, &tooLarge) {
		b.req.tooLarge = true
	}
	return n, err
}

// markForwarded is the gateway connection's client interceptor: it records
// that the request was read and the gRPC method called.
// A query parameter that names no field of the request is refused first:
// the gateway would drop it, and a misspelt filter (unit_cod=…) would then
// answer with the whole unfiltered list.
func markForwarded(ctx context.Context, method string, req, reply any, cc *grpc.ClientConn, invoker grpc.UnaryInvoker, opts ...grpc.CallOption) error {
	if rr := restRequestFrom(ctx); rr != nil {
		rr.forwarded = true
		if md := requestDescriptor(ctx); md != nil {
			if v := unknownQueryParameters(rr.query, md, pathParamNames(ctx)); len(v) > 0 {
				inv := &derrors.InvalidError{Violations: v}
				return withDetails(status.New(codes.InvalidArgument, derrors.Message(inv, rr.lang)), inv, rr.lang).Err()
			}
		}
	}
	return invoker(ctx, method, req, reply, cc, opts...)
}

// unknownQueryParameters names the query parameters that are no field of
// the request message md (nor a parameter of its path).
func unknownQueryParameters(query url.Values, md protoreflect.MessageDescriptor, pathParams []string) derrors.Violations {
	var v derrors.Violations
	for _, key := range slices.Sorted(maps.Keys(query)) {
		if slices.Contains(pathParams, key) {
			continue
		}
		if fd, _ := fieldByQueryKey(md, key); fd == nil {
			name := strings.ToValidUTF8(key, "\uFFFD")
			if len(name) > 100 {
				name = strings.ToValidUTF8(name[:100], "") + "…"
			}
			v.Add(name, "is not a parameter of this request: check its name against /openapi.json")
		}
	}
	return v
}

// restInput guards the gateway's routes: a body must be JSON
// (415 otherwise) and at most MaxRequestBytes (413 otherwise); what the
// gateway then reads is kept so that errorHandler can explain a body or a
// query it could not decode.
func restInput(next http.Handler, mux *runtime.ServeMux, m runtime.Marshaler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hasBody := r.ContentLength != 0 && r.Body != nil && r.Body != http.NoBody
		if hasBody && (r.Method == http.MethodPost || r.Method == http.MethodPut || r.Method == http.MethodPatch) {
			if err := checkJSONContentType(r.Header.Get("Content-Type"), i18n.FromAcceptLanguage(r.Header.Get("Accept-Language"))); err != nil {
				errorHandler(r.Context(), mux, m, w, r, &runtime.HTTPStatusError{HTTPStatus: http.StatusUnsupportedMediaType, Err: err})
				return
			}
		}
		if r.ContentLength > MaxRequestBytes {
			errorHandler(r.Context(), mux, m, w, r, requestTooLarge(i18n.FromAcceptLanguage(r.Header.Get("Accept-Language"))))
			return
		}
		rr := &restRequest{query: r.URL.Query(), lang: requestLang(r)}
		r = r.WithContext(context.WithValue(r.Context(), restRequestKey{}, rr))
		if r.Body != nil {
			r.Body = &trackedBody{ReadCloser: http.MaxBytesReader(w, r.Body, MaxRequestBytes), req: rr}
		}
		next.ServeHTTP(w, r)
	})
}

// checkJSONContentType accepts application/json, with no charset or UTF-8;
// a refusal is explained in lang.
func checkJSONContentType(contentType string, lang i18n.Lang) error {
	if contentType == "" {
		return badRequest("Content-Type", i18n.T("must be application/json (optionally with charset=utf-8): the header is missing"), lang)
	}
	mediaType, params, err := mime.ParseMediaType(contentType)
	if err != nil {
		return badRequest("Content-Type", i18n.T("must be application/json (optionally with charset=utf-8): the header is not a media type"), lang)
	}
	if mediaType != "application/json" {
		return badRequest("Content-Type", i18n.T("must be application/json (optionally with charset=utf-8), not %s", mediaType), lang)
	}
	if cs, ok := params["charset"]; ok && !strings.EqualFold(cs, "utf-8") {
		return badRequest("Content-Type", i18n.T("must be application/json (optionally with charset=utf-8), not charset=%s", cs), lang)
	}
	return nil
}

// badRequest is an InvalidArgument status naming one field and its rule,
// in lang.
func badRequest(field string, rule i18n.Text, lang i18n.Lang) error {
	inv := &derrors.InvalidError{Violations: []derrors.FieldViolation{{Field: field, Rule: rule.EN, RuleZH: rule.ZH}}}
	return withDetails(status.New(codes.InvalidArgument, field+": "+rule.In(lang)), inv, lang).Err()
}

// requestTooLarge is the answer to a request over MaxRequestBytes: gRPC
// RESOURCE_EXHAUSTED, HTTP 413 (httpCodes), explained in lang.
func requestTooLarge(lang i18n.Lang) error {
	s := status.New(codes.ResourceExhausted, lang.Say(
		"the request body is larger than the limit of %d bytes (%d MiB); evidence files go to POST /v1/evidence",
		MaxRequestBytes, MaxRequestBytes>>20))
	if d, err := s.WithDetails(&errdetails.ErrorInfo{Reason: "REQUEST_TOO_LARGE", Domain: errorDomain,
		Metadata: map[string]string{"limit_bytes": strconv.Itoa(MaxRequestBytes)}}); err == nil {
		s = d
	}
	return s.Err()
}

// pathParamError matches the gateway's messages about a path parameter.
var pathParamError = regexp.MustCompile(`^(?:type mismatch, parameter: |missing parameter )([a-z0-9_.]+)`)

// explainUnreadRequest replaces the gateway's own error about a REST
// request it could not read (its parser's text, camelCase names, no
// details) with RESOURCE_EXHAUSTED for a body over the limit or with
// google.rpc.BadRequest field violations in the API's field names. Errors
// of the gRPC methods themselves pass unchanged.
func explainUnreadRequest(ctx context.Context, r *http.Request, err error) error {
	rr := restRequestFrom(r.Context())
	if rr == nil || rr.forwarded || status.Code(err) != codes.InvalidArgument {
		return err
	}
	if !rr.tooLarge && r.Body != nil {
		// Read the rest, within the limit, to see the whole body.
		_, _ = io.Copy(io.Discard, r.Body)
	}
	if rr.tooLarge {
		return requestTooLarge(i18n.FromAcceptLanguage(r.Header.Get("Accept-Language")))
	}
	inv := &derrors.InvalidError{}
	if md := requestDescriptor(ctx); md != nil {
		if rr.body.Len() > 0 {
			inv.Violations = bodyViolations(rr.body.Bytes(), md)
		}
		if len(inv.Violations) == 0 {
			inv.Violations = queryViolations(r.URL.Query(), md, pathParamNames(ctx))
		}
		if m := pathParamError.FindStringSubmatch(status.Convert(err).Message()); len(inv.Violations) == 0 && m != nil {
			if fd, name := fieldByQueryKey(md, m[1]); fd != nil {
				rule := kindRule(fd)
				inv.Violations = append(inv.Violations, derrors.FieldViolation{Field: name, Rule: rule.EN, RuleZH: rule.ZH})
			}
		}
	}
	if len(inv.Violations) == 0 {
		// Never the parser's text: it names fields in camelCase and Go terms.
		inv.Violations = append(inv.Violations, derrors.FieldViolation{
			Rule:   "the request could not be read: check field names and value types against /openapi.json",
			RuleZH: i18n.Zh("the request could not be read: check field names and value types against /openapi.json")})
	}
	lang := requestLang(r)
	return withDetails(status.New(codes.InvalidArgument, derrors.Message(inv, lang)), inv, lang).Err()
}

// requestDescriptor is the request message of the gateway route being
// served, from its gRPC method name.
func requestDescriptor(ctx context.Context) protoreflect.MessageDescriptor {
	method, ok := runtime.RPCMethod(ctx) // "/xuncha.v1.InspectionService/CreateInspection"
	if !ok {
		return nil
	}
	name := protoreflect.FullName(strings.ReplaceAll(strings.TrimPrefix(method, "/"), "/", "."))
	d, err := protoregistry.GlobalFiles.FindDescriptorByName(name)
	if err != nil {
		return nil
	}
	md, ok := d.(protoreflect.MethodDescriptor)
	if !ok {
		return nil
	}
	return md.Input()
}

// pathParamPattern matches a {name} or {name=...} of a path pattern.
var pathParamPattern = regexp.MustCompile(`\{([^}=]+)`)

// pathParamNames lists the {names} in the route's path pattern.
func pathParamNames(ctx context.Context) []string {
	pattern, ok := runtime.HTTPPathPattern(ctx)
	if !ok {
		return nil
	}
	var names []string
	for _, m := range pathParamPattern.FindAllStringSubmatch(pattern, -1) {
		names = append(names, m[1])
	}
	return names
}
