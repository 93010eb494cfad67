package searchattr_test

import (
	"context"
	"fmt"
	"os"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/operatorservice/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"
	"google.golang.org/grpc"
	"google.golang.org/protobuf/types/known/durationpb"

	"github.com/xuncha/xuncha/internal/searchattr"
	"github.com/xuncha/xuncha/internal/testenv"
)

func TestMain(m *testing.M) { os.Exit(testenv.Run(m)) }

func TestDevServerFlags(t *testing.T) {
	t.Parallel()
	require.Equal(t, []string{
		"XunchaStage=Keyword",
		"XunchaUnit=Keyword",
		"XunchaInspection=Keyword",
		"XunchaSeverity=Keyword",
		"XunchaKind=Keyword",
		"XunchaDueAt=Datetime",
		"XunchaOverdue=Bool",
		"XunchaSignoffPending=Bool",
		"XunchaAwaiting=KeywordList",
	}, searchattr.DevServerFlags())
}

func TestKeysMatchDefinitions(t *testing.T) {
	t.Parallel()
	require.Equal(t, "XunchaStage", searchattr.Stage.GetName())
	require.Equal(t, enumspb.INDEXED_VALUE_TYPE_DATETIME, searchattr.DueAt.GetValueType())
	require.Equal(t, enumspb.INDEXED_VALUE_TYPE_BOOL, searchattr.Overdue.GetValueType())
	for _, d := range searchattr.Definitions() {
		parsed, err := searchattr.ParseDefinition(d.String())
		require.NoError(t, err)
		require.Equal(t, d, parsed)
	}
}

func TestParseDefinition(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in      string
		want    searchattr.Definition
		wantErr string
	}{
		{in: "XunchaStage=Keyword", want: searchattr.Definition{Name: "XunchaStage", Type: enumspb.INDEXED_VALUE_TYPE_KEYWORD}},
		{in: "XunchaDueAt=datetime", want: searchattr.Definition{Name: "XunchaDueAt", Type: enumspb.INDEXED_VALUE_TYPE_DATETIME}},
		{in: "Tags=KeywordList", want: searchattr.Definition{Name: "Tags", Type: enumspb.INDEXED_VALUE_TYPE_KEYWORD_LIST}},
		{in: "XunchaStage", wantErr: "want Name=Type"},
		{in: "=Keyword", wantErr: "want Name=Type"},
		{in: "XunchaStage=Unspecified", wantErr: `unknown type "Unspecified"`},
		{in: "XunchaStage=Colour", wantErr: `unknown type "Colour"`},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			t.Parallel()
			got, err := searchattr.ParseDefinition(tt.in)
			if tt.wantErr != "" {
				require.ErrorContains(t, err, tt.wantErr)
				return
			}
			require.NoError(t, err)
			require.Equal(t, tt.want, got)
		})
	}
}

// fakeOperator records AddSearchAttributes calls against an in-memory list;
// it exercises the decisions Register makes, which the real server cannot
// provoke on demand (a concurrent registration between list and add).
type fakeOperator struct {
	operatorservice.OperatorServiceClient
	custom    map[string]enumspb.IndexedValueType
	added     []map[string]enumspb.IndexedValueType
	addErr    error
	onAdd     func()
	listCalls int
}

func (f *fakeOperator) ListSearchAttributes(context.Context, *operatorservice.ListSearchAttributesRequest, ...grpc.CallOption) (*operatorservice.ListSearchAttributesResponse, error) {
	f.listCalls++
	custom := map[string]enumspb.IndexedValueType{}
	for k, v := range f.custom {
		custom[k] = v
	}
	return &operatorservice.ListSearchAttributesResponse{
		CustomAttributes: custom,
		SystemAttributes: map[string]enumspb.IndexedValueType{"WorkflowType": enumspb.INDEXED_VALUE_TYPE_KEYWORD},
	}, nil
}

func (f *fakeOperator) AddSearchAttributes(_ context.Context, req *operatorservice.AddSearchAttributesRequest, _ ...grpc.CallOption) (*operatorservice.AddSearchAttributesResponse, error) {
	f.added = append(f.added, req.GetSearchAttributes())
	if f.onAdd != nil {
		f.onAdd()
	}
	if f.addErr != nil {
		return nil, f.addErr
	}
	for k, v := range req.GetSearchAttributes() {
		f.custom[k] = v
	}
	return &operatorservice.AddSearchAttributesResponse{}, nil
}

func TestRegisterDecisions(t *testing.T) {
	t.Parallel()
	keyword, text := enumspb.INDEXED_VALUE_TYPE_KEYWORD, enumspb.INDEXED_VALUE_TYPE_TEXT
	defs := []searchattr.Definition{{Name: "XunchaStage", Type: keyword}, {Name: "XunchaUnit", Type: keyword}}

	t.Run("adds only the missing ones", func(t *testing.T) {
		t.Parallel()
		f := &fakeOperator{custom: map[string]enumspb.IndexedValueType{"XunchaStage": keyword}}
		require.NoError(t, searchattr.RegisterDefinitions(t.Context(), f, "ns", defs))
		require.Equal(t, []map[string]enumspb.IndexedValueType{{"XunchaUnit": keyword}}, f.added)
	})
	t.Run("adds nothing when all exist", func(t *testing.T) {
		t.Parallel()
		f := &fakeOperator{custom: map[string]enumspb.IndexedValueType{"XunchaStage": keyword, "XunchaUnit": keyword}}
		require.NoError(t, searchattr.RegisterDefinitions(t.Context(), f, "ns", defs))
		require.Empty(t, f.added)
	})
	t.Run("a type conflict names the attribute and adds nothing", func(t *testing.T) {
		t.Parallel()
		f := &fakeOperator{custom: map[string]enumspb.IndexedValueType{"XunchaUnit": text}}
		err := searchattr.RegisterDefinitions(t.Context(), f, "ns", defs)
		require.EqualError(t, err, `search attribute XunchaUnit on namespace "ns" has type Text, want Keyword: rename it or recreate the namespace`)
		require.Empty(t, f.added)
	})
	t.Run("a clash with a system attribute is a conflict", func(t *testing.T) {
		t.Parallel()
		f := &fakeOperator{custom: map[string]enumspb.IndexedValueType{}}
		err := searchattr.RegisterDefinitions(t.Context(), f, "ns", []searchattr.Definition{{Name: "WorkflowType", Type: text}})
		require.ErrorContains(t, err, "search attribute WorkflowType")
	})
	t.Run("losing a race to an identical registration is fine", func(t *testing.T) {
		t.Parallel()
		f := &fakeOperator{custom: map[string]enumspb.IndexedValueType{}, addErr: serviceerror.NewAlreadyExists("exists")}
		f.onAdd = func() { f.custom["XunchaStage"], f.custom["XunchaUnit"] = keyword, keyword }
		require.NoError(t, searchattr.RegisterDefinitions(t.Context(), f, "ns", defs))
		require.Equal(t, 2, f.listCalls)
	})
	t.Run("losing a race to a conflicting registration is an error", func(t *testing.T) {
		t.Parallel()
		f := &fakeOperator{custom: map[string]enumspb.IndexedValueType{}, addErr: serviceerror.NewAlreadyExists("exists")}
		f.onAdd = func() { f.custom["XunchaStage"], f.custom["XunchaUnit"] = keyword, text }
		require.ErrorContains(t, searchattr.RegisterDefinitions(t.Context(), f, "ns", defs), "search attribute XunchaUnit")
	})
}

// namespaces numbers the namespaces a test run registers, so that go test
// -count=N registers new ones on the dev server the runs share.
var namespaces atomic.Int64

// registerNamespace creates a fresh namespace on the shared dev server,
// named prefix-<n>, and returns its name.
func registerNamespace(t *testing.T, c client.Client, prefix string) string {
	t.Helper()
	name := fmt.Sprintf("%s-%d", prefix, namespaces.Add(1))
	_, err := c.WorkflowService().RegisterNamespace(t.Context(), &workflowservice.RegisterNamespaceRequest{
		Namespace:                        name,
		WorkflowExecutionRetentionPeriod: durationpb.New(24 * time.Hour),
	})
	require.NoError(t, err)
	return name
}

func dial(t *testing.T) client.Client {
	t.Helper()
	c, err := client.DialContext(t.Context(), client.Options{HostPort: testenv.TemporalAddress(t), Namespace: testenv.Namespace})
	require.NoError(t, err)
	t.Cleanup(c.Close)
	return c
}

func TestRegisterOnARealServer(t *testing.T) {
	t.Parallel()
	c := dial(t)
	ns := registerNamespace(t, c, "searchattr-register")

	require.NoError(t, searchattr.Register(t.Context(), c.OperatorService(), ns))
	require.NoError(t, searchattr.Register(t.Context(), c.OperatorService(), ns), "idempotent")

	resp, err := c.OperatorService().ListSearchAttributes(t.Context(), &operatorservice.ListSearchAttributesRequest{Namespace: ns})
	require.NoError(t, err)
	for _, d := range searchattr.Definitions() {
		require.Equal(t, d.Type, resp.GetCustomAttributes()[d.Name], d.Name)
	}
}

func TestRegisterReportsATypeConflictOnARealServer(t *testing.T) {
	t.Parallel()
	c := dial(t)
	ns := registerNamespace(t, c, "searchattr-conflict")
	_, err := c.OperatorService().AddSearchAttributes(t.Context(), &operatorservice.AddSearchAttributesRequest{
		Namespace:        ns,
		SearchAttributes: map[string]enumspb.IndexedValueType{"XunchaStage": enumspb.INDEXED_VALUE_TYPE_TEXT},
	})
	require.NoError(t, err)

	err = searchattr.Register(t.Context(), c.OperatorService(), ns)
	require.ErrorContains(t, err, fmt.Sprintf("search attribute XunchaStage on namespace %q has type Text, want Keyword", ns))
}

func TestSharedDevServerHasTheAttributes(t *testing.T) {
	t.Parallel()
	c := dial(t)
	resp, err := c.OperatorService().ListSearchAttributes(t.Context(), &operatorservice.ListSearchAttributesRequest{Namespace: testenv.Namespace})
	require.NoError(t, err)
	for _, d := range searchattr.Definitions() {
		require.Equal(t, d.Type, resp.GetCustomAttributes()[d.Name], d.Name)
	}
}

// A worker refuses to start on a namespace that lacks an attribute, naming
// it and the command, and starts once `xuncha temporal setup` registered it.
func TestCheckOnARealServer(t *testing.T) {
	t.Parallel()
	c := dial(t)
	ns := registerNamespace(t, c, "searchattr-check")
	_, err := c.OperatorService().AddSearchAttributes(t.Context(), &operatorservice.AddSearchAttributesRequest{
		Namespace:        ns,
		SearchAttributes: map[string]enumspb.IndexedValueType{"XunchaStage": enumspb.INDEXED_VALUE_TYPE_KEYWORD},
	})
	require.NoError(t, err)

	err = searchattr.Check(t.Context(), c.OperatorService(), ns)
	require.ErrorContains(t, err, "XunchaAwaiting")
	require.ErrorContains(t, err, "XunchaSignoffPending")
	require.ErrorContains(t, err, "run `xuncha temporal setup`")
	require.NotContains(t, err.Error(), "XunchaStage", "a registered attribute is not named")

	require.NoError(t, searchattr.Register(t.Context(), c.OperatorService(), ns))
	require.NoError(t, searchattr.Check(t.Context(), c.OperatorService(), ns))
	require.NoError(t, searchattr.Check(t.Context(), c.OperatorService(), testenv.Namespace), "the shared dev server was started with them")
}

// TestProbeUpdatesCoverEveryDefinition: the namespace probe upserts every
// attribute xuncha defines, each with a value of its own type.
func TestProbeUpdatesCoverEveryDefinition(t *testing.T) {
	updates, err := searchattr.ProbeUpdates()
	require.NoError(t, err)
	set := temporal.NewSearchAttributes(updates...)
	require.Equal(t, len(searchattr.Definitions()), set.Size())
	for _, d := range searchattr.Definitions() {
		var found bool
		for key := range set.GetUntypedValues() {
			if key.GetName() == d.Name {
				require.Equal(t, d.Type, key.GetValueType(), d.Name)
				found = true
			}
		}
		require.True(t, found, "%s is not probed", d.Name)
	}
}
