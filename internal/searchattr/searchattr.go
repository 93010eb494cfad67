// Package searchattr is the one place that names xuncha's custom Temporal
// search attributes: the typed keys workflows upsert, the Name=Type flags the
// dev server is started with, and the idempotent registration on a cluster
// namespace.
package searchattr

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/operatorservice/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/temporal"
)

// Typed keys of the custom search attributes. Workflows upsert them with
// workflow.UpsertTypedSearchAttributes(searchattr.Stage.ValueSet(...)).
var (
	// Stage is the lifecycle stage of an inspection or finding (e.g. REFERRED).
	Stage = temporal.NewSearchAttributeKeyKeyword("XunchaStage")
	// Unit is the code of the inspected unit (e.g. 430100).
	Unit = temporal.NewSearchAttributeKeyKeyword("XunchaUnit")
	// Inspection is the ID of the inspection a workflow belongs to.
	Inspection = temporal.NewSearchAttributeKeyKeyword("XunchaInspection")
	// Severity is a hazard's severity (GENERAL or MAJOR).
	Severity = temporal.NewSearchAttributeKeyKeyword("XunchaSeverity")
	// Kind is the inspection kind or finding kind (e.g. COMPREHENSIVE, HAZARD).
	Kind = temporal.NewSearchAttributeKeyKeyword("XunchaKind")
	// DueAt is the instant the currently running deadline expires.
	DueAt = temporal.NewSearchAttributeKeyTime("XunchaDueAt")
	// Overdue tells whether the currently running deadline has passed.
	Overdue = temporal.NewSearchAttributeKeyBool("XunchaOverdue")
	// SignoffPending tells whether a finding's close-out waits for
	// sign-offs (销号 sign-off, set only once one was asked for).
	SignoffPending = temporal.NewSearchAttributeKeyBool("XunchaSignoffPending")
	// Awaiting lists what an open finding waits for from someone other than
	// the inspected unit (issue 14's follow-through): EXTENSION_DECISION,
	// REFERRAL_RECEIPT (REFERRAL_RECEIPT_OVERDUE once its deadline passed),
	// REFERRAL_OUTCOME, SIGNOFF (SIGNOFF_OVERDUE). Unset when nothing.
	Awaiting = temporal.NewSearchAttributeKeyKeywordList("XunchaAwaiting")
)

// Definition is one custom search attribute: its name and its index type.
type Definition struct {
	// Name is the attribute's name, e.g. "XunchaStage".
	Name string
	// Type is the attribute's index type, e.g. INDEXED_VALUE_TYPE_KEYWORD.
	Type enumspb.IndexedValueType
}

// String renders d as the dev server's --search-attribute value, Name=Type
// (e.g. "XunchaDueAt=Datetime").
func (d Definition) String() string {
	return d.Name + "=" + d.Type.String()
}

// Definitions returns xuncha's custom search attributes, in a stable order.
func Definitions() []Definition {
	keys := []temporal.SearchAttributeKey{Stage, Unit, Inspection, Severity, Kind, DueAt, Overdue, SignoffPending, Awaiting}
	defs := make([]Definition, len(keys))
	for i, k := range keys {
		defs[i] = Definition{Name: k.GetName(), Type: k.GetValueType()}
	}
	return defs
}

// ProbeUpdates sets every attribute of Definitions to a value of its type:
// what a probe workflow upserts to learn that a namespace knows them all
// (temporalcluster.AwaitNamespace), so that an attribute added here is
// probed too.
func ProbeUpdates() ([]temporal.SearchAttributeUpdate, error) {
	var updates []temporal.SearchAttributeUpdate
	for _, d := range Definitions() {
		switch d.Type {
		case enumspb.INDEXED_VALUE_TYPE_KEYWORD:
			updates = append(updates, temporal.NewSearchAttributeKeyKeyword(d.Name).ValueSet("PROBE"))
		case enumspb.INDEXED_VALUE_TYPE_KEYWORD_LIST:
			updates = append(updates, temporal.NewSearchAttributeKeyKeywordList(d.Name).ValueSet([]string{"PROBE"}))
		case enumspb.INDEXED_VALUE_TYPE_DATETIME:
			updates = append(updates, temporal.NewSearchAttributeKeyTime(d.Name).ValueSet(time.Unix(0, 0).UTC()))
		case enumspb.INDEXED_VALUE_TYPE_BOOL:
			updates = append(updates, temporal.NewSearchAttributeKeyBool(d.Name).ValueSet(false))
		default:
			return nil, fmt.Errorf("searchattr: no probe value for %s", d)
		}
	}
	return updates, nil
}

// DevServerFlags returns Definitions as Name=Type pairs, each the value of one
// `temporal server start-dev --search-attribute` flag.
func DevServerFlags() []string {
	defs := Definitions()
	flags := make([]string, len(defs))
	for i, d := range defs {
		flags[i] = d.String()
	}
	return flags
}

// ParseDefinition parses a Name=Type pair such as "XunchaStage=Keyword"; the
// type is matched case-insensitively against Temporal's index types (Text,
// Keyword, Int, Double, Bool, Datetime, KeywordList).
func ParseDefinition(s string) (Definition, error) {
	name, typ, ok := strings.Cut(s, "=")
	name, typ = strings.TrimSpace(name), strings.TrimSpace(typ)
	if !ok || name == "" || typ == "" {
		return Definition{}, fmt.Errorf("search attribute %q: want Name=Type", s)
	}
	for v := range enumspb.IndexedValueType_name {
		t := enumspb.IndexedValueType(v)
		if t != enumspb.INDEXED_VALUE_TYPE_UNSPECIFIED && strings.EqualFold(t.String(), typ) {
			return Definition{Name: name, Type: t}, nil
		}
	}
	return Definition{}, fmt.Errorf("search attribute %q: unknown type %q (want Text, Keyword, Int, Double, Bool, Datetime or KeywordList)", s, typ)
}

// Register makes sure xuncha's search attributes (Definitions) exist on the
// namespace. Pass client.Client.OperatorService(). See RegisterDefinitions.
func Register(ctx context.Context, ops operatorservice.OperatorServiceClient, namespace string) error {
	return RegisterDefinitions(ctx, ops, namespace, Definitions())
}

// Check tells whether xuncha's search attributes (Definitions) all exist
// on the namespace with their types, without changing anything: a worker
// checks before it polls, because a workflow that upserts an attribute the
// namespace lacks fails every task until it is registered. The error names
// the missing attributes and the command that registers them.
func Check(ctx context.Context, ops operatorservice.OperatorServiceClient, namespace string) error {
	missing, err := missingDefinitions(ctx, ops, namespace, Definitions())
	if err != nil {
		return err
	}
	if len(missing) > 0 {
		return fmt.Errorf("search attributes %s are not registered on namespace %q: run `xuncha temporal setup` (it adds only what is missing) before starting workers", names(missing), namespace)
	}
	return nil
}

// RegisterDefinitions makes sure every definition exists on the namespace,
// idempotently: it lists the namespace's search attributes, adds only the
// missing ones, and accepts losing a race to a concurrent registrar. An
// attribute that exists with another type is an error naming it; nothing is
// added then.
func RegisterDefinitions(ctx context.Context, ops operatorservice.OperatorServiceClient, namespace string, defs []Definition) error {
	missing, err := missingDefinitions(ctx, ops, namespace, defs)
	if err != nil {
		return err
	}
	if len(missing) == 0 {
		return nil
	}
	_, err = ops.AddSearchAttributes(ctx, &operatorservice.AddSearchAttributesRequest{
		Namespace:        namespace,
		SearchAttributes: missing,
	})
	var exists *serviceerror.AlreadyExists
	if errors.As(err, &exists) {
		// Someone registered (some of) them meanwhile: check they match.
		missing, err = missingDefinitions(ctx, ops, namespace, defs)
		if err != nil {
			return err
		}
		if len(missing) > 0 {
			return fmt.Errorf("registering search attributes %s on namespace %q: still missing after a concurrent registration", names(missing), namespace)
		}
		return nil
	}
	if err != nil {
		return fmt.Errorf("registering search attributes %s on namespace %q: %w", names(missing), namespace, err)
	}
	return nil
}

// missingDefinitions returns the definitions not yet on the namespace, or an
// error naming the first attribute registered with a different type.
func missingDefinitions(ctx context.Context, ops operatorservice.OperatorServiceClient, namespace string, defs []Definition) (map[string]enumspb.IndexedValueType, error) {
	resp, err := ops.ListSearchAttributes(ctx, &operatorservice.ListSearchAttributesRequest{Namespace: namespace})
	if err != nil {
		return nil, fmt.Errorf("listing search attributes of namespace %q: %w", namespace, err)
	}
	missing := map[string]enumspb.IndexedValueType{}
	for _, d := range defs {
		have, ok := resp.GetCustomAttributes()[d.Name]
		if !ok {
			have, ok = resp.GetSystemAttributes()[d.Name]
		}
		switch {
		case !ok:
			missing[d.Name] = d.Type
		case have != d.Type:
			return nil, fmt.Errorf("search attribute %s on namespace %q has type %s, want %s: rename it or recreate the namespace", d.Name, namespace, have, d.Type)
		}
	}
	return missing, nil
}

// names lists the keys of attrs, sorted, for error messages.
func names(attrs map[string]enumspb.IndexedValueType) string {
	out := make([]string, 0, len(attrs))
	for n := range attrs {
		out = append(out, n)
	}
	sort.Strings(out)
	return strings.Join(out, ", ")
}
