package api_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
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

// TestAuthorizationTable walks the authorization table itself: every RPC,
// through gRPC and REST, as every role (permitted: anything but 401/403;
// refused: 403), without a token and with a refused token of every kind
// (401). The requests are empty, so a permitted call is refused for its
// content (400, 404), which is all this test asks of it.
func TestAuthorizationTable(t *testing.T) {
	s := setup(t)
	bindings := httpBindings(t)
	bad := badTokens(t, s)
	rows := api.AuthorizationRows()
	for _, row := range rows {
		if row.Public {
			continue
		}
		t.Run(strings.TrimPrefix(row.Method, "/xuncha.v1."), func(t *testing.T) {
			t.Parallel()
			type call func(authorization string) (grpcCode codes.Code, httpStatus int, msg string)
			var calls []struct {
				via string
				do  call
			}
			if strings.HasPrefix(row.Method, "/") {
				calls = append(calls, struct {
					via string
					do  call
				}{"gRPC", func(authz string) (codes.Code, int, string) { return s.invoke(t, row.Method, authz) }})
				b, ok := bindings[row.Method]
				require.True(t, ok, "%s has a REST binding", row.Method)
				calls = append(calls, struct {
					via string
					do  call
				}{"REST", func(authz string) (codes.Code, int, string) { return s.rest(t, b.verb, b.path, authz) }})
			} else {
				verb, path, _ := strings.Cut(row.Method, " ")
				calls = append(calls, struct {
					via string
					do  call
				}{"REST", func(authz string) (codes.Code, int, string) { return s.rest(t, verb, path, authz) }})
			}
			for _, c := range calls {
				for _, role := range actor.Roles {
					_, httpStatus, msg := c.do(s.authorization(roleActors[role]))
					if slices.Contains(row.Roles, role) {
						require.NotContains(t, []int{http.StatusUnauthorized, http.StatusForbidden}, httpStatus,
							"%s as %s (permitted): %s", c.via, role, msg)
						require.Less(t, httpStatus, 500, "%s as %s: %s", c.via, role, msg)
					} else {
						require.Equal(t, http.StatusForbidden, httpStatus, "%s as %s (refused): %s", c.via, role, msg)
					}
				}
				_, httpStatus, msg := c.do("")
				require.Equal(t, http.StatusUnauthorized, httpStatus, "%s without a token: %s", c.via, msg)
				require.Contains(t, msg, "no bearer token")
				for kind, tok := range bad {
					_, httpStatus, msg := c.do("Bearer " + tok)
					require.Equal(t, http.StatusUnauthorized, httpStatus, "%s with a token %s: %s", c.via, kind, msg)
					require.NotContains(t, msg, tok)
				}
			}
		})
	}
}

// invoke calls method over gRPC with an empty request and the
// authorization metadata (none when empty); the code is also given as the
// HTTP status the gateway would answer.
func (s *stack) invoke(t *testing.T, method, authorization string) (codes.Code, int, string) {
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
	err = s.Conn.Invoke(ctx, method, in.New().Interface(), out.New().Interface())
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
	path = pathVariables.ReplaceAllString(path, "1")
	var body *strings.Reader
	if verb == http.MethodGet || verb == http.MethodDelete {
		body = strings.NewReader("")
	} else {
		body = strings.NewReader("{}")
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
