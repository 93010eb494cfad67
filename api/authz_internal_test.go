package api

import (
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"

	"github.com/xuncha/xuncha/internal/actor"
	"github.com/xuncha/xuncha/internal/authn"
	"github.com/xuncha/xuncha/internal/derrors"
	xunchav1 "github.com/xuncha/xuncha/proto/xuncha/v1"
)

// xunchaMethods returns the full name of every method of every service of
// the xuncha.v1 proto package, as the descriptors compiled into the binary
// declare them.
func xunchaMethods(t *testing.T) []string {
	t.Helper()
	_ = xunchav1.File_xuncha_v1_finding_proto // the package's descriptors are registered
	var methods []string
	protoregistry.GlobalFiles.RangeFilesByPackage("xuncha.v1", func(fd protoreflect.FileDescriptor) bool {
		for i := range fd.Services().Len() {
			svc := fd.Services().Get(i)
			for j := range svc.Methods().Len() {
				methods = append(methods, "/"+string(svc.FullName())+"/"+string(svc.Methods().Get(j).Name()))
			}
		}
		return true
	})
	require.NotEmpty(t, methods)
	return methods
}

// TestEveryMethodHasAnAuthorizationRow fails when an RPC is added without a
// row: the interceptor would refuse it to everyone, and this says why.
func TestEveryMethodHasAnAuthorizationRow(t *testing.T) {
	methods := xunchaMethods(t)
	for _, m := range methods {
		r, ok := authorization[m]
		require.True(t, ok, "%s has no row in the authorization table (api/authz.go): say who may call it", m)
		require.False(t, r.public, "%s: xuncha's own methods need a token", m)
		require.NotEmpty(t, r.roles, "%s: no role may call it", m)
		require.NotEmpty(t, r.scope, "%s: no scope rule", m)
		for _, role := range r.roles {
			require.Contains(t, actor.Roles, role, "%s", m)
		}
	}
	// And every row names a method that exists (or an evidence, codec or export route, or
	// gRPC's own health and reflection).
	for m, r := range authorization {
		switch {
		case slices.Contains(methods, m):
		case m == EvidenceUpload || m == EvidenceMetadata || m == EvidenceContent || m == CodecDecode || m == CodecEncode ||
			m == FindingsExport || m == FindingsTemplate || m == FindingsImport || m == RoundSummary ||
			m == ExpertsTemplate || m == ExpertsImport:
			require.False(t, r.public)
		case strings.HasPrefix(m, "/grpc.health.v1.Health/") || strings.HasPrefix(m, "/grpc.reflection."):
			require.True(t, r.public, "%s", m)
		default:
			t.Errorf("the authorization table names %s, which no service has", m)
		}
	}
}

// TestAuthorizationAgreesWithStageMachines checks that for every lifecycle
// change the table's roles are exactly the roles the workflow's stage
// machine lets take the action, so the rule has one meaning wherever it is
// checked. RoleSystem is xuncha itself, which never calls the API.
func TestAuthorizationAgreesWithStageMachines(t *testing.T) {
	changes := 0
	for m, r := range authorization {
		if r.change == nil {
			continue
		}
		changes++
		for _, role := range actor.Roles {
			machineAllows := r.change.machine.CheckRole(r.change.action, actor.Actor{Name: "t", Role: role}) == nil
			require.Equal(t, machineAllows, slices.Contains(r.roles, role),
				"%s (%s): the table and the stage machine disagree on role %s", m, r.change.action, role)
		}
	}
	require.GreaterOrEqual(t, changes, 26, "the lifecycle changes (creates, proposals and stage moves) are marked as such")
}

// TestPermit checks the choice of role and the refusals.
func TestPermit(t *testing.T) {
	const approve = "/xuncha.v1.InspectionService/ApproveTeam"
	id := authn.Identity{Subject: "s", Name: "刘洋", Organisation: "省安全生产委员会", Roles: []string{actor.RoleAuditor, actor.RoleCommittee}}
	who, err := permit(approve, id)
	require.NoError(t, err)
	require.Equal(t, actor.Actor{Name: "刘洋", Role: actor.RoleCommittee, Organisation: "省安全生产委员会", Subject: "s"}, who,
		"acts in the role the row allows")

	_, err = permit(approve, authn.Identity{Subject: "s", Roles: []string{actor.RoleTeamMember}})
	require.ErrorIs(t, err, derrors.ErrPermissionDenied)
	require.ErrorContains(t, err, "committee")

	_, err = permit(approve, authn.Identity{Subject: "s"})
	require.ErrorIs(t, err, derrors.ErrPermissionDenied)
	require.ErrorContains(t, err, "no xuncha role")

	_, err = permit("/xuncha.v1.InspectionService/NoSuchMethod", id)
	require.ErrorIs(t, err, derrors.ErrPermissionDenied)

	system := authn.Identity{Subject: "office-system", Roles: []string{actor.RoleOffice}, System: true, ClientID: "office-system"}
	who, err = permit(approve, authn.Identity{Subject: "x", Roles: []string{actor.RoleCommittee}})
	require.NoError(t, err)
	require.Equal(t, actor.RoleCommittee, who.Role)
	who, err = permit("/xuncha.v1.InspectionService/CreateInspection", system)
	require.NoError(t, err)
	require.Equal(t, "office-system", who.Client, "a system says it is one, and which")
}
