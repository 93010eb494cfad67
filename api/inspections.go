package api

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"
	"go.uber.org/zap"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/xuncha/xuncha/internal/actor"
	"github.com/xuncha/xuncha/internal/derrors"
	"github.com/xuncha/xuncha/ledger"
	xunchav1 "github.com/xuncha/xuncha/proto/xuncha/v1"
	"github.com/xuncha/xuncha/workflows"
)

// InspectionServer implements xuncha.v1.InspectionService.
type InspectionServer struct {
	xunchav1.UnimplementedInspectionServiceServer
	Temporal  client.Client
	Ledger    *ledger.Store
	TaskQueue string
	Log       *zap.Logger
}

// generatedID derives an ID from the request ID, so that a retried create
// with the same request_id lands on the same workflow.
func generatedID(prefix, requestID string) string {
	sum := sha256.Sum256([]byte(prefix + "\x00" + requestID))
	return prefix + "-" + hex.EncodeToString(sum[:8])
}

// kindName is the domain name of a proto enum value; unknown values are "".
func kindName(k xunchav1.Inspection_Kind) string {
	if k == xunchav1.Inspection_KIND_UNSPECIFIED {
		return ""
	}
	if name, ok := xunchav1.Inspection_Kind_name[int32(k)]; ok {
		return name
	}
	return ""
}

// CreateInspection starts workflow inspection/<id> and returns once its
// ledger row is written.
func (s *InspectionServer) CreateInspection(ctx context.Context, req *xunchav1.CreateInspectionRequest) (*xunchav1.Inspection, error) {
	who, err := actor.Require(ctx)
	if err != nil {
		return nil, err
	}
	if err := who.RequireRole("creating an inspection", actor.RoleOffice); err != nil {
		return nil, err
	}
	spec := req.GetInspection()
	in := workflows.InspectionInput{
		ID:           req.GetInspectionId(),
		RequestID:    req.GetRequestId(),
		Unit:         workflows.Unit{Code: spec.GetUnit().GetCode(), Name: spec.GetUnit().GetName()},
		Kind:         kindName(spec.GetKind()),
		Round:        spec.GetRound(),
		PlannedStart: spec.GetPlannedStart(),
		PlannedEnd:   spec.GetPlannedEnd(),
		Actor:        who,
	}
	if err := in.Validate(); err != nil {
		return nil, err
	}
	if in.ID == "" {
		in.ID = generatedID("ins", in.RequestID)
	}
	workflowID := workflows.InspectionWorkflowID(in.ID)
	start := s.Temporal.NewWithStartWorkflowOperation(client.StartWorkflowOptions{
		ID:                       workflowID,
		TaskQueue:                s.TaskQueue,
		WorkflowIDConflictPolicy: enumspb.WORKFLOW_ID_CONFLICT_POLICY_USE_EXISTING,
		WorkflowIDReusePolicy:    enumspb.WORKFLOW_ID_REUSE_POLICY_REJECT_DUPLICATE,
		TypedSearchAttributes:    workflows.InspectionSearchAttributes(in),
		StaticSummary:            workflows.InspectionSummary(in),
	}, workflows.InspectionWorkflowName, in)
	handle, err := s.Temporal.UpdateWithStartWorkflow(ctx, client.UpdateWithStartWorkflowOptions{
		StartWorkflowOperation: start,
		UpdateOptions: client.UpdateWorkflowOptions{
			UpdateID:     workflows.AwaitCreatedUpdateID(in.RequestID),
			UpdateName:   workflows.UpdateAwaitCreated,
			Args:         []any{workflows.AwaitCreatedInput{RequestID: in.RequestID}},
			WaitForStage: client.WorkflowUpdateStageCompleted,
		},
	})
	if err != nil {
		return nil, s.startError(err, in.ID)
	}
	var st workflows.InspectionState
	if err := handle.Get(ctx, &st); err != nil {
		return nil, s.startError(err, in.ID)
	}
	return s.get(ctx, in.ID)
}

// startError explains why a start failed.
func (s *InspectionServer) startError(err error, id string) error {
	var started *serviceerror.WorkflowExecutionAlreadyStarted
	if errors.As(err, &started) {
		return derrors.New(derrors.ErrAlreadyExists, "inspection %q already exists", id)
	}
	return derrors.FromTemporal(err)
}

// GetInspection returns the ledger row with the live stage.
func (s *InspectionServer) GetInspection(ctx context.Context, req *xunchav1.GetInspectionRequest) (*xunchav1.Inspection, error) {
	if req.GetId() == "" {
		return nil, derrors.Invalid("id", "must not be empty")
	}
	return s.get(ctx, req.GetId())
}

func (s *InspectionServer) get(ctx context.Context, id string) (*xunchav1.Inspection, error) {
	row, err := s.Ledger.GetInspection(ctx, id)
	if err != nil {
		return nil, err
	}
	out := inspectionProto(row)
	resp, err := s.Temporal.QueryWorkflow(ctx, row.WorkflowID, "", workflows.QueryState)
	if err != nil {
		// The ledger's stage is written before every update returns, so it
		// is a faithful fallback; say so in the log.
		s.Log.Warn("live stage unavailable, using the ledger's", zap.String("inspection", id), zap.Error(err))
		return out, nil
	}
	var st workflows.InspectionState
	if err := resp.Get(&st); err != nil {
		return nil, fmt.Errorf("decoding state of %s: %w", row.WorkflowID, err)
	}
	out.Stage = stageProto(st.Stage)
	return out, nil
}

// ListInspections pages through the ledger.
func (s *InspectionServer) ListInspections(ctx context.Context, req *xunchav1.ListInspectionsRequest) (*xunchav1.ListInspectionsResponse, error) {
	size, err := ledger.PageSize(req.GetPageSize())
	if err != nil {
		return nil, err
	}
	page, err := s.Ledger.ListInspections(ctx, size, req.GetPageToken())
	if err != nil {
		return nil, err
	}
	out := &xunchav1.ListInspectionsResponse{NextPageToken: page.NextPageToken}
	for _, row := range page.Inspections {
		out.Inspections = append(out.Inspections, inspectionProto(row))
	}
	return out, nil
}

func inspectionProto(row ledger.Inspection) *xunchav1.Inspection {
	return &xunchav1.Inspection{
		Id:           row.ID,
		Unit:         &xunchav1.Unit{Code: row.UnitCode, Name: row.UnitName},
		Kind:         xunchav1.Inspection_Kind(xunchav1.Inspection_Kind_value[row.Kind]),
		Round:        row.Round,
		PlannedStart: row.PlannedStart.Format("2006-01-02"),
		PlannedEnd:   row.PlannedEnd.Format("2006-01-02"),
		Stage:        stageProto(row.Stage),
		WorkflowId:   row.WorkflowID,
		CreateTime:   timestamppb.New(row.CreatedAt),
		UpdateTime:   timestamppb.New(row.UpdatedAt),
		CreatedBy:    actorProto(row.CreatedBy),
	}
}

func stageProto(stage string) xunchav1.Inspection_Stage {
	return xunchav1.Inspection_Stage(xunchav1.Inspection_Stage_value[stage])
}

func actorProto(a actor.Actor) *xunchav1.Actor {
	return &xunchav1.Actor{Name: a.Name, Role: a.Role, Organisation: a.Organisation}
}
