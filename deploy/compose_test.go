package deploy_test

// These tests check the production stack on paper: docker-compose.yml (parsed with
// gopkg.in/yaml.v3), deploy/Dockerfile and the files the stack mounts from the repo.
//
// The YAML and Dockerfile checks are the test and always run; nothing here needs a
// Docker engine. When the `docker compose` CLI plugin is installed, TestComposeConfig
// also runs `docker compose config -q` (which needs no engine either); where the plugin
// is missing that one test reports SKIP with the reason, and the checks below stand alone.
//
// Every check is a function from the parsed files to a list of problems. TestStack runs
// them all against the real files and wants no problem; TestChecksCatchBreakage breaks
// the files in memory, one way per row, and wants the matching check to complain, so no
// check can pass vacuously.

import (
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/xuncha/xuncha/internal/temporalcluster"
)

const (
	composePath    = "../docker-compose.yml"
	dockerfilePath = "Dockerfile"
	ignorePath     = "Dockerfile.dockerignore"
)

// Services the stack must have, and the xuncha ones among them.
var (
	requiredServices = []string{
		"postgres",
		"temporal-schema-setup",
		"temporal",
		"temporal-namespace",
		"temporal-ui",
		"xuncha-migrate",
		"xuncha-temporal-setup",
		"xuncha-worker",
		"xuncha-server",
	}
	xunchaCommands = map[string][]string{
		"xuncha-migrate":        {"migrate"},
		"xuncha-temporal-setup": {"temporal", "setup"},
		"xuncha-worker":         {"worker"},
		"xuncha-server":         {"server"},
	}
)

// ---------------------------------------------------------------------------------
// The compose model: only what the checks read, in both the short and long syntaxes
// the Compose spec allows.

type composeFile struct {
	Version  *string             `yaml:"version"`
	Services map[string]*service `yaml:"services"`
	Volumes  map[string]any      `yaml:"volumes"`
}

type service struct {
	Image       string       `yaml:"image"`
	Build       *build       `yaml:"build"`
	Command     stringList   `yaml:"command"`
	Entrypoint  stringList   `yaml:"entrypoint"`
	Environment envMap       `yaml:"environment"`
	Ports       []portSpec   `yaml:"ports"`
	DependsOn   dependsOn    `yaml:"depends_on"`
	Volumes     []mountSpec  `yaml:"volumes"`
	Healthcheck *healthcheck `yaml:"healthcheck"`
}

type build struct {
	Context    string `yaml:"context"`
	Dockerfile string `yaml:"dockerfile"`
}

func (b *build) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind == yaml.ScalarNode {
		b.Context = n.Value
		return nil
	}
	type plain build
	return n.Decode((*plain)(b))
}

// stringList is a command, entrypoint or healthcheck test: a string or a list.
type stringList []string

func (s *stringList) UnmarshalYAML(n *yaml.Node) error {
	switch n.Kind {
	case yaml.ScalarNode:
		*s = stringList{n.Value}
		return nil
	case yaml.SequenceNode:
		var l []string
		if err := n.Decode(&l); err != nil {
			return err
		}
		*s = l
		return nil
	}
	return fmt.Errorf("line %d: want a string or a list", n.Line)
}

// envMap holds environment variables; a nil value is a name without a value.
// Merge keys (<<: *anchor) are resolved by yaml.v3 while decoding the mapping.
type envMap map[string]*string

func (e *envMap) UnmarshalYAML(n *yaml.Node) error {
	out := envMap{}
	switch n.Kind {
	case yaml.MappingNode:
		var m map[string]any
		if err := n.Decode(&m); err != nil {
			return err
		}
		for k, v := range m {
			if v == nil {
				out[k] = nil
				continue
			}
			s := fmt.Sprint(v)
			out[k] = &s
		}
	case yaml.SequenceNode:
		var l []string
		if err := n.Decode(&l); err != nil {
			return err
		}
		for _, item := range l {
			k, v, ok := strings.Cut(item, "=")
			if ok {
				out[k] = &v
			} else {
				out[k] = nil
			}
		}
	default:
		return fmt.Errorf("line %d: environment must be a mapping or a list", n.Line)
	}
	*e = out
	return nil
}

func (e envMap) value(name string) (string, bool) {
	v, ok := e[name]
	if !ok || v == nil {
		return "", false
	}
	return *v, true
}

type portSpec struct {
	HostIP, Published, Target, Protocol string
}

func (p *portSpec) UnmarshalYAML(n *yaml.Node) error {
	switch n.Kind {
	case yaml.ScalarNode:
		*p = parseShortPort(n.Value)
		return nil
	case yaml.MappingNode:
		var m struct {
			Target    any    `yaml:"target"`
			Published any    `yaml:"published"`
			HostIP    string `yaml:"host_ip"`
			Protocol  string `yaml:"protocol"`
		}
		if err := n.Decode(&m); err != nil {
			return err
		}
		*p = portSpec{HostIP: m.HostIP, Protocol: m.Protocol, Target: anyString(m.Target), Published: anyString(m.Published)}
		return nil
	}
	return fmt.Errorf("line %d: want a port string or mapping", n.Line)
}

// parseShortPort reads [HOST_IP:][PUBLISHED:]TARGET[/PROTOCOL] from the right, so a
// host IP given as ${VAR:-127.0.0.1} (which has colons of its own) stays whole.
func parseShortPort(s string) portSpec {
	var p portSpec
	s, p.Protocol, _ = strings.Cut(s, "/")
	parts := strings.Split(s, ":")
	p.Target = parts[len(parts)-1]
	if len(parts) >= 2 {
		p.Published = parts[len(parts)-2]
	}
	if len(parts) >= 3 {
		p.HostIP = strings.Join(parts[:len(parts)-2], ":")
	}
	return p
}

func anyString(v any) string {
	if v == nil {
		return ""
	}
	return fmt.Sprint(v)
}

// dependsOn maps a dependency to its condition.
type dependsOn map[string]string

func (d *dependsOn) UnmarshalYAML(n *yaml.Node) error {
	out := dependsOn{}
	switch n.Kind {
	case yaml.SequenceNode:
		var l []string
		if err := n.Decode(&l); err != nil {
			return err
		}
		for _, s := range l {
			out[s] = "service_started"
		}
	case yaml.MappingNode:
		var m map[string]struct {
			Condition string `yaml:"condition"`
		}
		if err := n.Decode(&m); err != nil {
			return err
		}
		for k, v := range m {
			if v.Condition == "" {
				v.Condition = "service_started"
			}
			out[k] = v.Condition
		}
	default:
		return fmt.Errorf("line %d: depends_on must be a list or a mapping", n.Line)
	}
	*d = out
	return nil
}

type mountSpec struct {
	Type, Source, Target string
	ReadOnly             bool
}

func (m *mountSpec) UnmarshalYAML(n *yaml.Node) error {
	switch n.Kind {
	case yaml.ScalarNode:
		parts := strings.Split(n.Value, ":")
		switch len(parts) {
		case 1:
			*m = mountSpec{Type: "volume", Target: parts[0]}
			return nil
		case 2, 3:
			*m = mountSpec{Source: parts[0], Target: parts[1]}
			if len(parts) == 3 {
				m.ReadOnly = slices.Contains(strings.Split(parts[2], ","), "ro")
			}
			m.Type = "volume"
			if strings.HasPrefix(m.Source, ".") || strings.HasPrefix(m.Source, "/") || strings.HasPrefix(m.Source, "~") {
				m.Type = "bind"
			}
			return nil
		}
		return fmt.Errorf("line %d: cannot read volume %q", n.Line, n.Value)
	case yaml.MappingNode:
		var l struct {
			Type     string `yaml:"type"`
			Source   string `yaml:"source"`
			Target   string `yaml:"target"`
			ReadOnly bool   `yaml:"read_only"`
		}
		if err := n.Decode(&l); err != nil {
			return err
		}
		*m = mountSpec{Type: l.Type, Source: l.Source, Target: l.Target, ReadOnly: l.ReadOnly}
		return nil
	}
	return fmt.Errorf("line %d: want a volume string or mapping", n.Line)
}

type healthcheck struct {
	Test    stringList `yaml:"test"`
	Disable bool       `yaml:"disable"`
}

// ---------------------------------------------------------------------------------
// Loading.

// stack is everything the checks read.
type stack struct {
	root       string // repository root, where docker-compose.yml lives
	compose    *composeFile
	dockerfile []instruction
	ignore     string
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("read %s: %v", path, err)
	}
	return string(b)
}

type sources struct{ compose, dockerfile, ignore string }

func readSources(t *testing.T) sources {
	t.Helper()
	return sources{
		compose:    readFile(t, composePath),
		dockerfile: readFile(t, dockerfilePath),
		ignore:     readFile(t, ignorePath),
	}
}

func parseStack(t *testing.T, src sources) *stack {
	t.Helper()
	root, err := filepath.Abs(filepath.Dir(composePath))
	if err != nil {
		t.Fatal(err)
	}
	var c composeFile
	if err := yaml.Unmarshal([]byte(src.compose), &c); err != nil {
		t.Fatalf("parse docker-compose.yml: %v", err)
	}
	if len(c.Services) == 0 {
		t.Fatal("docker-compose.yml has no services")
	}
	return &stack{root: root, compose: &c, dockerfile: parseDockerfile(src.dockerfile), ignore: src.ignore}
}

// ---------------------------------------------------------------------------------
// Versions.

type semver struct {
	major, minor, patch int
	pre                 string
}

var semverRE = regexp.MustCompile(`^v?(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)(?:-([0-9A-Za-z.-]+))?(?:\+[0-9A-Za-z.-]+)?$`)

func parseSemver(s string) (semver, error) {
	m := semverRE.FindStringSubmatch(s)
	if m == nil {
		return semver{}, fmt.Errorf("%q is not a MAJOR.MINOR.PATCH version", s)
	}
	n := func(x string) int { v, _ := strconv.Atoi(x); return v }
	return semver{major: n(m[1]), minor: n(m[2]), patch: n(m[3]), pre: m[4]}, nil
}

// compare orders versions as semver does: a pre-release sorts before its release.
func (a semver) compare(b semver) int {
	for _, d := range []int{a.major - b.major, a.minor - b.minor, a.patch - b.patch} {
		if d != 0 {
			return d
		}
	}
	switch {
	case a.pre == b.pre:
		return 0
	case a.pre == "":
		return 1
	case b.pre == "":
		return -1
	}
	return strings.Compare(a.pre, b.pre)
}

func (a semver) String() string {
	s := fmt.Sprintf("%d.%d.%d", a.major, a.minor, a.patch)
	if a.pre != "" {
		s += "-" + a.pre
	}
	return s
}

// temporalServerFloors are the lowest acceptable temporalio/server releases: one for
// everything, and one per release line whose first fixed patch is above it.
var temporalServerFloors = []struct {
	line   string // "MAJOR.MINOR", or "" for all
	min    string
	reason string
}{
	{"", "1.29.6", "earlier releases have published authorization CVEs (CVE-2026-5724, fixed in 1.29.6; CVE-2026-5199, fixed in 1.29.5)"},
	{"1.30", "1.30.4", "CVE-2026-5724 is fixed in 1.30.4 and CVE-2026-5199 in 1.30.3"},
	{"1.31", "1.31.2", "the replication-stream authorization fix (temporalio/temporal#9917) reached 1.31.x in 1.31.2 (#10949)"},
	// The tested release: production runs none older than make test's cluster tier.
	{"", strings.TrimPrefix(temporalcluster.ServerVersion, "v"), "make test's cluster tier (e2e/cluster) tests xuncha against " +
		temporalcluster.ServerModule + " " + temporalcluster.ServerVersion + "; production runs no older release"},
}

func checkTemporalServerTag(tag string) error {
	v, err := parseSemver(tag)
	if err != nil {
		return fmt.Errorf("temporalio/server tag: %w; pin an exact release", err)
	}
	line := fmt.Sprintf("%d.%d", v.major, v.minor)
	for _, f := range temporalServerFloors {
		if f.line != "" && f.line != line {
			continue
		}
		min, err := parseSemver(f.min)
		if err != nil {
			return err
		}
		if v.compare(min) < 0 {
			return fmt.Errorf("temporalio/server:%s is below %s: %s", v, min, f.reason)
		}
	}
	return nil
}

// splitImage splits "repo[:tag][@digest]" into repo and tag.
func splitImage(ref string) (repo, tag string) {
	ref, _, _ = strings.Cut(ref, "@")
	slash := strings.LastIndex(ref, "/")
	if colon := strings.LastIndex(ref, ":"); colon > slash {
		return ref[:colon], ref[colon+1:]
	}
	return ref, ""
}

// ---------------------------------------------------------------------------------
// Checks. Each returns the problems it finds; none means the check passes.

type check struct {
	name string
	fn   func(s *stack) []string
}

var checks = []check{
	{"no version key", checkNoVersionKey},
	{"required services", checkRequiredServices},
	{"temporal images", checkTemporalImages},
	{"ui sign-in", checkUISignIn},
	{"temporal server config", checkTemporalServerConfig},
	{"temporal schema setup", checkSchemaSetup},
	{"postgres", checkPostgres},
	{"published ports", checkPorts},
	{"xuncha services", checkXunchaServices},
	{"database roles", checkDatabaseRoles},
	{"depends_on", checkDependsOn},
	{"no literal secrets", checkNoLiteralSecrets},
	{"mounts exist", checkMounts},
	{"server healthcheck", checkServerHealthcheck},
	{"dockerfile", checkDockerfile},
	{"dockerignore", checkDockerignore},
}

func checkByName(name string) check {
	for _, c := range checks {
		if c.name == name {
			return c
		}
	}
	panic("no check named " + name)
}

func checkNoVersionKey(s *stack) []string {
	if s.compose.Version != nil {
		return []string{"top-level `version:` is obsolete in the Compose spec; remove it"}
	}
	return nil
}

func checkRequiredServices(s *stack) []string {
	var p []string
	for _, name := range requiredServices {
		if s.compose.Services[name] == nil {
			p = append(p, "missing service "+name)
		}
	}
	return p
}

// svc returns a service, or records that it is missing.
func svc(s *stack, name string, p *[]string) *service {
	sv := s.compose.Services[name]
	if sv == nil {
		*p = append(*p, "missing service "+name)
	}
	return sv
}

func checkTemporalImages(s *stack) []string {
	var p []string
	server := svc(s, "temporal", &p)
	if server == nil {
		return p
	}
	repo, serverTag := splitImage(server.Image)
	if repo != "temporalio/server" {
		p = append(p, fmt.Sprintf("temporal: image %q, want temporalio/server:<release> (auto-setup is deprecated)", server.Image))
	}
	if err := checkTemporalServerTag(serverTag); err != nil {
		p = append(p, "temporal: "+err.Error())
	}
	// Schema and namespace tools must be the admin-tools release matching the server.
	for _, name := range []string{"temporal-schema-setup", "temporal-namespace"} {
		sv := svc(s, name, &p)
		if sv == nil {
			continue
		}
		if want := "temporalio/admin-tools:" + serverTag; sv.Image != want {
			p = append(p, fmt.Sprintf("%s: image %q, want %q (matching the server)", name, sv.Image, want))
		}
	}
	if ui := svc(s, "temporal-ui", &p); ui != nil {
		repo, tag := splitImage(ui.Image)
		v, err := parseSemver(tag)
		switch {
		case repo != "temporalio/ui":
			p = append(p, fmt.Sprintf("temporal-ui: image %q, want temporalio/ui:2.x", ui.Image))
		case err != nil:
			p = append(p, "temporal-ui: "+err.Error())
		case v.major != 2:
			p = append(p, fmt.Sprintf("temporal-ui: version %s, want 2.x", v))
		}
	}
	return p
}

// checkUISignIn: operators sign in to the Temporal Web UI through the
// API's OpenID provider (issue 10 item 6).
func checkUISignIn(s *stack) []string {
	var p []string
	ui := svc(s, "temporal-ui", &p)
	if ui == nil {
		return p
	}
	wantEnv(&p, "temporal-ui", ui.Environment, "TEMPORAL_AUTH_ENABLED", "true")
	wantEnv(&p, "temporal-ui", ui.Environment, "TEMPORAL_AUTH_TYPE", "oidc")
	wantEnv(&p, "temporal-ui", ui.Environment, "TEMPORAL_AUTH_CLIENT_SECRET", "")
	wantEnv(&p, "temporal-ui", ui.Environment, "TEMPORAL_AUTH_CALLBACK_URL", "")
	provider, _ := ui.Environment.value("TEMPORAL_AUTH_PROVIDER_URL")
	if !strings.HasPrefix(provider, "${XUNCHA_OIDC_ISSUER") {
		p = append(p, fmt.Sprintf("temporal-ui: TEMPORAL_AUTH_PROVIDER_URL=%q, want the API's issuer ${XUNCHA_OIDC_ISSUER…}", provider))
	}
	// Payloads are encrypted (issue 11): the UI decodes them through
	// xuncha-server's codec routes with the operator's token.
	wantEnv(&p, "temporal-ui", ui.Environment, "TEMPORAL_CODEC_ENDPOINT", "")
	wantEnv(&p, "temporal-ui", ui.Environment, "TEMPORAL_CODEC_PASS_ACCESS_TOKEN", "true")
	return p
}

func wantEnv(p *[]string, svcName string, env envMap, name, want string) {
	got, ok := env.value(name)
	switch {
	case !ok:
		*p = append(*p, fmt.Sprintf("%s: environment lacks %s", svcName, name))
	case want != "" && got != want:
		*p = append(*p, fmt.Sprintf("%s: %s=%q, want %q", svcName, name, got, want))
	}
}

// mountAt returns the mount of sv whose target is target.
func mountAt(sv *service, target string) (mountSpec, bool) {
	for _, m := range sv.Volumes {
		if m.Target == target {
			return m, true
		}
	}
	return mountSpec{}, false
}

func checkTemporalServerConfig(s *stack) []string {
	var p []string
	sv := svc(s, "temporal", &p)
	if sv == nil {
		return p
	}
	for name, want := range map[string]string{
		"DB":             "postgres12_pgx",
		"DB_PORT":        "5432",
		"POSTGRES_SEEDS": "postgres",
		"POSTGRES_USER":  "",
		"POSTGRES_PWD":   "",
	} {
		wantEnv(&p, "temporal", sv.Environment, name, want)
	}
	path, ok := sv.Environment.value("DYNAMIC_CONFIG_FILE_PATH")
	if !ok {
		return append(p, "temporal: DYNAMIC_CONFIG_FILE_PATH is not set")
	}
	m, ok := mountAt(sv, path)
	switch {
	case !ok:
		p = append(p, fmt.Sprintf("temporal: nothing is mounted at DYNAMIC_CONFIG_FILE_PATH %s", path))
	case filepath.Clean(m.Source) != filepath.Clean("./deploy/temporal/dynamicconfig.yaml"):
		p = append(p, fmt.Sprintf("temporal: dynamic config mounted from %s, want ./deploy/temporal/dynamicconfig.yaml", m.Source))
	}
	return p
}

// scriptOf returns the repo file a one-shot service runs: the bind mount whose target
// appears in its entrypoint or command.
func scriptOf(s *stack, sv *service) (string, error) {
	source, err := scriptSource(sv)
	if err != nil {
		return "", err
	}
	b, err := os.ReadFile(filepath.Join(s.root, source))
	return string(b), err
}

// scriptSource is the repository path of the script sv runs: a file
// bind-mounted where its entrypoint and command name it.
func scriptSource(sv *service) (string, error) {
	run := strings.Join(append(slices.Clone(sv.Entrypoint), sv.Command...), " ")
	for _, m := range sv.Volumes {
		if m.Type == "bind" && m.Target != "" && strings.Contains(run, m.Target) {
			return m.Source, nil
		}
	}
	return "", fmt.Errorf("runs no script mounted from the repo (entrypoint+command %q)", run)
}

func checkSchemaSetup(s *stack) []string {
	var p []string
	sv := svc(s, "temporal-schema-setup", &p)
	if sv == nil {
		return p
	}
	script, err := scriptOf(s, sv)
	if err != nil {
		return append(p, "temporal-schema-setup: "+err.Error())
	}
	for _, want := range []string{
		"--plugin postgres12_pgx ",
		"--db temporal setup-schema",
		"--db temporal update-schema",
		"/temporal/versioned",
		"--db temporal_visibility setup-schema",
		"--db temporal_visibility update-schema",
		"/visibility/versioned",
		"/etc/temporal/schema/postgresql/v12",
	} {
		if !strings.Contains(script, want) {
			p = append(p, fmt.Sprintf("temporal-schema-setup: script lacks %q", want))
		}
	}
	return p
}

// initScript is the text of the scripts mounted into the postgres
// service's /docker-entrypoint-initdb.d/, and the problems reading them.
func initScript(s *stack, sv *service) (string, []string) {
	var init string
	var p []string
	for _, m := range sv.Volumes {
		if m.Type == "bind" && strings.HasPrefix(m.Target, "/docker-entrypoint-initdb.d/") {
			b, err := os.ReadFile(filepath.Join(s.root, m.Source))
			if err != nil {
				p = append(p, "postgres: init script: "+err.Error())
			}
			init += string(b)
		}
	}
	return init, p
}

func checkPostgres(s *stack) []string {
	var p []string
	sv := svc(s, "postgres", &p)
	if sv == nil {
		return p
	}
	repo, tag := splitImage(sv.Image)
	digits := tag
	if i := strings.IndexFunc(tag, func(r rune) bool { return r < '0' || r > '9' }); i >= 0 {
		digits = tag[:i]
	}
	if major, err := strconv.Atoi(digits); repo != "postgres" || err != nil || major < 15 {
		p = append(p, fmt.Sprintf("postgres: image %q, want postgres:15 or later", sv.Image))
	}
	wantEnv(&p, "postgres", sv.Environment, "POSTGRES_USER", "")
	wantEnv(&p, "postgres", sv.Environment, "POSTGRES_PASSWORD", "")
	if sv.Healthcheck == nil || !strings.Contains(strings.Join(sv.Healthcheck.Test, " "), "pg_isready") {
		p = append(p, "postgres: healthcheck must run pg_isready")
	}
	if m, ok := mountAt(sv, "/var/lib/postgresql/data"); !ok || m.Type != "volume" || m.Source == "" {
		p = append(p, "postgres: /var/lib/postgresql/data must be a named volume")
	}
	init, problems := initScript(s, sv)
	p = append(p, problems...)
	if init == "" {
		return append(p, "postgres: no init script mounted into /docker-entrypoint-initdb.d/")
	}
	for _, db := range []string{"temporal", "temporal_visibility", "xuncha"} {
		if !regexp.MustCompile(`(?i)CREATE DATABASE\s+"?` + db + `"?[\s;]`).MatchString(init) {
			p = append(p, "postgres: init script does not create database "+db)
		}
	}
	return p
}

func checkPorts(s *stack) []string {
	var p []string
	for _, want := range []struct {
		service           string
		published, target string
	}{
		{"xuncha-server", "8080", "8080"},
		{"xuncha-server", "9090", "9090"},
		{"temporal", "7233", "7233"},
		{"temporal-ui", "8233", "8080"},
	} {
		sv := svc(s, want.service, &p)
		if sv == nil {
			continue
		}
		found := slices.ContainsFunc(sv.Ports, func(ps portSpec) bool {
			return ps.Published == want.published && ps.Target == want.target
		})
		if !found {
			p = append(p, fmt.Sprintf("%s: does not publish %s:%s", want.service, want.published, want.target))
		}
	}
	return p
}

var evidenceDir = "/var/lib/xuncha/evidence"

func checkXunchaServices(s *stack) []string {
	var p []string
	var image string
	for _, name := range slices.Sorted(maps.Keys(xunchaCommands)) {
		sv := svc(s, name, &p)
		if sv == nil {
			continue
		}
		if image == "" {
			image = sv.Image
		}
		if sv.Image == "" || sv.Image != image {
			p = append(p, fmt.Sprintf("%s: image %q, want the one xuncha image %q", name, sv.Image, image))
		}
		if sv.Build == nil || filepath.Clean(sv.Build.Context) != "." || sv.Build.Dockerfile != "deploy/Dockerfile" {
			p = append(p, name+": build must be context . with dockerfile deploy/Dockerfile")
		}
		if want := xunchaCommands[name]; !slices.Equal(sv.Command, want) {
			p = append(p, fmt.Sprintf("%s: command %q, want %q", name, sv.Command, want))
		}
		if len(sv.Entrypoint) != 0 {
			p = append(p, name+": must keep the image's entrypoint /xuncha")
		}
		env := sv.Environment
		wantEnv(&p, name, env, "DATABASE_URL", "")
		if u, ok := env.value("DATABASE_URL"); ok && !strings.Contains(u, "@postgres:5432/xuncha") {
			p = append(p, fmt.Sprintf("%s: DATABASE_URL %q does not point at postgres:5432/xuncha", name, u))
		}
		wantEnv(&p, name, env, "TEMPORAL_ADDRESS", "temporal:7233")
		wantEnv(&p, name, env, "TEMPORAL_NAMESPACE", "default")
		wantEnv(&p, name, env, "XUNCHA_TASK_QUEUE", "xuncha")
		wantEnv(&p, name, env, "XUNCHA_LOG_FORMAT", "json")
		wantEnv(&p, name, env, "XUNCHA_GRPC_ADDR", ":9090")
		wantEnv(&p, name, env, "XUNCHA_TIP_KEY", "")
		wantEnv(&p, name, env, "XUNCHA_PAYLOAD_KEYS", "") // server and worker refuse to start without
		if _, ok := env["XUNCHA_WEBHOOK_SECRET"]; ok {
			p = append(p, name+": XUNCHA_WEBHOOK_SECRET must not be global (secrets are per subscription)")
		}
		if name == "xuncha-worker" || name == "xuncha-server" {
			wantEnv(&p, name, env, "XUNCHA_EVIDENCE_DIR", evidenceDir)
			if m, ok := mountAt(sv, evidenceDir); !ok || m.Type != "volume" || m.Source == "" {
				p = append(p, fmt.Sprintf("%s: %s must be a named volume", name, evidenceDir))
			}
		}
		if name == "xuncha-server" {
			wantEnv(&p, name, env, "XUNCHA_HTTP_ADDR", ":8080")
			wantEnv(&p, name, env, "XUNCHA_OIDC_ISSUER", "") // it refuses to start without
			wantEnv(&p, name, env, "XUNCHA_CODEC_CORS_ORIGIN", "")
		}
	}
	return p
}

// urlUserRE finds the user of scheme://user[:password]@host.
var urlUserRE = regexp.MustCompile(`://([^:/@\s]+)[:@]`)

// checkDatabaseRoles checks the split of database roles (README, "Database
// roles"): xuncha-migrate alone has the ledger owner's URL; every xuncha
// service's DATABASE_URL connects as another role, the application role,
// never the owner or the superuser; and the init script lets the owner
// create roles, so that xuncha-migrate creates the application role.
func checkDatabaseRoles(s *stack) []string {
	var p []string
	migrate := svc(s, "xuncha-migrate", &p)
	if migrate == nil {
		return p
	}
	ownerURL, ok := migrate.Environment.value("MIGRATE_DATABASE_URL")
	if !ok {
		return append(p, "xuncha-migrate: environment lacks MIGRATE_DATABASE_URL, the ledger owner's URL")
	}
	if !strings.Contains(ownerURL, "@postgres:5432/xuncha") {
		p = append(p, fmt.Sprintf("xuncha-migrate: MIGRATE_DATABASE_URL %q does not point at postgres:5432/xuncha", ownerURL))
	}
	var owner string
	if m := urlUserRE.FindStringSubmatch(ownerURL); m != nil {
		owner = m[1]
	} else {
		p = append(p, "xuncha-migrate: MIGRATE_DATABASE_URL names no user")
	}
	for _, name := range slices.Sorted(maps.Keys(xunchaCommands)) {
		sv := svc(s, name, &p)
		if sv == nil {
			continue
		}
		if _, ok := sv.Environment["MIGRATE_DATABASE_URL"]; ok && name != "xuncha-migrate" {
			p = append(p, name+": only xuncha-migrate has the owner's MIGRATE_DATABASE_URL")
		}
		appURL, _ := sv.Environment.value("DATABASE_URL")
		m := urlUserRE.FindStringSubmatch(appURL)
		if m == nil {
			p = append(p, name+": DATABASE_URL names no user")
			continue
		}
		if m[1] == owner || m[1] == "postgres" {
			p = append(p, fmt.Sprintf("%s: DATABASE_URL connects as %q, the ledger's owner or the superuser: server and worker connect as the application role", name, m[1]))
		}
	}
	if pg := svc(s, "postgres", &p); pg != nil && owner != "" {
		init, problems := initScript(s, pg)
		p = append(p, problems...)
		if !regexp.MustCompile(`(?i)CREATE ROLE\s+"?` + regexp.QuoteMeta(owner) + `"?\s[^;]*\bCREATEROLE\b`).MatchString(init) {
			p = append(p, fmt.Sprintf("postgres: init script does not create the ledger's owner %q with CREATEROLE (xuncha migrate creates the application role)", owner))
		}
	}
	return p
}

func checkDependsOn(s *stack) []string {
	const (
		healthy   = "service_healthy"
		completed = "service_completed_successfully"
	)
	var p []string
	for _, want := range []struct{ service, on, condition string }{
		{"temporal-schema-setup", "postgres", healthy},
		{"temporal", "temporal-schema-setup", completed},
		{"temporal-namespace", "temporal", healthy},
		{"temporal-ui", "temporal", healthy},
		{"xuncha-migrate", "postgres", healthy},
		{"xuncha-temporal-setup", "temporal", healthy},
		{"xuncha-temporal-setup", "temporal-namespace", completed},
		{"xuncha-worker", "xuncha-migrate", completed},
		{"xuncha-worker", "xuncha-temporal-setup", completed},
		{"xuncha-server", "xuncha-migrate", completed},
		{"xuncha-server", "xuncha-temporal-setup", completed},
	} {
		sv := svc(s, want.service, &p)
		if sv == nil {
			continue
		}
		if got, ok := sv.DependsOn[want.on]; !ok {
			p = append(p, fmt.Sprintf("%s: does not depend on %s", want.service, want.on))
		} else if got != want.condition {
			p = append(p, fmt.Sprintf("%s: depends on %s with condition %s, want %s", want.service, want.on, got, want.condition))
		}
	}
	for name, sv := range s.compose.Services {
		for on := range sv.DependsOn {
			if s.compose.Services[on] == nil {
				p = append(p, fmt.Sprintf("%s: depends on unknown service %s", name, on))
			}
		}
	}
	return p
}

var (
	secretNameRE = regexp.MustCompile(`(?i)(PASSWORD|PASSWD|PWD|SECRET|TOKEN|(^|_)KEYS?($|_))`)
	// notSecrets are names secretNameRE matches that hold no secret.
	notSecrets = []string{"TEMPORAL_CODEC_PASS_ACCESS_TOKEN"} // a boolean
	// requiredRefRE is a whole-value ${VAR:?message} or ${VAR?message}: compose refuses
	// to start without VAR, and there is no default to leak.
	requiredRefRE = regexp.MustCompile(`^\$\{[A-Za-z_][A-Za-z0-9_]*:?\?[^}]*\}$`)
	// urlPasswordRE finds the password of scheme://user:password@host.
	urlPasswordRE = regexp.MustCompile(`://[^:/@\s]*:([^@\s]*)@`)
)

func checkNoLiteralSecrets(s *stack) []string {
	var p []string
	for _, name := range slices.Sorted(maps.Keys(s.compose.Services)) {
		for _, k := range slices.Sorted(maps.Keys(s.compose.Services[name].Environment)) {
			v := s.compose.Services[name].Environment[k]
			if secretNameRE.MatchString(k) && !slices.Contains(notSecrets, k) {
				if v == nil || !requiredRefRE.MatchString(*v) {
					p = append(p, fmt.Sprintf("%s: %s must be a required reference ${VAR:?...}, not a literal or a default", name, k))
				}
			}
			if v == nil {
				continue
			}
			for _, m := range urlPasswordRE.FindAllStringSubmatch(*v, -1) {
				if !requiredRefRE.MatchString(m[1]) {
					p = append(p, fmt.Sprintf("%s: %s embeds a literal password", name, k))
				}
			}
		}
	}
	return p
}

func checkMounts(s *stack) []string {
	var p []string
	for _, name := range slices.Sorted(maps.Keys(s.compose.Services)) {
		for _, m := range s.compose.Services[name].Volumes {
			switch m.Type {
			case "bind":
				if !strings.HasPrefix(m.Source, "./deploy/") {
					p = append(p, fmt.Sprintf("%s: bind mount %s: mount only files under ./deploy/", name, m.Source))
				}
				if _, err := os.Stat(filepath.Join(s.root, m.Source)); err != nil {
					p = append(p, fmt.Sprintf("%s: mounts %s, which does not exist: %v", name, m.Source, err))
				}
			case "volume":
				if m.Source == "" {
					continue // anonymous volume
				}
				if _, ok := s.compose.Volumes[m.Source]; !ok {
					p = append(p, fmt.Sprintf("%s: volume %s is not declared under top-level volumes", name, m.Source))
				}
			}
		}
	}
	return p
}

var serverHealthcheck = []string{"CMD", "/xuncha", "healthcheck", "--url", "http://127.0.0.1:8080/readyz"}

func checkServerHealthcheck(s *stack) []string {
	var p []string
	sv := svc(s, "xuncha-server", &p)
	if sv == nil {
		return p
	}
	if sv.Healthcheck == nil || sv.Healthcheck.Disable || !slices.Equal(sv.Healthcheck.Test, serverHealthcheck) {
		p = append(p, fmt.Sprintf("xuncha-server: healthcheck must be %q (distroless: no curl)", serverHealthcheck))
	}
	return p
}

// ---------------------------------------------------------------------------------
// Dockerfile.

type instruction struct {
	cmd  string // upper case
	args string
}

// parseDockerfile joins continuation lines and drops comments and parser directives.
func parseDockerfile(text string) []instruction {
	var out []instruction
	var cur strings.Builder
	for _, line := range strings.Split(text, "\n") {
		trimmed := strings.TrimSpace(line)
		if strings.HasPrefix(trimmed, "#") || (trimmed == "" && cur.Len() == 0) {
			continue
		}
		if strings.HasSuffix(trimmed, `\`) {
			cur.WriteString(strings.TrimSuffix(trimmed, `\`) + " ")
			continue
		}
		cur.WriteString(trimmed)
		full := strings.TrimSpace(cur.String())
		cur.Reset()
		if full == "" {
			continue
		}
		cmd, args, _ := strings.Cut(full, " ")
		out = append(out, instruction{cmd: strings.ToUpper(cmd), args: strings.TrimSpace(args)})
	}
	return out
}

func checkDockerfile(s *stack) []string {
	var p []string
	globalArgs := map[string]string{}
	var stages [][]instruction
	for _, in := range s.dockerfile {
		switch {
		case in.cmd == "FROM":
			stages = append(stages, []instruction{in})
		case len(stages) == 0 && in.cmd == "ARG":
			k, v, _ := strings.Cut(in.args, "=")
			globalArgs[k] = v
		case len(stages) > 0:
			stages[len(stages)-1] = append(stages[len(stages)-1], in)
		}
	}
	if len(stages) < 2 {
		return append(p, fmt.Sprintf("Dockerfile: %d stage(s), want a multi-stage build", len(stages)))
	}
	fromImage := func(st []instruction) string {
		img, _, _ := strings.Cut(st[0].args, " ")
		return os.Expand(img, func(k string) string { return globalArgs[k] })
	}

	// Build stage: the first one.
	build := stages[0]
	if img := fromImage(build); !strings.HasPrefix(img, "golang:1.26") || !strings.Contains(img, "bookworm") {
		p = append(p, fmt.Sprintf("Dockerfile: build stage FROM %s, want golang:1.26 (bookworm)", img))
	}
	idx := func(pred func(instruction) bool) int { return slices.IndexFunc(build, pred) }
	modCopy := idx(func(in instruction) bool {
		return in.cmd == "COPY" && strings.Contains(in.args, "go.mod") && strings.Contains(in.args, "go.sum")
	})
	download := idx(func(in instruction) bool { return in.cmd == "RUN" && strings.Contains(in.args, "go mod download") })
	srcCopy := idx(func(in instruction) bool { return in.cmd == "COPY" && strings.HasPrefix(in.args, ". ") })
	goBuild := idx(func(in instruction) bool { return in.cmd == "RUN" && strings.Contains(in.args, "go build") })
	if modCopy < 0 || download < 0 || srcCopy < 0 || !(modCopy < download && download < srcCopy) {
		p = append(p, "Dockerfile: want COPY go.mod go.sum, then RUN go mod download, then COPY . (a cached module layer)")
	}
	if goBuild < 0 {
		p = append(p, "Dockerfile: build stage runs no go build")
	} else {
		args := build[goBuild].args
		cgoOff := strings.Contains(args, "CGO_ENABLED=0") || slices.ContainsFunc(build[:goBuild], func(in instruction) bool {
			return in.cmd == "ENV" && strings.Contains(in.args, "CGO_ENABLED=0")
		})
		if !cgoOff {
			p = append(p, "Dockerfile: go build without CGO_ENABLED=0 (the binary must be static)")
		}
		for _, want := range []string{"-trimpath", `-ldflags="-s -w"`, "-o /out/xuncha", "./cmd/xuncha"} {
			if !strings.Contains(args, want) {
				p = append(p, fmt.Sprintf("Dockerfile: go build lacks %s", want))
			}
		}
	}

	// Final stage: the last one.
	final := stages[len(stages)-1]
	if img := fromImage(final); img != "gcr.io/distroless/static-debian12:nonroot" {
		p = append(p, fmt.Sprintf("Dockerfile: final stage FROM %s, want gcr.io/distroless/static-debian12:nonroot", img))
	}
	user := ""
	var expose []string
	var entrypoint []string
	copiesBinary := false
	for _, in := range final[1:] {
		switch in.cmd {
		case "USER":
			user = in.args
		case "EXPOSE":
			expose = append(expose, strings.Fields(in.args)...)
		case "ENTRYPOINT":
			entrypoint = nil
			if err := json.Unmarshal([]byte(in.args), &entrypoint); err != nil {
				p = append(p, "Dockerfile: ENTRYPOINT must be exec (JSON) form")
			}
		case "COPY":
			copiesBinary = copiesBinary || (strings.Contains(in.args, "--from=") && strings.HasSuffix(in.args, " /xuncha"))
		}
	}
	if name, _, _ := strings.Cut(user, ":"); name == "" || name == "root" || name == "0" {
		p = append(p, fmt.Sprintf("Dockerfile: final stage USER %q, want a non-root user (nonroot)", user))
	}
	for _, port := range []string{"8080", "9090"} {
		if !slices.Contains(expose, port) {
			p = append(p, "Dockerfile: final stage does not EXPOSE "+port)
		}
	}
	if !slices.Equal(entrypoint, []string{"/xuncha"}) {
		p = append(p, fmt.Sprintf(`Dockerfile: ENTRYPOINT %q, want ["/xuncha"]`, entrypoint))
	}
	if !copiesBinary {
		p = append(p, "Dockerfile: final stage does not COPY --from the build stage to /xuncha")
	}
	return p
}

func checkDockerignore(s *stack) []string {
	var lines []string
	for _, l := range strings.Split(s.ignore, "\n") {
		l = strings.TrimSpace(l)
		if l == "" || strings.HasPrefix(l, "#") {
			continue
		}
		lines = append(lines, strings.TrimSuffix(strings.TrimPrefix(l, "/"), "/"))
	}
	var p []string
	for _, want := range []string{"bin", ".data", ".git"} {
		if !slices.Contains(lines, want) {
			p = append(p, fmt.Sprintf("Dockerfile.dockerignore: does not ignore %s", want))
		}
	}
	return p
}

// ---------------------------------------------------------------------------------
// Tests.

func TestStack(t *testing.T) {
	s := parseStack(t, readSources(t))
	for _, c := range checks {
		t.Run(c.name, func(t *testing.T) {
			for _, problem := range c.fn(s) {
				t.Error(problem)
			}
		})
	}
}

// TestChecksCatchBreakage breaks the real files in memory and wants each break caught
// by the check named in its row, with a message containing want.
func TestChecksCatchBreakage(t *testing.T) {
	replace := func(old, new string) func(t *testing.T, s string) string {
		return func(t *testing.T, s string) string {
			t.Helper()
			if !strings.Contains(s, old) {
				t.Fatalf("mutation cannot apply: %q not found", old)
			}
			return strings.Replace(s, old, new, 1)
		}
	}
	type edit = func(t *testing.T, s string) string
	tests := []struct {
		name       string
		check      string
		compose    edit
		dockerfile edit
		ignore     edit
		model      func(s *stack)
		want       string
	}{
		{name: "version key", check: "no version key", compose: func(_ *testing.T, s string) string { return "version: \"3.8\"\n" + s }, want: "version"},
		{name: "service removed", check: "required services", model: func(s *stack) { delete(s.compose.Services, "temporal-ui") }, want: "missing service temporal-ui"},
		{name: "temporal 1.29.5", check: "temporal images", compose: replace("temporalio/server:1.32.0", "temporalio/server:1.29.5"), want: "below 1.29.6"},
		{name: "temporal 1.30.3", check: "temporal images", compose: replace("temporalio/server:1.32.0", "temporalio/server:1.30.3"), want: "below 1.30.4"},
		{name: "temporal below the tested release", check: "temporal images", compose: replace("temporalio/server:1.32.0", "temporalio/server:1.29.9"), want: "below " + strings.TrimPrefix(temporalcluster.ServerVersion, "v") + ": make test's cluster tier"},
		{name: "temporal latest", check: "temporal images", compose: replace("temporalio/server:1.32.0", "temporalio/server:latest"), want: "not a MAJOR.MINOR.PATCH"},
		{name: "temporal auto-setup", check: "temporal images", compose: replace("temporalio/server:1.32.0", "temporalio/auto-setup:1.32.0"), want: "auto-setup"},
		{name: "admin-tools mismatch", check: "temporal images", compose: replace("temporalio/admin-tools:1.32.0", "temporalio/admin-tools:1.31.0"), want: "matching the server"},
		{name: "ui 1.x", check: "temporal images", compose: replace("temporalio/ui:2.54.1", "temporalio/ui:1.9.0"), want: "want 2.x"},
		{name: "DB not postgres12_pgx", check: "temporal server config", compose: replace("DB: postgres12_pgx", "DB: mysql8"), want: "DB="},
		{name: "DB through lib/pq", check: "temporal server config", compose: replace("DB: postgres12_pgx", "DB: postgres12"), want: "DB="},
		{name: "dynamic config not mounted", check: "temporal server config", compose: replace(":/etc/temporal/config/dynamicconfig/xuncha.yaml:ro", ":/etc/temporal/config/dynamicconfig/other.yaml:ro"), want: "nothing is mounted"},
		{name: "schema script unmounted", check: "temporal schema setup", model: func(s *stack) { s.compose.Services["temporal-schema-setup"].Volumes = nil }, want: "runs no script"},
		{name: "schema script skips visibility", check: "temporal schema setup", model: func(s *stack) {
			sv := s.compose.Services["temporal-schema-setup"]
			sv.Volumes[0].Source = "./deploy/temporal/create-namespace.sh"
		}, want: "temporal_visibility"},
		{name: "postgres 14", check: "postgres", compose: replace("image: postgres:16", "image: postgres:14"), want: "postgres:15 or later"},
		{name: "postgres no healthcheck", check: "postgres", model: func(s *stack) { s.compose.Services["postgres"].Healthcheck = nil }, want: "pg_isready"},
		{name: "postgres no init script", check: "postgres", model: func(s *stack) {
			sv := s.compose.Services["postgres"]
			sv.Volumes = slices.DeleteFunc(sv.Volumes, func(m mountSpec) bool { return m.Type == "bind" })
		}, want: "no init script"},
		{name: "server port 9090 missing", check: "published ports", compose: replace(`- "9090:9090"`, `- "9091:9090"`), want: "xuncha-server: does not publish 9090:9090"},
		{name: "ui without sign-in", check: "ui sign-in", compose: replace(`TEMPORAL_AUTH_ENABLED: "true"`, `TEMPORAL_AUTH_ENABLED: "false"`), want: "TEMPORAL_AUTH_ENABLED"},
		{name: "ui another provider", check: "ui sign-in", compose: replace("TEMPORAL_AUTH_PROVIDER_URL: ${XUNCHA_OIDC_ISSUER", "TEMPORAL_AUTH_PROVIDER_URL: ${OTHER_ISSUER"), want: "the API's issuer"},
		{name: "ui port", check: "published ports", compose: replace(":8233:8080", ":8234:8080"), want: "temporal-ui: does not publish 8233:8080"},
		{name: "temporal port", check: "published ports", model: func(s *stack) { s.compose.Services["temporal"].Ports = nil }, want: "temporal: does not publish 7233:7233"},
		{name: "env var dropped from anchor", check: "xuncha services", compose: replace("  XUNCHA_TASK_QUEUE: xuncha\n", ""), want: "xuncha-worker: environment lacks XUNCHA_TASK_QUEUE"},
		{name: "temporal address wrong", check: "xuncha services", compose: replace("  TEMPORAL_ADDRESS: temporal:7233\n  TEMPORAL_NAMESPACE", "  TEMPORAL_ADDRESS: localhost:7233\n  TEMPORAL_NAMESPACE"), want: "TEMPORAL_ADDRESS="},
		{name: "server env not merged", check: "xuncha services", model: func(s *stack) {
			delete(s.compose.Services["xuncha-server"].Environment, "DATABASE_URL")
		}, want: "xuncha-server: environment lacks DATABASE_URL"},
		{name: "global webhook secret", check: "xuncha services", model: func(s *stack) {
			v := "${XUNCHA_WEBHOOK_SECRET:?x}"
			s.compose.Services["xuncha-worker"].Environment["XUNCHA_WEBHOOK_SECRET"] = &v
		}, want: "must not be global"},
		{name: "wrong command", check: "xuncha services", compose: replace(`command: ["worker"]`, `command: ["server"]`), want: "xuncha-worker: command"},
		{name: "no evidence volume", check: "xuncha services", model: func(s *stack) { s.compose.Services["xuncha-worker"].Volumes = nil }, want: "must be a named volume"},
		{name: "worker before migrate", check: "depends_on", model: func(s *stack) {
			s.compose.Services["xuncha-worker"].DependsOn["xuncha-migrate"] = "service_started"
		}, want: "xuncha-worker: depends on xuncha-migrate with condition service_started"},
		{name: "server without temporal setup", check: "depends_on", model: func(s *stack) {
			delete(s.compose.Services["xuncha-server"].DependsOn, "xuncha-temporal-setup")
		}, want: "xuncha-server: does not depend on xuncha-temporal-setup"},
		{name: "temporal before schema", check: "depends_on", model: func(s *stack) { s.compose.Services["temporal"].DependsOn = nil }, want: "temporal: does not depend on temporal-schema-setup"},
		{name: "payload keys dropped", check: "xuncha services", compose: replace("  XUNCHA_PAYLOAD_KEYS: ${XUNCHA_PAYLOAD_KEYS:?", "  XUNCHA_PAYLOAD_KEYZ: ${XUNCHA_PAYLOAD_KEYS:?"), want: "xuncha-worker: environment lacks XUNCHA_PAYLOAD_KEYS"},
		{name: "payload keys with default", check: "no literal secrets", compose: replace("${XUNCHA_PAYLOAD_KEYS:?set XUNCHA_PAYLOAD_KEYS, the key ring that encrypts Temporal payloads}", "${XUNCHA_PAYLOAD_KEYS:-k1:AAAA}"), want: "xuncha-server: XUNCHA_PAYLOAD_KEYS"},
		{name: "ui without codec token", check: "ui sign-in", compose: replace(`TEMPORAL_CODEC_PASS_ACCESS_TOKEN: "true"`, `TEMPORAL_CODEC_PASS_ACCESS_TOKEN: "false"`), want: "TEMPORAL_CODEC_PASS_ACCESS_TOKEN"},
		{name: "literal password", check: "no literal secrets", compose: replace("POSTGRES_PWD: ${POSTGRES_PASSWORD:?set POSTGRES_PASSWORD}", "POSTGRES_PWD: hunter2"), want: "temporal: POSTGRES_PWD"},
		{name: "secret with default", check: "no literal secrets", compose: replace("XUNCHA_TIP_KEY: ${XUNCHA_TIP_KEY:?set XUNCHA_TIP_KEY, the key that encrypts tips and webhook secrets}", "XUNCHA_TIP_KEY: ${XUNCHA_TIP_KEY:-dev-key}"), want: "xuncha-server: XUNCHA_TIP_KEY"},
		{name: "literal password in URL", check: "no literal secrets", compose: replace("postgres://xuncha:${POSTGRES_PASSWORD:?set POSTGRES_PASSWORD}@", "postgres://xuncha:hunter2@"), want: "embeds a literal password"},
		{name: "literal app password in URL", check: "no literal secrets", compose: replace("postgres://xuncha_app:${XUNCHA_APP_DB_PASSWORD:?set XUNCHA_APP_DB_PASSWORD}@", "postgres://xuncha_app:hunter2@"), want: "xuncha-server: DATABASE_URL embeds a literal password"},
		{name: "server as the owner", check: "database roles", compose: replace("postgres://xuncha_app:", "postgres://xuncha:"), want: `xuncha-server: DATABASE_URL connects as "xuncha"`},
		{name: "server as the superuser", check: "database roles", compose: replace("postgres://xuncha_app:", "postgres://postgres:"), want: `xuncha-worker: DATABASE_URL connects as "postgres"`},
		{name: "owner's URL in the server", check: "database roles", model: func(s *stack) {
			s.compose.Services["xuncha-server"].Environment["MIGRATE_DATABASE_URL"] = s.compose.Services["xuncha-migrate"].Environment["MIGRATE_DATABASE_URL"]
		}, want: "xuncha-server: only xuncha-migrate has the owner's MIGRATE_DATABASE_URL"},
		{name: "migrate without the owner", check: "database roles", model: func(s *stack) {
			delete(s.compose.Services["xuncha-migrate"].Environment, "MIGRATE_DATABASE_URL")
		}, want: "xuncha-migrate: environment lacks MIGRATE_DATABASE_URL"},
		{name: "owner may not create roles", check: "database roles", model: func(s *stack) {
			for i, m := range s.compose.Services["postgres"].Volumes {
				if m.Type == "bind" {
					s.compose.Services["postgres"].Volumes[i].Source = "./deploy/temporal/setup-schema.sh"
				}
			}
		}, want: `does not create the ledger's owner "xuncha" with CREATEROLE`},
		{name: "mount of a missing file", check: "mounts exist", compose: replace("./deploy/temporal/dynamicconfig.yaml:", "./deploy/temporal/missing.yaml:"), want: "does not exist"},
		{name: "undeclared volume", check: "mounts exist", compose: replace("  xuncha-evidence:\n", ""), want: "not declared"},
		{name: "server healthcheck curl", check: "server healthcheck", model: func(s *stack) {
			s.compose.Services["xuncha-server"].Healthcheck.Test = stringList{"CMD", "curl", "-f", "http://127.0.0.1:8080/readyz"}
		}, want: "healthcheck must be"},
		{name: "single stage", check: "dockerfile", dockerfile: func(t *testing.T, s string) string {
			i := strings.Index(s, "FROM gcr.io/distroless")
			if i < 0 {
				t.Fatal("mutation cannot apply: no distroless stage")
			}
			return s[:i]
		}, want: "multi-stage"},
		{name: "cgo on", check: "dockerfile", dockerfile: replace("CGO_ENABLED=0 go build", "go build"), want: "CGO_ENABLED=0"},
		{name: "root user", check: "dockerfile", dockerfile: replace("USER nonroot", "USER root"), want: "non-root"},
		{name: "no user", check: "dockerfile", dockerfile: replace("USER nonroot\n", ""), want: "non-root"},
		{name: "no module layer", check: "dockerfile", dockerfile: replace("RUN go mod download && go mod verify\n", ""), want: "go mod download"},
		{name: "other base", check: "dockerfile", dockerfile: replace("gcr.io/distroless/static-debian12:nonroot", "debian:bookworm-slim"), want: "distroless"},
		{name: "go version", check: "dockerfile", dockerfile: replace("ARG GO_VERSION=1.26", "ARG GO_VERSION=1.25"), want: "golang:1.26"},
		{name: "no expose 9090", check: "dockerfile", dockerfile: replace("EXPOSE 8080 9090", "EXPOSE 8080"), want: "EXPOSE 9090"},
		{name: "ignore keeps .git", check: "dockerignore", ignore: replace("\n.git\n", "\n"), want: "does not ignore .git"},
	}
	orig := readSources(t)
	// The real files pass every check the rows rely on; otherwise a row proves nothing.
	base := parseStack(t, orig)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := checkByName(tt.check)
			if got := c.fn(base); len(got) != 0 {
				t.Fatalf("check %q already fails on the real files: %q", tt.check, got)
			}
			src := orig
			if tt.compose != nil {
				src.compose = tt.compose(t, src.compose)
			}
			if tt.dockerfile != nil {
				src.dockerfile = tt.dockerfile(t, src.dockerfile)
			}
			if tt.ignore != nil {
				src.ignore = tt.ignore(t, src.ignore)
			}
			s := parseStack(t, src)
			if tt.model != nil {
				tt.model(s)
			}
			problems := c.fn(s)
			if !slices.ContainsFunc(problems, func(p string) bool { return strings.Contains(p, tt.want) }) {
				t.Errorf("check %q: want a problem containing %q, got %q", tt.check, tt.want, problems)
			}
		})
	}
}

// TestSchemaSetupCatchesItsPlugin: the schema check reads the script the
// service mounts, so each break is made in a copy of the repository's
// script: the lib/pq plugin, or a database left out, is caught.
func TestSchemaSetupCatchesItsPlugin(t *testing.T) {
	s := parseStack(t, readSources(t))
	sv := s.compose.Services["temporal-schema-setup"]
	if sv == nil {
		t.Fatal("no service temporal-schema-setup")
	}
	script, err := scriptOf(s, sv)
	if err != nil {
		t.Fatal(err)
	}
	if problems := checkSchemaSetup(s); len(problems) != 0 {
		t.Fatalf("the repository's script: %v", problems)
	}
	source, err := scriptSource(sv)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ name, old, new, want string }{
		{"lib/pq", "--plugin postgres12_pgx ", "--plugin postgres12 ", "--plugin postgres12_pgx"},
		{"visibility left out", "--db temporal_visibility update-schema", "--db temporal update-schema", "--db temporal_visibility update-schema"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if !strings.Contains(script, tc.old) {
				t.Fatalf("mutation cannot apply: %q not found", tc.old)
			}
			broken := *s
			broken.root = t.TempDir()
			path := filepath.Join(broken.root, source)
			if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(path, []byte(strings.ReplaceAll(script, tc.old, tc.new)), 0o644); err != nil {
				t.Fatal(err)
			}
			problems := strings.Join(checkSchemaSetup(&broken), "\n")
			if !strings.Contains(problems, tc.want) {
				t.Fatalf("want a problem naming %q, got %q", tc.want, problems)
			}
		})
	}
}

func TestTemporalServerTag(t *testing.T) {
	for _, tt := range []struct {
		tag string
		ok  bool
	}{
		{"1.29.5", false},
		{"1.29.6", false}, // free of the CVEs, but older than the tested v1.30.4
		{"1.29.10", false},
		{"1.28.4", false},
		{"1.30.0", false},
		{"1.30.3", false},
		{"1.30.4", true},
		{"1.30.5", true},
		{"1.31.0", false},
		{"1.31.1", false},
		{"1.31.2", true},
		{"1.32.0", true},
		{"2.0.0", true},
		{"1.29.6-rc.1", false},
		{"1.30", false},
		{"latest", false},
		{"", false},
	} {
		t.Run(tt.tag, func(t *testing.T) {
			err := checkTemporalServerTag(tt.tag)
			if (err == nil) != tt.ok {
				t.Errorf("checkTemporalServerTag(%q) = %v, want ok=%v", tt.tag, err, tt.ok)
			}
		})
	}
}

func TestParseShortPort(t *testing.T) {
	for _, tt := range []struct {
		in   string
		want portSpec
	}{
		{"8080", portSpec{Target: "8080"}},
		{"8080:80", portSpec{Published: "8080", Target: "80"}},
		{"127.0.0.1:7233:7233", portSpec{HostIP: "127.0.0.1", Published: "7233", Target: "7233"}},
		{"${IP:-127.0.0.1}:8233:8080", portSpec{HostIP: "${IP:-127.0.0.1}", Published: "8233", Target: "8080"}},
		{"9090:9090/tcp", portSpec{Published: "9090", Target: "9090", Protocol: "tcp"}},
	} {
		if got := parseShortPort(tt.in); got != tt.want {
			t.Errorf("parseShortPort(%q) = %+v, want %+v", tt.in, got, tt.want)
		}
	}
}

// TestMergeKeys verifies that yaml.v3 resolves `<<: *anchor` when decoding into maps,
// which the environment checks rely on, and that the compose file uses the anchor.
func TestMergeKeys(t *testing.T) {
	t.Run("yaml.v3 resolves merge keys", func(t *testing.T) {
		doc := "base: &base\n  A: one\n  B: two\nuse:\n  <<: *base\n  B: three\n"
		var m map[string]map[string]string
		if err := yaml.Unmarshal([]byte(doc), &m); err != nil {
			t.Fatal(err)
		}
		want := map[string]string{"A": "one", "B": "three"}
		if got := m["use"]; len(got) != 2 || got["A"] != want["A"] || got["B"] != want["B"] {
			t.Fatalf("merged = %v, want %v", got, want)
		}
	})
	t.Run("compose environments are merged from x-xuncha-env", func(t *testing.T) {
		raw := readFile(t, composePath)
		if !strings.Contains(raw, "x-xuncha-env: &xuncha-env") {
			t.Fatal("docker-compose.yml does not define the x-xuncha-env anchor")
		}
		var doc struct {
			Anchor   map[string]any `yaml:"x-xuncha-env"`
			Services map[string]struct {
				Environment map[string]any `yaml:"environment"`
			} `yaml:"services"`
		}
		if err := yaml.Unmarshal([]byte(raw), &doc); err != nil {
			t.Fatal(err)
		}
		if len(doc.Anchor) == 0 {
			t.Fatal("x-xuncha-env is empty")
		}
		for name := range xunchaCommands {
			env := doc.Services[name].Environment
			if _, ok := env["<<"]; ok {
				t.Errorf("%s: merge key left unresolved", name)
			}
			for k, v := range doc.Anchor {
				if got, ok := env[k]; !ok || fmt.Sprint(got) != fmt.Sprint(v) {
					t.Errorf("%s: %s = %v, want %v from x-xuncha-env", name, k, got, v)
				}
			}
		}
	})
}
