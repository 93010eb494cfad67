package payloadcrypt

import (
	"bytes"
	"context"
	"crypto/hkdf"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"hash"
	"strings"
	"time"

	"github.com/emmansun/gmsm/sm3"
	"github.com/google/uuid"

	commonpb "go.temporal.io/api/common/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/interceptor"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/xuncha/xuncha/internal/derrors"
)

// Signed changes. Encryption keeps a history's content from whoever reads
// Temporal's store, but it does not say who sent what a workflow is asked
// to do: a client of the Temporal frontend without any key could send an
// Update whose input is plain JSON (Decode passes plaintext through, for
// the histories recorded before encryption), or copy an encrypted input
// out of one workflow's history into an Update to another. So every client
// built with ClientOptions signs what it asks of a workflow — each Update
// and each start — with a key derived from the ring's encrypting key, in
// the request's header, and every worker built on such a client refuses,
// before anything is recorded, an Update or a start whose signature is
// missing, made with a key its ring does not hold, made for another
// namespace, workflow, Update, name or arguments, or made too long ago.
// (The signature is itself encrypted, as every payload is.)
//
// What is signed is the kind of request (an Update or a start), the
// namespace, the workflow ID, the Update's or the workflow type's name, the
// Update ID, each argument in a canonical JSON form (canonicalJSON) and the
// time of signing, which must be within SignatureWindow of the Temporal
// server's time when the worker checks it. The worker checks the arguments
// it decoded, re-encoded the same way, so the signature covers exactly
// what the workflow reads: a field set that the worker's release does not
// know is not read, and fails the check; a field the worker knows and the
// sender does not is empty once decoded, and empty members are left out of
// the canonical form, so a worker newer than the server checks the
// server's requests.
//
// Not checked: what is recorded already (an Update is checked when it
// arrives, never when a history replays), a workflow started by another
// workflow (its parent was checked) or continued as new, a start by a
// schedule (AuditAnchorWorkflow, which takes no input of a client's), and
// signals, which a workflow replays: a check there would have to give the
// same answer in every later replay, after the key that signed it has left
// the ring (README, Known limits).

// Header fields of a signed request. An update-with-start carries both, in
// the one header its start and its Update share.
const (
	// StartSignatureHeader signs a workflow's start.
	StartSignatureHeader = "xuncha-start-signature"
	// UpdateSignatureHeader signs an Update.
	UpdateSignatureHeader = "xuncha-update-signature"
)

// ReasonNotSigned is the ApplicationError type of an Update or a start a
// worker refused for its signature.
const ReasonNotSigned = derrors.TypeNotSigned

// ErrNotSigned is wrapped by the errors of a signature that does not hold.
var ErrNotSigned = errors.New("payloadcrypt: the request is not signed by a key of this key ring")

// errNoSignature is wrapped, beside ErrNotSigned, when a request carries
// no signature at all (Codec.AcceptUnsigned).
var errNoSignature = errors.New("no signature")

// macInfo separates the signing key derived from a ring key from the key
// itself (and from any later use of it).
const macInfo = "xuncha change signature v1"

// Request kinds, signed with what they ask.
const (
	kindStart  = "start"
	kindUpdate = "update"
)

// macHash is the hash a key's signatures use: SM3 for an SM4 key (the
// national commercial-cryptography rules' HMAC, GB/T 15852.2), SHA-256
// otherwise.
func macHash(cipherName string) func() hash.Hash {
	if cipherName == SM4GCM {
		return sm3.New
	}
	return sha256.New
}

// macKey derives the signing key of a ring key.
func macKey(k Key) ([]byte, error) {
	return hkdf.Key(macHash(k.Cipher), k.Secret, nil, macInfo, 32)
}

// SignatureWindow is how far a signature's time may be from the moment
// the worker checks it: the Temporal server's time at the start of a
// workflow, the workflow task's for an Update, both set by the Temporal
// server's clock. A request signed longer ago (or, by a fast clock, later)
// is refused: a captured signature serves no replay after it. Keep the
// clocks of the servers, the workers and the Temporal server within it
// (NTP).
const SignatureWindow = 5 * time.Minute

// signature is what a signature header holds.
type signature struct {
	// Key is the ID of the ring key whose derived key signed.
	Key string `json:"key"`
	// At is when the client signed (its clock), itself signed.
	At  time.Time `json:"at"`
	MAC []byte    `json:"mac"`
}

// signedRequest is what a signature covers.
type signedRequest struct {
	kind, namespace, workflowID, name, updateID string
	args                                        []any
}

// message is r's canonical bytes signed at at: each part length-prefixed,
// so that no two requests share them.
func (r signedRequest) message(at time.Time) ([]byte, error) {
	var b bytes.Buffer
	part := func(p []byte) {
		b.Write(binary.BigEndian.AppendUint32(nil, uint32(len(p))))
		b.Write(p)
	}
	part([]byte("xuncha-signed-request-v1"))
	for _, s := range []string{r.kind, r.namespace, r.workflowID, r.name, r.updateID, at.UTC().Format(time.RFC3339Nano)} {
		part([]byte(s))
	}
	b.Write(binary.BigEndian.AppendUint32(nil, uint32(len(r.args))))
	for i, a := range r.args {
		j, err := canonicalJSON(a)
		if err != nil {
			return nil, fmt.Errorf("payloadcrypt: argument %d of %s %q: %w", i, r.kind, r.name, err)
		}
		part(j)
	}
	return b.Bytes(), nil
}

// sign signs r at at with the ring's encrypting key into header[field].
func (c *Codec) sign(header map[string]*commonpb.Payload, field string, r signedRequest, at time.Time) error {
	at = at.UTC()
	msg, err := r.message(at)
	if err != nil {
		return err
	}
	k := c.keys[0]
	// Encrypted like every other payload, though a MAC hides nothing: every
	// payload of a history is then ciphertext, as an auditor checks.
	p, err := c.DataConverter().ToPayload(signature{Key: k.id, At: at, MAC: k.macOf(msg)})
	if err != nil {
		return fmt.Errorf("payloadcrypt: encoding a signature: %w", err)
	}
	header[field] = p
	return nil
}

// check verifies header[field] as r's signature, made within
// SignatureWindow of now.
func (c *Codec) check(header map[string]*commonpb.Payload, field string, r signedRequest, now time.Time) error {
	p := header[field]
	if p == nil {
		return fmt.Errorf("%w: %s carries %w", ErrNotSigned, r, errNoSignature)
	}
	var s signature
	if err := c.DataConverter().FromPayload(p, &s); err != nil {
		return fmt.Errorf("%w: %s carries an unreadable signature", ErrNotSigned, r)
	}
	k, ok := c.byID[s.Key]
	if !ok {
		return fmt.Errorf("%w: %s is signed with key %q, which the key ring (%s) does not hold",
			ErrNotSigned, r, s.Key, strings.Join(c.KeyIDs(), ", "))
	}
	msg, err := r.message(s.At)
	if err != nil {
		return err
	}
	if !hmac.Equal(k.macOf(msg), s.MAC) {
		return fmt.Errorf("%w: the signature of %s does not match it: it was made for another request, or the request was altered", ErrNotSigned, r)
	}
	if d := now.Sub(s.At); d > SignatureWindow || d < -SignatureWindow {
		return fmt.Errorf("%w: %s was signed at %s, %s from %s, more than the %s a signature holds: a request sent again, or a clock that is off",
			ErrNotSigned, r, s.At.Format(time.RFC3339), d.Round(time.Second), now.UTC().Format(time.RFC3339), SignatureWindow)
	}
	return nil
}

// macOf is the MAC of msg under e's signing key.
func (e *entry) macOf(msg []byte) []byte {
	m := hmac.New(macHash(e.cipher), e.mac)
	m.Write(msg)
	return m.Sum(nil)
}

// String names r in errors: `the update of Update "verify" to workflow
// "finding/f-1"`.
func (r signedRequest) String() string {
	what := "Update"
	if r.kind == kindStart {
		what = "workflow type"
	}
	return fmt.Sprintf("the %s of %s %q to workflow %q", r.kind, what, r.name, r.workflowID)
}

// signer is the interceptor ClientOptions installs: it signs what the
// client asks of workflows and, in the workers built on the client, checks
// what they are asked.
type signer struct {
	interceptor.InterceptorBase
	codec *Codec
	// namespace is the client's: what it signs is for that namespace only.
	namespace string
}

func (s *signer) InterceptClient(next interceptor.ClientOutboundInterceptor) interceptor.ClientOutboundInterceptor {
	return &signingClient{ClientOutboundInterceptorBase: interceptor.ClientOutboundInterceptorBase{Next: next}, codec: s.codec,
		namespace: s.namespace}
}

func (s *signer) InterceptWorkflow(_ workflow.Context, next interceptor.WorkflowInboundInterceptor) interceptor.WorkflowInboundInterceptor {
	return &checkingWorkflow{WorkflowInboundInterceptorBase: interceptor.WorkflowInboundInterceptorBase{Next: next}, codec: s.codec}
}

// signingClient signs a client's starts and Updates.
type signingClient struct {
	interceptor.ClientOutboundInterceptorBase
	codec     *Codec
	namespace string
}

func (c *signingClient) ExecuteWorkflow(ctx context.Context, in *interceptor.ClientExecuteWorkflowInput) (client.WorkflowRun, error) {
	if err := c.codec.sign(interceptor.Header(ctx), StartSignatureHeader,
		signedRequest{kind: kindStart, namespace: c.namespace, workflowID: in.Options.ID, name: in.WorkflowType, args: in.Args}, time.Now()); err != nil {
		return nil, err
	}
	return c.Next.ExecuteWorkflow(ctx, in)
}

func (c *signingClient) UpdateWorkflow(ctx context.Context, in *interceptor.ClientUpdateWorkflowInput) (client.WorkflowUpdateHandle, error) {
	if in.UpdateID == "" {
		// The SDK would make one up after this, which the signature would
		// not cover.
		in.UpdateID = uuid.NewString()
	}
	if err := c.codec.sign(interceptor.Header(ctx), UpdateSignatureHeader,
		signedRequest{kind: kindUpdate, namespace: c.namespace, workflowID: in.WorkflowID, name: in.UpdateName, updateID: in.UpdateID, args: in.Args},
		time.Now()); err != nil {
		return nil, err
	}
	return c.Next.UpdateWorkflow(ctx, in)
}

// startKey carries an update-with-start's start (WithStart) to the
// interceptor, which cannot read it from the start operation.
type startKey struct{}

// start is what WithStart records.
type start struct {
	workflowID, workflowType string
	args                     []any
}

// WithStart returns ctx carrying the start of an update-with-start sent
// with it, for the start's signature: give it the options, type and
// arguments given to NewWithStartWorkflowOperation. A client built with
// ClientOptions refuses an update-with-start without it.
func WithStart(ctx context.Context, opts client.StartWorkflowOptions, workflowType string, args ...any) context.Context {
	return context.WithValue(ctx, startKey{}, start{workflowID: opts.ID, workflowType: workflowType, args: args})
}

func (c *signingClient) UpdateWithStartWorkflow(ctx context.Context, in *interceptor.ClientUpdateWithStartWorkflowInput) (client.WorkflowUpdateHandle, error) {
	st, ok := ctx.Value(startKey{}).(start)
	if !ok {
		return nil, errors.New("payloadcrypt: an update-with-start without its start's arguments cannot be signed: pass the context through payloadcrypt.WithStart")
	}
	header, now := interceptor.Header(ctx), time.Now()
	if err := c.codec.sign(header, StartSignatureHeader,
		signedRequest{kind: kindStart, namespace: c.namespace, workflowID: st.workflowID, name: st.workflowType, args: st.args}, now); err != nil {
		return nil, err
	}
	u := in.UpdateOptions
	if u.UpdateID == "" {
		u.UpdateID = uuid.NewString() // as in UpdateWorkflow
	}
	workflowID := u.WorkflowID
	if workflowID == "" {
		workflowID = st.workflowID
	}
	if err := c.codec.sign(header, UpdateSignatureHeader,
		signedRequest{kind: kindUpdate, namespace: c.namespace, workflowID: workflowID, name: u.UpdateName, updateID: u.UpdateID, args: u.Args},
		now); err != nil {
		return nil, err
	}
	return c.Next.UpdateWithStartWorkflow(ctx, in)
}

// checkingWorkflow checks a workflow's start and its Updates as they
// arrive.
type checkingWorkflow struct {
	interceptor.WorkflowInboundInterceptorBase
	codec *Codec
}

// ScheduledTypes are the workflow types a schedule starts, without a
// client's header, and whose starts are not checked: what they take is none
// of a client's (the audit anchor, workflows.AuditAnchorWorkflowName).
var ScheduledTypes = map[string]bool{"AuditAnchorWorkflow": true}

// ExecuteWorkflow checks the start of a workflow a client started, when it
// first runs, against the time the Temporal server started it: a replay of
// a started workflow does not check again (its key may have left the ring
// since), and so gives the commands it gave. A start that fails the check
// fails the run before it does anything, and is not retried.
//
// A run continued from another is not checked when the other continued as
// new (its workflow's own doing, checked as it started). Temporal also
// continues a run for a cron schedule and for a retry, whatever the first
// run's fate: a run of a cron schedule is refused (xuncha starts none), and
// a retry is checked as a start.
func (w *checkingWorkflow) ExecuteWorkflow(ctx workflow.Context, in *interceptor.ExecuteWorkflowInput) (any, error) {
	info := workflow.GetInfo(ctx)
	continued := info.ContinuedExecutionRunID != "" && info.CronSchedule == "" && info.Attempt <= 1
	if !workflow.IsReplaying(ctx) && info.ParentWorkflowExecution == nil && !continued && !ScheduledTypes[info.WorkflowType.Name] {
		err := w.codec.check(interceptor.WorkflowHeader(ctx), StartSignatureHeader,
			signedRequest{kind: kindStart, namespace: info.Namespace, workflowID: info.WorkflowExecution.ID, name: info.WorkflowType.Name, args: in.Args},
			info.WorkflowStartTime)
		if w.accepted(ctx, err) {
			err = nil
		}
		if err == nil && info.CronSchedule != "" {
			err = fmt.Errorf("%w: workflow %q runs on a cron schedule (%q), which xuncha never gives", ErrNotSigned, info.WorkflowExecution.ID, info.CronSchedule)
		}
		if err != nil {
			workflow.GetLogger(ctx).Warn("refused a start that is not signed", "Error", err)
			return nil, temporal.NewNonRetryableApplicationError(err.Error(), ReasonNotSigned, nil)
		}
	}
	return w.Next.ExecuteWorkflow(ctx, in)
}

// ValidateUpdate refuses an Update whose signature does not hold, before
// the workflow's own validator: Temporal records nothing of a refused
// Update. Updates are validated as they arrive, never in a replay.
func (w *checkingWorkflow) ValidateUpdate(ctx workflow.Context, in *interceptor.UpdateInput) error {
	info := workflow.GetInfo(ctx)
	err := w.codec.check(interceptor.WorkflowHeader(ctx), UpdateSignatureHeader,
		signedRequest{kind: kindUpdate, namespace: info.Namespace, workflowID: info.WorkflowExecution.ID, name: in.Name,
			updateID: workflow.GetCurrentUpdateInfo(ctx).ID, args: in.Args},
		workflow.Now(ctx))
	if err != nil && !w.accepted(ctx, err) {
		workflow.GetLogger(ctx).Warn("refused an Update that is not signed", "Error", err)
		return temporal.NewNonRetryableApplicationError(err.Error(), ReasonNotSigned, nil)
	}
	return w.Next.ValidateUpdate(ctx, in)
}

// accepted reports whether err, a failed check, is a request without any
// signature that the codec takes for its rollout (Codec.AcceptUnsigned),
// and warns of it.
func (w *checkingWorkflow) accepted(ctx workflow.Context, err error) bool {
	if !w.codec.AcceptUnsigned || !errors.Is(err, errNoSignature) {
		return false
	}
	workflow.GetLogger(ctx).Warn("accepted a request that is not signed (XUNCHA_ACCEPT_UNSIGNED): sign everything, then turn it off", "Error", err)
	return true
}
