package api

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"go.uber.org/zap"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/peer"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	"github.com/xuncha/xuncha/internal/actor"
	"github.com/xuncha/xuncha/internal/authn"
	"github.com/xuncha/xuncha/internal/derrors"
	"github.com/xuncha/xuncha/internal/i18n"
	"github.com/xuncha/xuncha/ledger"
)

// The access log (issue 11 item 4): every read of sensitive content (tip
// content, evidence content) and every refused call (401, 403) is recorded
// in the ledger's access log (ledger.Store.RecordAccess), on hash chains.
//
//   - A read is recorded before the content leaves: if the record cannot be
//     written, the content is not served (UNAVAILABLE / 503; the caller may
//     retry). What is never recorded is never read.
//   - A refusal is recorded after the decision: the call is refused whether
//     or not the record is written; a failure to record is logged as an
//     error, so that a broken access log cannot be used to get through.

// refusalRecordTimeout bounds the write of a refusal's record: a refused
// caller is answered promptly even when the database is slow.
const refusalRecordTimeout = 2 * time.Second

// recordRead records that the caller in ctx, from remote, reads resource
// through action, with details (a JSON-encodable value; nil for none),
// before it is served.
func recordRead(ctx context.Context, l *ledger.Store, action, resource, remote string, details any) error {
	who, _ := actor.FromContext(ctx)
	rec := ledger.AccessRecord{Actor: who, Action: action, Resource: resource, Outcome: ledger.AccessRead, Remote: remote}
	if details != nil {
		b, err := json.Marshal(details)
		if err != nil {
			return fmt.Errorf("encoding the details of the read of %s: %w", resource, err)
		}
		rec.Details = b
	}
	if err := l.RecordAccess(ctx, rec); err != nil {
		return fmt.Errorf("the read of %s cannot be recorded in the access log, so it is not served: %v: %w",
			resource, err, derrors.ErrUnavailable)
	}
	return nil
}

// codecOutcomes is the access log's outcome of each codec access outcome.
var codecOutcomes = map[string]string{AccessAllowed: ledger.AccessRead, AccessEncoded: ledger.AccessEncoded,
	AccessUnauthenticated: ledger.AccessUnauthenticated, AccessDenied: ledger.AccessPermissionDenied, AccessFailed: ledger.AccessFailed}

// codecAudit is the codec routes' audit hook: AccessAudit when set, else
// the ledger's access log. Nothing set the hook, so no decode was recorded
// anywhere, though the access log was documented to hold them.
func (s *Server) codecAudit() AccessAuditFunc {
	if s.AccessAudit != nil || s.Ledger == nil {
		return s.AccessAudit
	}
	return func(ctx context.Context, e AccessEvent) error {
		outcome, ok := codecOutcomes[e.Outcome]
		if !ok {
			return fmt.Errorf("a codec access with outcome %q", e.Outcome)
		}
		var unrecorded json.RawMessage
		if e.Outcome != AccessAllowed && e.Outcome != AccessEncoded {
			var record bool
			if record, unrecorded = s.sampleRefusal(e.Actor, e.Remote); !record {
				return nil
			}
			// A refusal is answered whether or not it is recorded: promptly.
			var cancel context.CancelFunc
			ctx, cancel = context.WithTimeout(context.WithoutCancel(ctx), refusalRecordTimeout)
			defer cancel()
		}
		// The namespace is the caller's header, unverified: kept short.
		namespace := i18n.Clip(e.Namespace, 101)
		fields := map[string]any{"namespace": namespace, "payloads": e.Payloads, "status": e.Status}
		if unrecorded != nil {
			fields["unrecorded"] = unrecorded
		}
		details, err := json.Marshal(fields)
		if err != nil {
			return err
		}
		return s.Ledger.RecordAccess(ctx, ledger.AccessRecord{Actor: e.Actor, Action: e.Route, Resource: "codec",
			Outcome: outcome, Reason: e.Reason, Remote: e.Remote, Details: details})
	}
}

// sampleRefusal says whether a refusal of who from remote is recorded
// (refusalSampler: every one of a caller whose token verified, a bounded
// number of anonymous ones), and with which details: how many of the
// address's refusals were left out before it.
func (s *Server) sampleRefusal(who actor.Actor, remote string) (bool, json.RawMessage) {
	if who != (actor.Actor{}) {
		return true, nil
	}
	record, left := s.anonymousRefusals.admit(remote)
	if !record || left.before == 0 && left.elsewhere == 0 {
		return record, nil
	}
	said := map[string]any{}
	if left.before > 0 {
		said["unrecorded_before"], said["unrecorded_since"] = left.before, left.since.UTC()
	}
	if left.elsewhere > 0 {
		said["unrecorded_elsewhere"] = left.elsewhere
	}
	details, _ := json.Marshal(said)
	return true, details
}

// refusalOutcome is the access log's outcome of a refused call, or "" for
// a status that is not a refusal.
func refusalOutcome(code codes.Code) string {
	switch code {
	case codes.Unauthenticated:
		return ledger.AccessUnauthenticated
	case codes.PermissionDenied:
		return ledger.AccessPermissionDenied
	}
	return ""
}

// recordRefusal records a call refused with st (401 or 403; other statuses
// are not recorded) by who (the zero Actor for a caller without a verified
// token) to action on resource, from remote. It never changes the answer.
func (s *Server) recordRefusal(ctx context.Context, who actor.Actor, action, resource, remote string, st *status.Status) {
	outcome := refusalOutcome(st.Code())
	if outcome == "" || s.Ledger == nil {
		return
	}
	record, details := s.sampleRefusal(who, remote)
	if !record {
		return
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), refusalRecordTimeout)
	defer cancel()
	if err := s.Ledger.RecordAccess(ctx, ledger.AccessRecord{
		Actor: who, Action: action, Resource: resource, Outcome: outcome, Reason: st.Message(), Remote: remote, Details: details,
	}); err != nil {
		s.Log.Error("a refused call could not be recorded in the access log; it was refused anyway",
			zap.String("action", action), zap.String("resource", resource), zap.String("outcome", outcome), zap.Error(err))
	}
}

// refusedActor is who a refused caller is, as far as its verified token
// says (all its roles); the zero Actor when no token was verified.
func refusedActor(id authn.Identity, verified bool) actor.Actor {
	if !verified {
		return actor.Actor{}
	}
	a := actor.Actor{Name: id.Name, Organisation: id.Organisation, Subject: id.Subject, Role: strings.Join(id.Roles, ",")}
	if id.System {
		a.Client = id.ClientID
	}
	return a
}

// requestResource names what a gRPC request asks for: its target
// ("tips/tip-1", requestTarget), or the method when it has none.
func requestResource(method string, req any) string {
	if m, ok := req.(proto.Message); ok {
		if target, err := requestTarget(method, m.ProtoReflect()); err == nil {
			return target
		}
	}
	return method
}

// remoteOf is the caller's address: the client's, as the REST gateway
// forwards it, or the gRPC peer's. The gateway adds the address it was
// called from after any X-Forwarded-For the client sent, which the client
// chose: the last is the one it saw.
func remoteOf(ctx context.Context) string {
	if md, ok := metadata.FromIncomingContext(ctx); ok && viaGateway(md) {
		if v := md.Get("x-forwarded-for"); len(v) > 0 {
			forwarded := v[len(v)-1]
			return strings.TrimSpace(forwarded[strings.LastIndexByte(forwarded, ',')+1:])
		}
	}
	if p, ok := peer.FromContext(ctx); ok && p.Addr != nil {
		return p.Addr.String()
	}
	return ""
}
