package api

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	commonpb "go.temporal.io/api/common/v1"
	"go.temporal.io/sdk/converter"
	"go.uber.org/zap"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/encoding/protojson"

	"github.com/xuncha/xuncha/internal/actor"
	"github.com/xuncha/xuncha/internal/derrors"
)

// The codec routes serve Temporal's remote-codec protocol on the HTTP port,
// so that operators see decrypted payloads in the Temporal Web UI (its codec
// endpoint set to CodecPath on this server) and with `temporal workflow
// show --codec-endpoint`: a JSON body {"payloads": [...]} in protobuf JSON,
// answered in the same form. They are rows of the authorization table.
const (
	// CodecPath is the codec endpoint to configure in the Web UI or the
	// Temporal CLI; the routes are below it.
	CodecPath   = "/codec"
	CodecDecode = "POST " + CodecPath + "/decode"
	CodecEncode = "POST " + CodecPath + "/encode"
)

// codecAllowedHeaders are the request headers the Web UI sends to a codec
// endpoint: the JSON content type, the namespace, and with "pass access
// token" the bearer token and the ID token beside it.
var codecAllowedHeaders = []string{"Authorization", "Authorization-Extras", "Content-Type", "X-Namespace"}

// AccessEvent is one sensitive read (a decode of Temporal payloads), allowed
// or refused, for an access-audit log.
type AccessEvent struct {
	// Route is the route called: CodecDecode, or CodecEncode refused.
	Route string
	// Actor is who called, as the token says; the zero Actor when no token
	// was verified (Outcome AccessUnauthenticated). A refused caller's
	// Role is its first role.
	Actor actor.Actor
	// Namespace is the Temporal namespace the caller says the payloads
	// come from (the X-Namespace header), unverified, what is not printable
	// in it escaped (printable).
	Namespace string
	// Payloads is how many payloads the request carried (0 when it was
	// refused before its body was read).
	Payloads int
	// Outcome is AccessAllowed, AccessUnauthenticated, AccessDenied or
	// AccessFailed.
	Outcome string
	// Status is the HTTP status answered (for an allowed decode, the one
	// about to be answered: 200).
	Status int
	// Reason says why a request was refused or failed; empty when allowed.
	Reason string
	// Remote is the client's address.
	Remote string
	// At is when the request arrived.
	At time.Time
}

// Outcomes of an AccessEvent.
const (
	// AccessAllowed: the payloads were decoded and are about to be sent.
	AccessAllowed = "allowed"
	// AccessEncoded: the payloads were encoded and are about to be sent.
	AccessEncoded = "encoded"
	// AccessUnauthenticated: no token, or one that does not verify (401).
	AccessUnauthenticated = "unauthenticated"
	// AccessDenied: a verified caller whose roles may not decode (403).
	AccessDenied = "denied"
	// AccessFailed: a permitted caller's request could not be served: a
	// body that is not payloads, or payloads that do not decrypt.
	AccessFailed = "failed"
)

// AccessAuditFunc records an AccessEvent: every decode and every encode,
// allowed or refused. For an allowed one it runs before the answer is sent,
// and an error refuses the answer (503): no decode goes unrecorded, nor any
// encode (its ciphertext could be sent to Temporal as if xuncha had). For a
// refused call, an error is only logged.
type AccessAuditFunc func(ctx context.Context, e AccessEvent) error

// codecHandler serves the codec routes.
type codecHandler struct {
	codec   converter.PayloadCodec
	origins []string
	// authorize is the caller of route, as the interceptor would have it;
	// who is known (with its first role) once the token verified, even
	// when the role is refused.
	authorize func(r *http.Request, route string) (who actor.Actor, verified bool, err error)
	fail      func(w http.ResponseWriter, r *http.Request, err error)
	audit     AccessAuditFunc
	log       *zap.Logger
}

// codecHandler builds the codec routes' handler from the server's codec,
// Web UI origins, verifier and audit hook.

// MaxCodecPayloads is the most payloads one encode or decode takes: the
// Web UI sends a page of history's at a time, far fewer.
const MaxCodecPayloads = 10000

// codecSlots bounds the encodes and decodes this process runs at once;
// others wait while their request lasts.
var codecSlots = make(chan struct{}, 4)

func (s *Server) codecHandler(fail func(w http.ResponseWriter, r *http.Request, err error)) *codecHandler {
	return &codecHandler{
		codec:   s.PayloadCodec,
		origins: s.CodecCORSOrigins,
		authorize: func(r *http.Request, route string) (actor.Actor, bool, error) {
			id, err := s.authenticate(r.Context(), r.Header.Values("Authorization"))
			if err != nil {
				return actor.Actor{}, false, err
			}
			who, err := permit(route, id)
			if err != nil {
				return id.Actor(), true, err
			}
			return who, true, nil
		},
		fail:  fail,
		audit: s.codecAudit(),
		log:   s.Log.Named("codec"),
	}
}

// register adds the codec routes and their CORS preflights to mux.
func (h *codecHandler) register(mux *http.ServeMux) {
	mux.Handle(CodecDecode, h.cors(http.HandlerFunc(h.decode)))
	mux.Handle(CodecEncode, h.cors(http.HandlerFunc(h.encode)))
	mux.Handle("OPTIONS "+CodecPath+"/{op}", h.cors(http.HandlerFunc(h.preflight)))
}

// allowedOrigin reports whether a browser page of origin may call the
// codec routes: one of the configured Web UI origins, exactly.
func (h *codecHandler) allowedOrigin(origin string) bool {
	return origin != "" && slices.Contains(h.origins, origin)
}

// cors adds the CORS answer headers for an allowed origin to every answer,
// errors included, so the Web UI can tell a refused token from a network
// failure. Requests from other origins are answered without them, and the
// browser keeps the answer from the page.
func (h *codecHandler) cors(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Add("Vary", "Origin")
		if origin := r.Header.Get("Origin"); h.allowedOrigin(origin) {
			w.Header().Set("Access-Control-Allow-Origin", origin)
			// The UI's "include cross-origin credentials" makes the browser
			// require this; xuncha reads no cookie, only the bearer token.
			w.Header().Set("Access-Control-Allow-Credentials", "true")
		}
		next.ServeHTTP(w, r)
	})
}

// preflight answers the browser's OPTIONS before a cross-origin POST.
func (h *codecHandler) preflight(w http.ResponseWriter, r *http.Request) {
	op := r.PathValue("op")
	if op != "decode" && op != "encode" {
		http.NotFound(w, r)
		return
	}
	if !h.allowedOrigin(r.Header.Get("Origin")) || r.Header.Get("Access-Control-Request-Method") != http.MethodPost {
		w.WriteHeader(http.StatusForbidden)
		return
	}
	w.Header().Set("Access-Control-Allow-Methods", http.MethodPost)
	w.Header().Set("Access-Control-Allow-Headers", strings.Join(codecAllowedHeaders, ", "))
	w.Header().Set("Access-Control-Max-Age", "600")
	w.WriteHeader(http.StatusNoContent)
}

func (h *codecHandler) decode(w http.ResponseWriter, r *http.Request) {
	h.serve(w, r, CodecDecode, h.codec.Decode)
}

func (h *codecHandler) encode(w http.ResponseWriter, r *http.Request) {
	h.serve(w, r, CodecEncode, h.codec.Encode)
}

// serve authorizes the caller of route, reads the payloads, transforms
// them and answers; every decode, allowed or refused, is audited.
func (h *codecHandler) serve(w http.ResponseWriter, r *http.Request, route string, transform func([]*commonpb.Payload) ([]*commonpb.Payload, error)) {
	event := AccessEvent{Route: route, Namespace: printable(r.Header.Get("X-Namespace")), Remote: r.RemoteAddr, At: time.Now()}
	refuse := func(outcome string, status int, err error) {
		// Every decode is recorded, and every refused call (401, 403) of
		// either route, as elsewhere in the API; an encode that failed
		// produced nothing, and is not.
		if route == CodecDecode || outcome == AccessUnauthenticated || outcome == AccessDenied {
			event.Outcome, event.Status, event.Reason = outcome, status, err.Error()
			if aerr := h.record(r.Context(), event); aerr != nil {
				h.log.Error("recording a refused codec call in the access audit", zap.Error(aerr))
			}
		}
		h.fail(w, r, err)
	}
	who, verified, err := h.authorize(r, route)
	event.Actor = who
	switch {
	case errors.Is(err, derrors.ErrUnavailable):
		// The identity provider could not be asked: nobody was refused
		// (503, as on the API), so nothing is recorded as a refusal; it
		// was, as an anonymous failed sign-in.
		h.fail(w, r, err)
		return
	case err != nil && !verified:
		refuse(AccessUnauthenticated, http.StatusUnauthorized, err)
		return
	case err != nil:
		refuse(AccessDenied, http.StatusForbidden, err)
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxRequestBytes))
	var tooLarge *http.MaxBytesError
	switch {
	case errors.As(err, &tooLarge):
		refuse(AccessFailed, http.StatusRequestEntityTooLarge,
			status.Errorf(codes.ResourceExhausted, "the request is over %d bytes: send fewer payloads at once", MaxRequestBytes))
		return
	case err != nil:
		refuse(AccessFailed, http.StatusBadRequest, derrors.Invalid("payloads", "the request body could not be read"))
		return
	}
	// Objects before anything is decoded: a body of a million empty
	// payloads held some 300 MiB while it was read.
	if bytes.Count(body, []byte("{")) > 4*MaxCodecPayloads {
		refuse(AccessFailed, http.StatusBadRequest, derrors.Invalid("payloads", "must hold at most %d payloads: send fewer at once", MaxCodecPayloads))
		return
	}
	select {
	case codecSlots <- struct{}{}:
		defer func() { <-codecSlots }()
	case <-r.Context().Done():
		refuse(AccessFailed, http.StatusServiceUnavailable, derrors.New(derrors.ErrUnavailable, "other payloads are being decoded: send these again in a moment"))
		return
	}
	var in commonpb.Payloads
	if err := (protojson.UnmarshalOptions{DiscardUnknown: true}).Unmarshal(body, &in); err != nil {
		refuse(AccessFailed, http.StatusBadRequest, derrors.Invalid("payloads", `must be a JSON object {"payloads": [...]} of Temporal payloads in protobuf JSON`))
		return
	}
	event.Payloads = len(in.GetPayloads())
	if event.Payloads > MaxCodecPayloads {
		refuse(AccessFailed, http.StatusBadRequest, derrors.Invalid("payloads", "must hold at most %d payloads: send fewer at once", MaxCodecPayloads))
		return
	}
	out, err := transform(in.GetPayloads())
	if err != nil {
		// The codec's errors name keys and ciphers, never plaintext.
		refuse(AccessFailed, http.StatusBadRequest, derrors.Invalid("payloads", "%s", err.Error()))
		return
	}
	answer, err := protojson.Marshal(&commonpb.Payloads{Payloads: out})
	if err != nil {
		h.log.Error("encoding the codec's answer", zap.Error(err))
		refuse(AccessFailed, http.StatusInternalServerError, errors.New("encoding the codec's answer"))
		return
	}
	event.Outcome, event.Status = AccessAllowed, http.StatusOK
	if route == CodecEncode {
		// Recorded as a decode is: its ciphertext is what a Temporal
		// client would send to act as xuncha (it was not recorded).
		event.Outcome = AccessEncoded
	}
	if err := h.record(r.Context(), event); err != nil {
		h.log.Error("recording a codec call in the access audit; the answer is not sent", zap.String("route", route), zap.Error(err))
		h.fail(w, r, fmt.Errorf("the access audit could not record this call: %w", derrors.ErrUnavailable))
		return
	}
	h.log.Info("payloads", zap.String("route", route), zap.String("actor", who.String()),
		zap.String("namespace", event.Namespace), zap.Int("payloads", event.Payloads))
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	_, _ = w.Write(answer)
}

// record hands e to the audit hook, when one is set.
func (h *codecHandler) record(ctx context.Context, e AccessEvent) error {
	if h.audit == nil {
		return nil
	}
	return h.audit(ctx, e)
}

// CodecOrigins parses a comma-separated list of Web UI origins
// (XUNCHA_CODEC_CORS_ORIGIN): each scheme://host[:port], without a path,
// a wildcard or a trailing slash, since the browser's Origin header is
// compared with them exactly.
func CodecOrigins(list string) ([]string, error) {
	var origins []string
	for _, item := range strings.Split(list, ",") {
		o := strings.TrimSpace(item)
		if o == "" {
			continue
		}
		u, err := url.Parse(o)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.Path != "" ||
			u.RawQuery != "" || u.Fragment != "" || u.User != nil || strings.Contains(o, "*") {
			return nil, fmt.Errorf("%q is not an origin: write scheme://host[:port], e.g. https://temporal.example.gov.cn or http://localhost:8233", o)
		}
		origins = append(origins, o)
	}
	return origins, nil
}

// printable is a header's value as a log may hold it: itself when every
// character is printable, else Go's quoting of it without the quotes
// ("default\u202e…"), so that a caller's control or bidirectional
// formatting characters reach no operator's terminal or access log as they
// are (the request body refuses them; a header was recorded as sent).
func printable(s string) string {
	if utf8.ValidString(s) && !strings.ContainsFunc(s, func(r rune) bool { return !unicode.IsGraphic(r) }) {
		return s
	}
	q := strconv.QuoteToGraphic(s)
	return q[1 : len(q)-1]
}
