package api

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"regexp"
	"strings"
	"sync"

	"go.temporal.io/sdk/client"
	"go.uber.org/zap"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"gopkg.in/yaml.v3"

	"github.com/xuncha/xuncha/internal/actor"
	"github.com/xuncha/xuncha/internal/i18n"
	"github.com/xuncha/xuncha/internal/logging"
	"github.com/xuncha/xuncha/ledger"
	xunchav1 "github.com/xuncha/xuncha/proto/xuncha/v1"
	"github.com/xuncha/xuncha/workflows"
)

// Idempotency keys, done as payment APIs do them (DESIGN §6):
//
//   - a request_id is scoped to its method and its target, the resource the
//     request changes or the collection it creates in (the REST path without
//     the version and the verb: "findings/f-1", "inspections/ins-1/findings");
//   - the first request's fingerprint, the SHA-256 of the caller and the
//     canonical body without the request_id, is stored with the key: the
//     same key and body from another caller is another request, refused, so
//     nobody is answered with someone else's first result;
//   - the same key with the same body goes on to the handler, which answers
//     with the first result (Temporal's update IDs and the ledger's event keys
//     make the retry change nothing);
//   - the same key with a different body is refused: ALREADY_EXISTS, HTTP
//     409, ErrorInfo reason IDEMPOTENCY_KEY_REUSED naming method and target;
//   - a request that was refused outright (invalid, not found, forbidden,
//     not allowed in the stage) releases the key it claimed: it changed
//     nothing, so the client may correct it and send it again;
//   - a lifecycle's change (deferredClaims) writes no key: its Update's
//     answer, and once the history is gone its event, keep the fingerprint
//     and vouch for it (deferredKey): the same rules, without a ledger
//     write of its own.

// reasonKeyReused is the ErrorInfo reason of a request_id reused with another body.
const reasonKeyReused = "IDEMPOTENCY_KEY_REUSED"

// ReplayedHeader is the gRPC response header (through the gateway, the
// HTTP header Idempotent-Replayed) that says "true" when an earlier request
// of the same request_id made the change the answer shows, and this one
// changed nothing: AddExpert's, whose handler knows (a request whose key
// was claimed before may still be the one that makes the change, when the
// first failed before it). An import tells the rows it added from those
// another upload of the same file added.
const ReplayedHeader = "idempotent-replayed"

// requestIDField is the field that carries the idempotency key.
const requestIDField = "request_id"

// idempotencyKey returns the key of a change request sent by who; ok is
// false for a request without a request_id (reads) or with an empty one (the
// handler refuses those).
func idempotencyKey(method string, who actor.Actor, req any) (k ledger.IdempotencyKey, ok bool, err error) {
	m, isProto := req.(proto.Message)
	if !isProto {
		return k, false, nil
	}
	msg := m.ProtoReflect()
	fd := msg.Descriptor().Fields().ByName(requestIDField)
	if fd == nil || fd.Kind() != protoreflect.StringKind || msg.Get(fd).String() == "" {
		return k, false, nil
	}
	target, err := requestTarget(method, msg)
	if err != nil {
		return k, false, err
	}
	body := proto.Clone(m)
	body.ProtoReflect().Clear(fd)
	canonical, err := proto.MarshalOptions{Deterministic: true}.Marshal(body)
	if err != nil {
		return k, false, fmt.Errorf("fingerprinting %s: %w", method, err)
	}
	sum := sha256.Sum256(append([]byte(who.Encode()+"\x00"), canonical...))
	return ledger.IdempotencyKey{
		Method: method, Target: target, RequestID: msg.Get(fd).String(), Fingerprint: sum[:],
	}, true, nil
}

// pathVariable matches a variable of an HTTP path template, e.g. {id}.
var pathVariable = regexp.MustCompile(`\{([a-z_.]+)\}`)

// httpRule is one HTTP binding of the gateway: the full gRPC method it
// serves ("/xuncha.v1.FindingService/ReferFinding"), its HTTP method and
// its path template ("/v1/findings/{id}:refer").
type httpRule struct {
	grpcMethod, method, template string
}

// httpRules reads the gateway's HTTP rules (proto/xuncha/v1's YAML).
var httpRules = sync.OnceValues(func() ([]httpRule, error) {
	var config struct {
		HTTP struct {
			Rules []map[string]string `yaml:"rules"`
		} `yaml:"http"`
	}
	if err := yaml.Unmarshal(xunchav1.HTTPRules, &config); err != nil {
		return nil, fmt.Errorf("reading the HTTP rules: %w", err)
	}
	var out []httpRule
	for _, rule := range config.HTTP.Rules {
		selector := rule["selector"]
		i := strings.LastIndex(selector, ".")
		if i < 0 {
			continue
		}
		for _, verb := range []string{"get", "post", "put", "patch", "delete"} {
			if path, ok := rule[verb]; ok {
				out = append(out, httpRule{grpcMethod: "/" + selector[:i] + "/" + selector[i+1:], method: strings.ToUpper(verb), template: path})
			}
		}
	}
	return out, nil
})

// httpTemplates maps each full gRPC method to the path template of its
// HTTP binding.
var httpTemplates = sync.OnceValues(func() (map[string]string, error) {
	rules, err := httpRules()
	if err != nil {
		return nil, err
	}
	templates := map[string]string{}
	for _, r := range rules {
		templates[r.grpcMethod] = r.template
	}
	return templates, nil
})

// requestTarget names what a request targets: its HTTP path with the
// variables filled in from the request, without "/v1/" and the ":verb".
func requestTarget(method string, msg protoreflect.Message) (string, error) {
	templates, err := httpTemplates()
	if err != nil {
		return "", err
	}
	template, ok := templates[method]
	if !ok {
		return "", fmt.Errorf("method %s has no HTTP binding to name its target", method)
	}
	if i := strings.LastIndex(template, ":"); i > strings.LastIndex(template, "}") {
		template = template[:i]
	}
	target := pathVariable.ReplaceAllStringFunc(template, func(v string) string {
		name := protoreflect.Name(strings.Trim(v, "{}"))
		fd := msg.Descriptor().Fields().ByName(name)
		if fd == nil {
			return v
		}
		return fmt.Sprint(msg.Get(fd).Interface())
	})
	return strings.TrimPrefix(target, "/v1/"), nil
}

// withIdempotency runs handler under the request's idempotency key: it claims
// the key, refuses a reused one, and releases a fresh claim when the handler
// refused the request; a lifecycle's change (deferredClaims) leaves its key
// to sendChange (withDeferredKey).
func (s *Server) withIdempotency(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
	who, known := actor.FromContext(ctx)
	if !known {
		// Nobody to hold the key for: the handler refuses the change
		// (401) before anything is recorded, the key included.
		return handler(ctx, req)
	}
	key, ok, err := idempotencyKey(info.FullMethod, who, req)
	if err != nil || !ok {
		if err != nil {
			return nil, err
		}
		return handler(ctx, req)
	}
	if deferredClaims[info.FullMethod] {
		return s.withDeferredKey(ctx, req, info, handler, key)
	}
	stored, claimed, err := s.Ledger.ClaimIdempotencyKey(ctx, key)
	if err != nil {
		return nil, err
	}
	if !bytes.Equal(stored, key.Fingerprint) {
		// Out of scope is not found, before it is a reused key.
		if err := targetInReach(ctx, s.Ledger, key.Target); err != nil {
			return nil, err
		}
		return nil, keyReusedError(key, incomingLang(ctx))
	}
	resp, err := handler(ctx, req)
	if err != nil && claimed && changedNothing(err) {
		if rerr := s.Ledger.ReleaseIdempotencyKey(context.WithoutCancel(ctx), key); rerr != nil {
			logging.Ctx(ctx, s.Log).Warn("releasing a refused request's key", zap.String("method", key.Method), zap.Error(rerr))
		}
	}
	return resp, err
}

// changedNothing reports whether err refused a request before it could take
// effect. Unavailable, deadline and internal errors are not such refusals:
// the change may have gone through, and a retry must find the key.
func changedNothing(err error) bool {
	switch toStatus(err, zap.NewNop(), i18n.English).Code() {
	case codes.InvalidArgument, codes.NotFound, codes.PermissionDenied, codes.Unauthenticated,
		codes.FailedPrecondition, codes.AlreadyExists, codes.OutOfRange:
		return true
	}
	return false
}

// freesLineup reports whether a create answered err gives back the line-up
// it named (CreateInspection): a refusal that changed nothing does, but
// not ALREADY_EXISTS, which says another request holds the inspection ID.
// That request took the line-up (this one found it taken by the ID, as a
// retry would), and its inspection may not be in the ledger yet: freeing
// the line-up would hand its team to a third.
func freesLineup(err error) bool {
	return err != nil && changedNothing(err) && toStatus(err, zap.NewNop(), i18n.English).Code() != codes.AlreadyExists
}

// keyReusedError refuses a request_id that an earlier, different request
// used in the same scope.
func keyReusedError(k ledger.IdempotencyKey, lang i18n.Lang) error {
	st := status.New(codes.AlreadyExists, lang.Say(
		"request_id %q was already used for a different request to %s (%s); use a new request_id for a new request",
		k.RequestID, k.Target, k.Method))
	if d, err := st.WithDetails(&errdetails.ErrorInfo{
		Reason: reasonKeyReused, Domain: errorDomain,
		Metadata: map[string]string{"request_id": k.RequestID, "method": k.Method, "target": k.Target},
	}); err == nil {
		st = d
	}
	return st.Err()
}

// generatedID derives a resource's ID from its idempotency scope, so that a
// retried create lands on the same workflow and two different creates never
// share an ID. scope is the parent the resource is created under ("" for a
// top-level collection, whose scope the prefix already names): a finding's
// ID comes from its inspection and its request_id, never from the key alone.
func generatedID(prefix, scope, requestID string) string {
	seed := prefix + "\x00" + requestID
	if scope != "" {
		seed = prefix + "\x00" + scope + "\x00" + requestID
	}
	sum := sha256.Sum256([]byte(seed))
	return prefix + "-" + fmt.Sprintf("%x", sum[:8])
}

// derivedShape reports whether id has the shape of an ID generatedID
// derives with prefix: a client may not choose such an ID, which another
// request's create may derive.
func derivedShape(prefix, id string) bool {
	hexDigits, ok := strings.CutPrefix(id, prefix+"-")
	if !ok || len(hexDigits) != 16 {
		return false
	}
	_, err := hex.DecodeString(hexDigits)
	return err == nil && strings.ToLower(hexDigits) == hexDigits
}

// deferredClaims are the changes of the lifecycles whose handlers read
// what they need and send one Update through sendChange, which checks
// their request_id against the Update's answer, or against the
// fingerprint the change's event keeps once the workflow's history is gone
// (deferredKey).
var deferredClaims = map[string]bool{
	xunchav1.FindingService_DiagnoseFinding_FullMethodName:                  true,
	xunchav1.FindingService_ClassifyFinding_FullMethodName:                  true,
	xunchav1.FindingService_ReferFinding_FullMethodName:                     true,
	xunchav1.FindingService_ReportRectification_FullMethodName:              true,
	xunchav1.FindingService_VerifyFinding_FullMethodName:                    true,
	xunchav1.FindingService_WithdrawFinding_FullMethodName:                  true,
	xunchav1.FindingService_RequestExtension_FullMethodName:                 true,
	xunchav1.FindingService_DecideExtension_FullMethodName:                  true,
	xunchav1.FindingService_SignOffFinding_FullMethodName:                   true,
	xunchav1.FindingService_AcknowledgeReferral_FullMethodName:              true,
	xunchav1.FindingService_ReferClue_FullMethodName:                        true,
	xunchav1.FindingService_ReportReferralOutcome_FullMethodName:            true,
	xunchav1.InspectionService_ApproveTeam_FullMethodName:                   true,
	xunchav1.InspectionService_NotifyInspection_FullMethodName:              true,
	xunchav1.InspectionService_StationInspection_FullMethodName:             true,
	xunchav1.InspectionService_EndOnsite_FullMethodName:                     true,
	xunchav1.InspectionService_SubmitReport_FullMethodName:                  true,
	xunchav1.InspectionService_ReviewReport_FullMethodName:                  true,
	xunchav1.InspectionService_ApproveReport_FullMethodName:                 true,
	xunchav1.InspectionService_GiveFeedback_FullMethodName:                  true,
	xunchav1.InspectionService_RecheckFinding_FullMethodName:                true,
	xunchav1.InspectionService_ReportInspectionRectification_FullMethodName: true,
	xunchav1.InspectionService_CloseInspection_FullMethodName:               true,
	xunchav1.InspectionService_CancelInspection_FullMethodName:              true,
	xunchav1.InterviewService_ApproveInterview_FullMethodName:               true,
	xunchav1.InterviewService_HoldInterview_FullMethodName:                  true,
	xunchav1.InterviewService_ReportInterviewFollowUp_FullMethodName:        true,
	xunchav1.InterviewService_CloseInterview_FullMethodName:                 true,
	xunchav1.InterviewService_CancelInterview_FullMethodName:                true,
	xunchav1.InvitationService_AcceptInvitation_FullMethodName:              true,
	xunchav1.InvitationService_DeclineInvitation_FullMethodName:             true,
	xunchav1.InvitationService_JudgeDecline_FullMethodName:                  true,
}

// deferredKey is the idempotency key of a change in deferredClaims. The
// change's Update ID derives from its request_id and goes to the one
// workflow its target names, so Temporal answers the same key sent again
// with the first Update's answer, unrun; that answer echoes the fingerprint
// of the request it answers (workflows.Change.Fingerprint), and sendChange
// refuses another request's (answered). Once the workflow's history is
// gone, the event the change wrote under the Update's ID keeps the same
// fingerprint (casework.Event.RequestFingerprint, vouch). The key goes to
// the ledger's idempotency_keys only where neither can vouch for a later
// request: after a failure that may have changed something (settle), and
// before a resend under updatechain's next ID, which is decided anew
// (vouch with nothing recorded, the guard).
type deferredKey struct {
	key   ledger.IdempotencyKey
	store *ledger.Store
	log   *zap.Logger
	// taken says sendChange took the key over.
	taken bool
}

// deferredKeyCtx is the context key of a change's deferredKey.
type deferredKeyCtx struct{}

// deferredKeyOf is the deferredKey of the change ctx serves, nil when its
// key was claimed before the handler, or it has none.
func deferredKeyOf(ctx context.Context) *deferredKey {
	d, _ := ctx.Value(deferredKeyCtx{}).(*deferredKey)
	return d
}

// withDeferredKey runs the handler of a change in deferredClaims with its
// key deferred to sendChange. A handler that answered without sending its
// change there (none should) has its key claimed after it, unless it
// refused the request, and is logged.
func (s *Server) withDeferredKey(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler,
	key ledger.IdempotencyKey,
) (any, error) {
	d := &deferredKey{key: key, store: s.Ledger, log: s.Log}
	resp, err := handler(context.WithValue(ctx, deferredKeyCtx{}, d), req)
	if !d.taken && (err == nil || !changedNothing(err)) {
		logging.Ctx(ctx, s.Log).Error("a change whose request_id sendChange vouches for did not go through it; claimed after it",
			zap.String("method", info.FullMethod))
		d.settle(ctx, err)
	}
	return resp, err
}

// fingerprint is the fingerprint a change's Update carries; none without
// a deferred key.
func (d *deferredKey) fingerprint() []byte {
	if d == nil {
		return nil
	}
	return d.key.Fingerprint
}

// claim claims the key now, refusing it when another request holds it.
func (d *deferredKey) claim(ctx context.Context) error {
	stored, _, err := d.store.ClaimIdempotencyKey(ctx, d.key)
	if err != nil {
		return err
	}
	if !bytes.Equal(stored, d.key.Fingerprint) {
		return keyReusedError(d.key, incomingLang(ctx))
	}
	return nil
}

// vouch refuses the key when the change recorded under it was another
// request's: recorded is the fingerprint of the request whose change the
// ledger holds under the Update's ID (casework.Event.RequestFingerprint).
// With none recorded (an event written before the ledger kept them, or no
// event at all, before a resend) the key is claimed, as before the Update
// it once was.
func (d *deferredKey) vouch(ctx context.Context, recorded []byte) error {
	if len(recorded) == 0 {
		return d.claim(ctx)
	}
	if !bytes.Equal(recorded, d.key.Fingerprint) {
		return keyReusedError(d.key, incomingLang(ctx))
	}
	return nil
}

// answered checks the fingerprint the Update's answer echoes: another
// request's, which Temporal answered with because it came first under the
// same request_id, is refused as a reused key (this request changed
// nothing). An answer that echoes none, from a worker that does not echo
// yet, is vouched for by claiming the key now.
func (d *deferredKey) answered(ctx context.Context, echo []byte) error {
	if len(echo) == 0 {
		return d.claim(context.WithoutCancel(ctx))
	}
	if !bytes.Equal(echo, d.key.Fingerprint) {
		return keyReusedError(d.key, incomingLang(ctx))
	}
	return nil
}

// reusedBefore is what a request refused before its Update is answered
// when an earlier, different request used its request_id, as the claim
// made before the handler once answered it: a caller out of the target's
// scope learns only that (targetInReach), anyone else that the key is
// reused. The earlier request is known by the fingerprint the answer of
// its Update (u: workflow and Update ID) echoes, else by the one the
// ledger recorded with its change's event (the subject's), else by the
// ledger's claim. It is nil when the key is free or this request's, or
// nothing can say.
func (d *deferredKey) reusedBefore(ctx context.Context, tc client.Client, u lifecycleUpdate, subjectType, subjectID string) error {
	other := func(fingerprint []byte) bool { return !bytes.Equal(fingerprint, d.key.Fingerprint) }
	held := func() bool {
		var answer struct {
			Answers []byte `json:"answers"`
		}
		updateID := workflows.UpdateID(u.action, u.requestID)
		h := tc.GetWorkflowUpdateHandle(client.GetWorkflowUpdateHandleOptions{WorkflowID: u.workflowID, UpdateID: updateID})
		if err := h.Get(ctx, &answer); err == nil && len(answer.Answers) > 0 {
			return other(answer.Answers)
		}
		events, err := d.store.Events(ctx, subjectType, subjectID)
		if err != nil {
			return false
		}
		if e := chainEvent(events, updateID); e != nil && len(e.RequestFingerprint) > 0 {
			return other(e.RequestFingerprint)
		}
		stored, found, err := d.store.IdempotencyKeyHolder(ctx, d.key)
		return err == nil && found && other(stored)
	}
	if !held() {
		return nil
	}
	if err := targetInReach(ctx, d.store, d.key.Target); err != nil {
		return err
	}
	return keyReusedError(d.key, incomingLang(ctx))
}

// settle records the key of a change that failed in a way that may have
// changed something (err), or that answered without its Update (err nil,
// withDeferredKey): no Update's answer or event may vouch for a later
// request. The change stands whatever the ledger says: a claim that cannot
// be written is logged, and one another request holds is left to it.
func (d *deferredKey) settle(ctx context.Context, err error) {
	if err != nil && changedNothing(err) {
		return
	}
	if _, _, cerr := d.store.ClaimIdempotencyKey(context.WithoutCancel(ctx), d.key); cerr != nil {
		logging.Ctx(ctx, d.log).Warn("recording a change's request_id after it", zap.String("method", d.key.Method),
			zap.String("target", d.key.Target), zap.Error(cerr))
	}
}
