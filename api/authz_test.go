package api_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/grpc-ecosystem/grpc-gateway/v2/runtime"
	"github.com/stretchr/testify/require"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"
	"gopkg.in/yaml.v3"

	"github.com/xuncha/xuncha/api"
	"github.com/xuncha/xuncha/internal/actor"
	"github.com/xuncha/xuncha/internal/devissuer"
	xunchav1 "github.com/xuncha/xuncha/proto/xuncha/v1"
)

// roleActors are the callers of the table test, one per role.
var roleActors = map[string]actor.Actor{
	actor.RoleOffice:     office,
	actor.RoleCommittee:  committee,
	actor.RoleTeamLeader: teamLeader,
	actor.RoleTeamMember: member,
	actor.RoleUnit:       unit,
	actor.RoleAuditor:    {Name: "周敏", Role: actor.RoleAuditor, Organisation: "驻厅纪检监察组"},
	actor.RoleReceiver:   commission,
}

// httpBinding is a method's REST verb and path.
type httpBinding struct{ verb, path string }

// httpBindings reads the REST binding of every method from the service
// config the gateway is generated from.
func httpBindings(t *testing.T) map[string]httpBinding {
	t.Helper()
	var config struct {
		HTTP struct {
			Rules []map[string]string `yaml:"rules"`
		} `yaml:"http"`
	}
	require.NoError(t, yaml.Unmarshal(xunchav1.HTTPRules, &config))
	out := map[string]httpBinding{}
	for _, rule := range config.HTTP.Rules {
		sel := rule["selector"]
		i := strings.LastIndex(sel, ".")
		for _, verb := range []string{"get", "post", "put", "patch", "delete"} {
			if path, ok := rule[verb]; ok {
				out["/"+sel[:i]+"/"+sel[i+1:]] = httpBinding{strings.ToUpper(verb), path}
			}
		}
	}
	return out
}

// pathVariables matches {id}, {year}, {inspection_id}.
var pathVariables = regexp.MustCompile(`\{[a-z_]+\}`)

// badTokens are refused tokens of every kind, each naming the office (who
// may call most methods), so that only the token's fault refuses them.
func badTokens(t *testing.T, s *stack) map[string]string {
	t.Helper()
	good := s.Issuer.Token(office)
	sibling := func(cfg devissuer.Config) *devissuer.Issuer {
		if cfg.Issuer == "" {
			cfg.Issuer = s.Issuer.URL
		}
		cfg.Dir, cfg.Algorithm = s.Issuer.Dir, "ES256"
		iss, err := devissuer.New(cfg)
		require.NoError(t, err)
		return iss
	}
	mint := func(iss *devissuer.Issuer) string {
		tok, err := iss.Mint(devissuer.MintRequest{User: userOfActor(office)})
		require.NoError(t, err)
		return tok
	}
	parts := strings.Split(good, ".")
	require.Len(t, parts, 3)
	payload, err := base64.RawURLEncoding.DecodeString(parts[1])
	require.NoError(t, err)
	var claims map[string]any
	require.NoError(t, json.Unmarshal(payload, &claims))
	attacker, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	kids, err := s.Issuer.KeyIDs()
	require.NoError(t, err)
	sign := func(kid string) string {
		opts := (&jose.SignerOptions{}).WithType("JWT")
		if kid != "" {
			opts = opts.WithHeader(jose.HeaderKey("kid"), kid)
		}
		signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.ES256, Key: attacker}, opts)
		require.NoError(t, err)
		body, err := json.Marshal(claims)
		require.NoError(t, err)
		jws, err := signer.Sign(body)
		require.NoError(t, err)
		out, err := jws.CompactSerialize()
		require.NoError(t, err)
		return out
	}
	b64 := func(s string) string { return base64.RawURLEncoding.EncodeToString([]byte(s)) }
	return map[string]string{
		"expired":         mint(sibling(devissuer.Config{Now: func() time.Time { return time.Now().Add(-2 * time.Hour) }})),
		"not yet valid":   mint(sibling(devissuer.Config{Now: func() time.Time { return time.Now().Add(time.Hour) }})),
		"wrong audience":  mint(sibling(devissuer.Config{Audience: "another-service"})),
		"wrong issuer":    mint(sibling(devissuer.Config{Issuer: "http://127.0.0.1:1/another-issuer"})),
		"bad signature":   sign(kids[len(kids)-1]),
		"alg none":        b64(`{"alg":"none","typ":"JWT"}`) + "." + parts[1] + ".",
		"unknown key id":  sign("not-published"),
		"not a JWT":       "not-a-token",
		"issuer's key id": parts[0] + "." + parts[1] + "." + base64.RawURLEncoding.EncodeToString([]byte("forged")),
	}
}

// userOfActor is the dev user a test actor signs in as (stack_test.go).
func userOfActor(who actor.Actor) devissuer.User { return userOf(who) }

// authzFixture is what the table test's requests name: an inspection of
// unit 430100 whose team lists teamLeader and member, a finding of it, an
// interview about it, a tip to it and the finding's evidence; a clue
// finding referred to the receiver's body (commission) and its evidence,
// which is what a receiver's requests name.
type authzFixture struct {
	inspection, finding, interview, tip, evidence, referred string
	// referredEvidence is the referred finding's evidence, which its
	// receiver reads.
	referredEvidence string
	// expert, lineup and invitation are a person of the pool, the drawn
	// line-up they are invited to and their invitation.
	expert, lineup, invitation string
}

func (s *stack) authzFixture() authzFixture {
	s.t.Helper()
	var fx authzFixture
	fx.inspection = s.createInspection()
	f := s.recordFinding(fx.inspection, "authz", "GENERAL")
	fx.finding = f["id"].(string)
	fx.evidence = f["evidence_ids"].([]any)[0].(string)
	code, body := s.do("POST", "/v1/interviews", &office, map[string]any{"request_id": rid(s.t, "authz-interview"),
		"subject": "inspection/" + fx.inspection, "reason": "整改不力，约谈单位主要负责人"})
	require.Equal(s.t, http.StatusOK, code, "%v", body)
	fx.interview = body["id"].(string)
	code, body = s.do("POST", "/v1/inspections/"+fx.inspection+"/tips", &member, map[string]any{"request_id": rid(s.t, "authz-tip"),
		"channel": "LETTER", "received_on": today().String(), "content": "来信反映问题"})
	require.Equal(s.t, http.StatusOK, code, "%v", body)
	fx.tip = body["id"].(string)
	fx.referred = s.referredClue(fx.inspection, "authz-clue")
	code, body = s.do("GET", "/v1/findings/"+fx.referred, &office, nil)
	require.Equal(s.t, http.StatusOK, code, "%v", body)
	fx.referredEvidence = body["evidence_ids"].([]any)[0].(string)
	s.seedPool()
	code, body = s.do("POST", "/v1/lineups", &office, map[string]any{"request_id": rid(s.t, "authz-draw"), "unit_code": "430300",
		"unit_name": "湘潭市", "planned_start": "2026-12-01", "planned_end": "2026-12-15", "content_areas": []int{1}, "team_size": 6})
	require.Equal(s.t, http.StatusOK, code, "%v", body)
	fx.lineup = body["id"].(string)
	code, body = s.do("POST", "/v1/lineups/"+fx.lineup+":invite", &office, map[string]any{"request_id": rid(s.t, "authz-invite")})
	require.Equal(s.t, http.StatusOK, code, "%v", body)
	m := body["members"].([]any)[0].(map[string]any)
	fx.expert, fx.invitation = m["expert_id"].(string), m["invitation_id"].(string)
	return fx
}

// as is the caller of the table test in role: the person of the pool
// invited in the fixture for the expert role.
func (fx authzFixture) as(role string) actor.Actor {
	if role == actor.RoleExpert {
		return poolActor(fx.expert)
	}
	return roleActors[role]
}

// fields are a request's fields for method: the path variables {id},
// {inspection_id} and {year} naming the fixture's objects, and the subject
// of the requests that carry theirs in the body.
func (fx authzFixture) fields(method, role string) map[string]any {
	id := map[string]string{
		"InspectionService": fx.inspection, "FindingService": fx.finding, "InterviewService": fx.interview,
		"TipService": fx.tip, "WebhookService": "wh-none", "evidence": fx.evidence,
		"ExpertPoolService": fx.expert, "LineupService": fx.lineup, "InvitationService": fx.invitation,
	}
	if role == actor.RoleReceiver {
		id["FindingService"], id["evidence"] = fx.referred, fx.referredEvidence
	}
	service := "evidence"
	if strings.HasPrefix(method, "/") {
		service = strings.TrimPrefix(strings.Split(method, "/")[1], "xuncha.v1.")
	}
	out := map[string]any{"id": id[service], "inspection_id": fx.inspection, "year": 2026}
	if method == api.RoundSummary {
		out["round"] = "2026年第一轮"
	}
	if strings.HasSuffix(method, "/ProposeInterview") {
		out["subject"] = "inspection/" + fx.inspection
	}
	return out
}

// outOfScope are callers of each unit or team role who reach none of the
// fixture: a unit user of 430200, and a leader and a member on no team.
var outOfScope = map[string]actor.Actor{
	actor.RoleUnit:       zhuzhou,
	actor.RoleTeamLeader: {Name: "孙七", Role: actor.RoleTeamLeader, Organisation: "省安全生产巡查第二组"},
	actor.RoleTeamMember: {Name: "王五", Role: actor.RoleTeamMember, Organisation: "省安全生产巡查第二组"},
	actor.RoleReceiver:   {Name: "郑八", Role: actor.RoleReceiver, Organisation: "株洲市纪委监委"},
	actor.RoleExpert:     poolActor("p-nobody"),
}

// inScopeAnswers are the exceptions to the rule of the table test: as a
// permitted caller in scope, a read of the fixture answers OK and a change
// with nothing but the object's ID is refused for its content
// (INVALID_ARGUMENT).
var inScopeAnswers = map[string]codes.Code{
	"/xuncha.v1.WebhookService/DeleteWebhook":    codes.NotFound,        // no such subscription
	"/xuncha.v1.CalendarService/ComputeDeadline": codes.InvalidArgument, // a read that needs its input
	api.CodecEncode: codes.OK, // a write (the office's), of no payloads
}

// TestAuthorizationTable walks the authorization table itself: every RPC,
// through gRPC and REST, naming the objects of a fixture, as every role —
// refused roles get PERMISSION_DENIED; permitted roles in scope get the
// answer to the request (inScopeAnswers); permitted unit and team roles out
// of the fixture's scope get NOT_FOUND for an object, and OK (an empty
// page) for a list — and without a token or with a refused token of every
// kind (UNAUTHENTICATED). Each code is asserted exactly, over gRPC as its
// code and over REST as the HTTP status the gateway maps it to.
func TestAuthorizationTable(t *testing.T) {
	s := setup(t)
	fx := s.authzFixture()
	bindings := httpBindings(t)
	bad := badTokens(t, s)
	for _, row := range api.AuthorizationRows() {
		if row.Public {
			continue
		}
		t.Run(strings.TrimPrefix(row.Method, "/xuncha.v1."), func(t *testing.T) {
			t.Parallel()
			// A receiver's requests name the finding referred to it.
			type call func(authorization, role string) (grpcCode codes.Code, httpStatus int, msg string)
			calls := map[string]call{}
			verb, path, _ := strings.Cut(row.Method, " ")
			if strings.HasPrefix(row.Method, "/") {
				calls["gRPC"] = func(authz, role string) (codes.Code, int, string) {
					return s.invokeWith(t, row.Method, authz, fx.fields(row.Method, role))
				}
				b, ok := bindings[row.Method]
				require.True(t, ok, "%s has a REST binding", row.Method)
				verb, path = b.verb, b.path
			}
			calls["REST"] = func(authz, role string) (codes.Code, int, string) {
				fields := fx.fields(row.Method, role)
				return s.restWith(t, verb, fillPath(path, fields), authz, fields)
			}
			fields := fx.fields(row.Method, "")
			expect := func(via string, want codes.Code, got codes.Code, httpStatus int, what, msg string) {
				t.Helper()
				if via == "gRPC" {
					require.Equal(t, want.String(), got.String(), "gRPC %s: %s", what, msg)
				} else {
					require.Equal(t, runtime.HTTPStatusFromCode(want), httpStatus, "REST %s (%s): %s", what, want, msg)
				}
			}
			inScope, ok := inScopeAnswers[row.Method]
			if !ok {
				inScope = codes.InvalidArgument
				if row.Reads {
					inScope = codes.OK
				}
			}
			for via, do := range calls {
				for _, role := range actor.Roles {
					code, httpStatus, msg := do(s.authorization(fx.as(role)), role)
					if !slices.Contains(row.Roles, role) {
						expect(via, codes.PermissionDenied, code, httpStatus, "as "+role+" (refused)", msg)
						continue
					}
					expect(via, inScope, code, httpStatus, "as "+role+" in scope", msg)
					// Whatever scope the row declares: a unit or team
					// caller who does not reach an object is told it does
					// not exist.
					stranger, scoped := outOfScope[role]
					if !scoped {
						continue
					}
					// A request that names none of the fixture's objects
					// (a list, an upload) answers as in scope; lists
					// filter what they hold (scope_test.go).
					want := inScope
					if namesObject(path, fields) {
						want = codes.NotFound
					}
					code, httpStatus, msg = do(s.authorization(stranger), role)
					expect(via, want, code, httpStatus, "as "+role+" out of scope", msg)
				}
				code, httpStatus, msg := do("", "")
				expect(via, codes.Unauthenticated, code, httpStatus, "without a token", msg)
				require.Contains(t, msg, "no bearer token")
				for kind, tok := range bad {
					code, httpStatus, msg := do("Bearer "+tok, "")
					expect(via, codes.Unauthenticated, code, httpStatus, "with a token "+kind, msg)
					require.NotContains(t, msg, tok)
				}
			}
		})
	}
	// Nothing the table sent changed the fixture.
	code, body := s.do("GET", "/v1/findings/"+fx.finding, &office, nil)
	require.Equal(t, http.StatusOK, code)
	require.Equal(t, "LISTED", body["stage"])
	code, body = s.do("GET", "/v1/inspections/"+fx.inspection, &office, nil)
	require.Equal(t, http.StatusOK, code)
	require.Equal(t, "STATIONED", body["stage"])
	code, body = s.do("GET", "/v1/findings/"+fx.referred, &commission, nil)
	require.Equal(t, http.StatusOK, code)
	require.Equal(t, "AWAITING_RECEIPT", body["clue_referrals"].([]any)[0].(map[string]any)["state"])
}

// namesObject tells whether a request to path names an object of the
// fixture: in a path variable or as the subject in its body.
func namesObject(path string, fields map[string]any) bool {
	_, subject := fields["subject"]
	return subject || (pathVariables.MatchString(path) && !strings.Contains(path, "{year}") && !strings.Contains(path, "{round}"))
}

// fillPath puts the request's fields into a route's path variables.
func fillPath(path string, fields map[string]any) string {
	return pathVariables.ReplaceAllStringFunc(path, func(v string) string {
		return fmt.Sprint(fields[strings.Trim(v, "{}")])
	})
}

// invokeWith calls method over gRPC with a request of the given fields
// (those the request has; the rest empty) and the authorization metadata
// (none when empty); the code is also given as an HTTP status.
func (s *stack) invokeWith(t *testing.T, method, authorization string, fields map[string]any) (codes.Code, int, string) {
	t.Helper()
	svc, name, _ := strings.Cut(strings.TrimPrefix(method, "/"), "/")
	d, err := protoregistry.GlobalFiles.FindDescriptorByName(protoreflect.FullName(svc))
	require.NoError(t, err)
	md := d.(protoreflect.ServiceDescriptor).Methods().ByName(protoreflect.Name(name))
	require.NotNil(t, md, method)
	in, err := protoregistry.GlobalTypes.FindMessageByName(md.Input().FullName())
	require.NoError(t, err)
	out, err := protoregistry.GlobalTypes.FindMessageByName(md.Output().FullName())
	require.NoError(t, err)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if authorization != "" {
		ctx = metadata.AppendToOutgoingContext(ctx, "authorization", authorization)
	}
	req := in.New()
	for name, v := range fields {
		fd := req.Descriptor().Fields().ByName(protoreflect.Name(name))
		if fd == nil {
			continue
		}
		switch fd.Kind() {
		case protoreflect.StringKind:
			req.Set(fd, protoreflect.ValueOfString(fmt.Sprint(v)))
		case protoreflect.Int32Kind:
			req.Set(fd, protoreflect.ValueOfInt32(int32(v.(int))))
		}
	}
	err = s.Conn.Invoke(ctx, method, req.Interface(), out.New().Interface())
	st := status.Convert(err)
	return st.Code(), grpcToHTTP(st.Code()), st.Message()
}

// grpcToHTTP maps the codes the table test tells apart.
func grpcToHTTP(c codes.Code) int {
	switch c {
	case codes.Unauthenticated:
		return http.StatusUnauthorized
	case codes.PermissionDenied:
		return http.StatusForbidden
	case codes.OK:
		return http.StatusOK
	case codes.Internal, codes.Unknown, codes.Unavailable, codes.DataLoss, codes.Unimplemented:
		return http.StatusInternalServerError
	}
	return http.StatusBadRequest
}

// rest sends an empty request (path variables "1", body {} where one is
// taken) with the Authorization header (none when empty).
func (s *stack) rest(t *testing.T, verb, path, authorization string) (codes.Code, int, string) {
	t.Helper()
	return s.restWith(t, verb, pathVariables.ReplaceAllString(path, "1"), authorization, nil)
}

// restWith sends a request to path (its variables filled) whose body, where
// the verb takes one, holds the fields the path does not name, with the
// Authorization header (none when empty).
func (s *stack) restWith(t *testing.T, verb, path, authorization string, fields map[string]any) (codes.Code, int, string) {
	t.Helper()
	var body *strings.Reader
	if verb == http.MethodGet || verb == http.MethodDelete {
		body = strings.NewReader("")
	} else {
		inBody := map[string]any{}
		for k, v := range fields {
			if k != "id" && k != "inspection_id" && k != "year" {
				inBody[k] = v
			}
		}
		b, err := json.Marshal(inBody)
		require.NoError(t, err)
		body = strings.NewReader(string(b))
	}
	req, err := http.NewRequest(verb, s.BaseURL+path, body)
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/json")
	if authorization != "" {
		req.Header.Set("Authorization", authorization)
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	var answer struct {
		Message string `json:"message"`
	}
	_ = json.NewDecoder(resp.Body).Decode(&answer)
	return codes.Unknown, resp.StatusCode, answer.Message
}

// TestForgedActorHeaderChangesNothing: the x-xuncha-actor header that once
// named the caller is not read. Without a token it is 401; with a team
// member's token it is still the team member, refused the committee's
// action.
func TestForgedActorHeaderChangesNothing(t *testing.T) {
	s := setup(t)
	id := s.createInspection()
	forged := "role=committee&name=%E6%9D%8E%E4%B8%BB%E4%BB%BB&org=x"

	send := func(authorization string) int {
		req, err := http.NewRequest(http.MethodPost, s.BaseURL+"/v1/inspections/"+id+":approveTeam", strings.NewReader(`{"request_id":"forged"}`))
		require.NoError(t, err)
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("x-xuncha-actor", forged)
		if authorization != "" {
			req.Header.Set("Authorization", authorization)
		}
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		resp.Body.Close()
		return resp.StatusCode
	}
	require.Equal(t, http.StatusUnauthorized, send(""))
	require.Equal(t, http.StatusForbidden, send(s.authorization(member)))

	client := xunchav1.NewInspectionServiceClient(s.Conn)
	ctx := metadata.AppendToOutgoingContext(context.Background(), "x-xuncha-actor", forged)
	_, err := client.ApproveTeam(ctx, &xunchav1.InspectionActionRequest{Id: id, RequestId: "forged"})
	require.Equal(t, codes.Unauthenticated, status.Code(err), "%v", err)
	_, err = client.ApproveTeam(metadata.AppendToOutgoingContext(s.ctx(member), "x-xuncha-actor", forged),
		&xunchav1.InspectionActionRequest{Id: id, RequestId: "forged"})
	require.Equal(t, codes.PermissionDenied, status.Code(err), "%v", err)

	code, got := s.do("GET", "/v1/inspections/"+id, &office, nil)
	require.Equal(t, http.StatusOK, code)
	require.Equal(t, "STATIONED", got["stage"], "nothing changed")
}
