package payloadcrypt

import (
	"bytes"
	"encoding/json"
	"errors"
	"testing"
	"time"

	commonpb "go.temporal.io/api/common/v1"
	"go.temporal.io/sdk/interceptor"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"
)

func testRing(t *testing.T, keys ...Key) *Codec {
	t.Helper()
	c, err := New(keys)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func testKey(id, cipherName string, fill byte) Key {
	return Key{ID: id, Cipher: cipherName, Secret: bytes.Repeat([]byte{fill}, keySizes[cipherName])}
}

type diagnoseArg struct {
	RequestID string         `json:"request_id"`
	Note      string         `json:"note,omitempty"`
	Data      any            `json:"data,omitempty"`
	Extra     map[string]int `json:"extra,omitempty"`
}

// TestSignatureBindsTheRequest signs one request and checks it against
// every way of changing it, and against rings that did not sign it.
func TestSignatureBindsTheRequest(t *testing.T) {
	k1, k2 := testKey("k1", AES256GCM, 1), testKey("k2", AES256GCM, 2)
	signing := testRing(t, k1)
	at := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	signed := signedRequest{kind: kindUpdate, namespace: "default", workflowID: "finding/f-1", name: "diagnose", updateID: "diagnose/r-1",
		args: []any{diagnoseArg{RequestID: "r-1", Note: "原因"}}}
	header := map[string]*commonpb.Payload{}
	if err := signing.sign(header, UpdateSignatureHeader, signed, at); err != nil {
		t.Fatal(err)
	}
	if err := signing.check(header, UpdateSignatureHeader, signed, at); err != nil {
		t.Fatalf("the request as signed: %v", err)
	}
	// A ring that holds the signing key behind a new one (a rotation)
	// takes what the old key signed.
	if err := testRing(t, k2, k1).check(header, UpdateSignatureHeader, signed, at); err != nil {
		t.Fatalf("after a rotation: %v", err)
	}

	altered := map[string]signedRequest{}
	for name, change := range map[string]func(*signedRequest){
		"kind":        func(r *signedRequest) { r.kind = kindStart },
		"namespace":   func(r *signedRequest) { r.namespace = "staging" },
		"workflow ID": func(r *signedRequest) { r.workflowID = "finding/f-2" },
		"name":        func(r *signedRequest) { r.name = "classify" },
		"update ID":   func(r *signedRequest) { r.updateID = "diagnose/r-2" },
		"argument":    func(r *signedRequest) { r.args = []any{diagnoseArg{RequestID: "r-1", Note: "原因!"}} },
		"no argument": func(r *signedRequest) { r.args = nil },
		"one more":    func(r *signedRequest) { r.args = append([]any{}, signed.args[0], "x") },
		// Parts that would run together without their lengths.
		"shifted": func(r *signedRequest) { r.workflowID, r.name = "finding/f-1d", "iagnose" },
	} {
		r := signed
		change(&r)
		altered[name] = r
	}
	for name, r := range altered {
		err := signing.check(header, UpdateSignatureHeader, r, at)
		if !errors.Is(err, ErrNotSigned) {
			t.Errorf("%s changed: %v, want ErrNotSigned", name, err)
		}
	}

	for name, check := range map[string]func() error{
		"no header":       func() error { return signing.check(map[string]*commonpb.Payload{}, UpdateSignatureHeader, signed, at) },
		"the other field": func() error { return signing.check(header, StartSignatureHeader, signed, at) },
		"a ring without":  func() error { return testRing(t, k2).check(header, UpdateSignatureHeader, signed, at) },
		"same ID, new key": func() error {
			return testRing(t, testKey("k1", AES256GCM, 9)).check(header, UpdateSignatureHeader, signed, at)
		},
	} {
		if err := check(); !errors.Is(err, ErrNotSigned) {
			t.Errorf("%s: %v, want ErrNotSigned", name, err)
		}
	}

	// A signature is good within SignatureWindow of when it was made, by
	// either clock: a request sent again later is refused.
	for _, d := range []time.Duration{-SignatureWindow, SignatureWindow} {
		if err := signing.check(header, UpdateSignatureHeader, signed, at.Add(d)); err != nil {
			t.Errorf("checked %s from its signing: %v", d, err)
		}
	}
	for _, d := range []time.Duration{-SignatureWindow - time.Second, SignatureWindow + time.Second, 30 * 24 * time.Hour} {
		if err := signing.check(header, UpdateSignatureHeader, signed, at.Add(d)); !errors.Is(err, ErrNotSigned) {
			t.Errorf("checked %s from its signing: %v, want ErrNotSigned", d, err)
		}
	}
	// Its time is signed too: a header whose time was moved does not hold.
	var moved signature
	if err := signing.DataConverter().FromPayload(header[UpdateSignatureHeader], &moved); err != nil {
		t.Fatal(err)
	}
	moved.At = moved.At.Add(time.Hour)
	mp, err := signing.DataConverter().ToPayload(moved)
	if err != nil {
		t.Fatal(err)
	}
	if err := signing.check(map[string]*commonpb.Payload{UpdateSignatureHeader: mp}, UpdateSignatureHeader, signed, moved.At); !errors.Is(err, ErrNotSigned) {
		t.Errorf("a signature whose time was moved: %v, want ErrNotSigned", err)
	}

	// A signature made with another key under the signing key's ID, put
	// in a header the ring can read: the MAC does not hold.
	forger := testRing(t, testKey("k1", AES256GCM, 9))
	forged := map[string]*commonpb.Payload{}
	if err := forger.sign(forged, UpdateSignatureHeader, signed, at); err != nil {
		t.Fatal(err)
	}
	var s signature
	if err := forger.DataConverter().FromPayload(forged[UpdateSignatureHeader], &s); err != nil {
		t.Fatal(err)
	}
	p, err := signing.DataConverter().ToPayload(s)
	if err != nil {
		t.Fatal(err)
	}
	if err := signing.check(map[string]*commonpb.Payload{UpdateSignatureHeader: p}, UpdateSignatureHeader, signed, at); !errors.Is(err, ErrNotSigned) {
		t.Errorf("a MAC of another key: %v, want ErrNotSigned", err)
	}
}

// TestSignatureWithSM4 signs with an SM4 ring (HMAC-SM3) and checks that
// its signing key is not the AES ring's of the same bytes.
func TestSignatureWithSM4(t *testing.T) {
	sm := testRing(t, testKey("k1", SM4GCM, 1))
	at := time.Now()
	r := signedRequest{kind: kindStart, workflowID: "inspection/ins-1", name: "InspectionWorkflow", args: []any{map[string]string{"id": "ins-1"}}}
	header := map[string]*commonpb.Payload{}
	if err := sm.sign(header, StartSignatureHeader, r, at); err != nil {
		t.Fatal(err)
	}
	if err := sm.check(header, StartSignatureHeader, r, at); err != nil {
		t.Fatal(err)
	}
	if bytes.Equal(sm.keys[0].mac, testRing(t, testKey("k1", AES256GCM, 1)).keys[0].mac[:len(sm.keys[0].mac)]) {
		t.Error("the SM4 and AES keys of the same bytes derive the same signing key")
	}
	if bytes.Equal(sm.keys[0].mac, bytes.Repeat([]byte{1}, len(sm.keys[0].mac))) {
		t.Error("the signing key is the encryption key")
	}
}

// TestCanonicalJSON: what a client sends and what the worker decoded it
// into give the same bytes where JSON loses the Go type (a struct in an
// interface field arrives as a map) and where key order differs.
func TestCanonicalJSON(t *testing.T) {
	sent := diagnoseArg{RequestID: "r-1", Data: struct {
		B string `json:"b"`
		A int64  `json:"a"`
	}{B: "乙", A: 42}, Extra: map[string]int{"z": 1, "a": 2}}
	raw, err := json.Marshal(sent)
	if err != nil {
		t.Fatal(err)
	}
	var decoded diagnoseArg
	if err := json.Unmarshal(raw, &decoded); err != nil {
		t.Fatal(err)
	}
	if _, ok := decoded.Data.(map[string]any); !ok {
		t.Fatalf("decoded %T", decoded.Data)
	}
	x, err := canonicalJSON(sent)
	if err != nil {
		t.Fatal(err)
	}
	y, err := canonicalJSON(decoded)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(x, y) {
		t.Errorf("sent %s, decoded %s", x, y)
	}

	// A worker newer than the server decodes into a type with a field the
	// server's lacks: empty, it leaves the bytes as they were, whatever
	// its kind; set, it changes them.
	type older struct {
		RequestID string `json:"request_id"`
		Items     []int  `json:"items"`
	}
	type newer struct {
		RequestID string            `json:"request_id"`
		Items     []int             `json:"items"`
		Note      string            `json:"note"`
		Count     int               `json:"count"`
		Flag      bool              `json:"flag"`
		On        time.Time         `json:"on"`
		List      []string          `json:"list"`
		Nested    struct{ A int }   `json:"nested"`
		Map       map[string]string `json:"map"`
		Ptr       *older            `json:"ptr"`
	}
	o, err := canonicalJSON(older{RequestID: "r-1", Items: []int{0, 3}})
	if err != nil {
		t.Fatal(err)
	}
	n, err := canonicalJSON(newer{RequestID: "r-1", Items: []int{0, 3}})
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(o, n) {
		t.Errorf("older %s, newer %s", o, n)
	}
	if string(o) != `{"items":[0,3],"request_id":"r-1"}` {
		t.Errorf("a list's zero elements stay: %s", o)
	}
	set, err := canonicalJSON(newer{RequestID: "r-1", Items: []int{0, 3}, Count: 2})
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Equal(o, set) {
		t.Error("a field set left the bytes as they were")
	}

	if _, err := canonicalJSON(func() {}); err == nil {
		t.Error("a value JSON cannot hold was signed")
	}
}

// TestStartsChecked runs workflows in the Temporal test suite on a worker
// with the signing interceptor: a start without a signature fails as
// NOT_SIGNED before the workflow runs, the audit anchor's (started by its
// schedule) runs, and so does a child, whose parent was checked.
func TestStartsChecked(t *testing.T) {
	ran := map[string]int{}
	other := func(ctx workflow.Context) error { ran["Other"]++; return nil }
	anchor := func(ctx workflow.Context) error {
		ran["AuditAnchorWorkflow"]++
		return workflow.ExecuteChildWorkflow(workflow.WithChildOptions(ctx, workflow.ChildWorkflowOptions{WorkflowID: "child"}), "Other").Get(ctx, nil)
	}
	codec := testRing(t, testKey("k1", AES256GCM, 1))
	run := func(name string) error {
		var s testsuite.WorkflowTestSuite
		env := s.NewTestWorkflowEnvironment()
		env.SetWorkerOptions(worker.Options{Interceptors: []interceptor.WorkerInterceptor{&signer{codec: codec}}})
		env.RegisterWorkflowWithOptions(other, workflow.RegisterOptions{Name: "Other"})
		env.RegisterWorkflowWithOptions(anchor, workflow.RegisterOptions{Name: "AuditAnchorWorkflow"})
		env.ExecuteWorkflow(name)
		if !env.IsWorkflowCompleted() {
			t.Fatalf("%s did not complete", name)
		}
		return env.GetWorkflowError()
	}

	err := run("Other")
	var app *temporal.ApplicationError
	if !errors.As(err, &app) || app.Type() != ReasonNotSigned {
		t.Fatalf("an unsigned start: %v, want %s", err, ReasonNotSigned)
	}
	if ran["Other"] != 0 {
		t.Fatal("the unsigned workflow ran")
	}
	if err := run("AuditAnchorWorkflow"); err != nil {
		t.Fatalf("the schedule's start: %v", err)
	}
	if ran["AuditAnchorWorkflow"] != 1 || ran["Other"] != 1 {
		t.Fatalf("ran %v: the anchor and its child", ran)
	}

	// While a rollout accepts unsigned requests, the unsigned start runs.
	codec.AcceptUnsigned = true
	if err := run("Other"); err != nil {
		t.Fatalf("an unsigned start with AcceptUnsigned: %v", err)
	}
	if ran["Other"] != 2 {
		t.Fatalf("ran %v", ran)
	}
}

// TestAcceptUnsignedTakesOnlyTheUnsigned: the rollout's switch lets a
// request without a signature through, never one whose signature fails.
func TestAcceptUnsignedTakesOnlyTheUnsigned(t *testing.T) {
	codec := testRing(t, testKey("k1", AES256GCM, 1))
	codec.AcceptUnsigned = true
	r := signedRequest{kind: kindUpdate, namespace: "default", workflowID: "finding/f-1", name: "verify", updateID: "verify/r-1"}
	at := time.Now()
	if err := codec.check(map[string]*commonpb.Payload{}, UpdateSignatureHeader, r, at); !errors.Is(err, errNoSignature) {
		t.Fatalf("no header: %v, want errNoSignature", err)
	}
	forged := map[string]*commonpb.Payload{}
	if err := testRing(t, testKey("k1", AES256GCM, 9)).sign(forged, UpdateSignatureHeader, r, at); err != nil {
		t.Fatal(err)
	}
	err := codec.check(forged, UpdateSignatureHeader, r, at)
	if !errors.Is(err, ErrNotSigned) || errors.Is(err, errNoSignature) {
		t.Fatalf("a forged signature: %v, want ErrNotSigned alone (checkingWorkflow.accepted takes only errNoSignature)", err)
	}
}
