package deploy_test

// These tests check deploy/k8s on paper, as compose_test.go checks the compose
// stack: no cluster runs here. kustomize (its Go API, the same code as
// `kubectl apply -k`) builds the manifests; each is decoded strictly into its
// Kubernetes API type (an unknown or misspelt field fails); then every check
// compares them with the xuncha binary itself, built by the test: the
// commands the containers run, the environment variables each command reads
// (every flag's help names its variable, "[XUNCHA_HTTP_ADDR]"), its ports and
// its health routes. TestK8sChecksCatchBreakage breaks the manifests in memory,
// one way per row, so that no check passes vacuously.

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"sigs.k8s.io/kustomize/api/krusty"
	"sigs.k8s.io/kustomize/kyaml/filesys"
	"sigs.k8s.io/yaml"
)

// k8sObjects are the built manifests, by kind.
type k8sObjects struct {
	namespaces   []corev1.Namespace
	accounts     []corev1.ServiceAccount
	configMaps   []corev1.ConfigMap
	claims       []corev1.PersistentVolumeClaim
	services     []corev1.Service
	deployments  []appsv1.Deployment
	jobs         []batchv1.Job
	budgets      []policyv1.PodDisruptionBudget
	autoscalers  []autoscalingv2.HorizontalPodAutoscaler
	netPolicies  []networkingv1.NetworkPolicy
	binaryEnv    map[string]map[string]string // command → variable → its flag's default ("" when none)
	decodeErrors []string
}

// built is kustomize's output, once per test binary: each buildK8s decodes
// it afresh, so a test may break its copy.
var (
	builtOnce sync.Once
	built     []builtManifest
	builtErr  error
)

type builtManifest struct {
	kind, name string
	raw        []byte
}

// buildK8s runs kustomize on deploy/k8s (once) and decodes every manifest
// strictly.
func buildK8s(t *testing.T) *k8sObjects {
	t.Helper()
	builtOnce.Do(func() {
		resources, err := krusty.MakeKustomizer(krusty.MakeDefaultOptions()).Run(filesys.MakeFsOnDisk(), "k8s")
		if err != nil {
			builtErr = fmt.Errorf("kustomize build deploy/k8s: %w", err)
			return
		}
		for _, r := range resources.Resources() {
			y, err := r.AsYAML()
			if err == nil {
				var raw []byte
				if raw, err = yaml.YAMLToJSON(y); err == nil {
					built = append(built, builtManifest{r.GetKind(), r.GetName(), raw})
					continue
				}
			}
			builtErr = fmt.Errorf("%s/%s: %w", r.GetKind(), r.GetName(), err)
			return
		}
	})
	if builtErr != nil {
		t.Fatal(builtErr)
	}
	objs := &k8sObjects{binaryEnv: binaryEnv(t)}
	for _, m := range built {
		objs.add(m.kind, m.name, m.raw)
	}
	return objs
}

// add decodes one manifest into its type, refusing unknown fields.
func (o *k8sObjects) add(kind, name string, raw []byte) {
	strict := func(into any) {
		dec := json.NewDecoder(bytes.NewReader(raw))
		dec.DisallowUnknownFields()
		if err := dec.Decode(into); err != nil {
			o.decodeErrors = append(o.decodeErrors, fmt.Sprintf("%s %s: %v", kind, name, err))
		}
	}
	switch kind {
	case "Namespace":
		var v corev1.Namespace
		strict(&v)
		o.namespaces = append(o.namespaces, v)
	case "ServiceAccount":
		var v corev1.ServiceAccount
		strict(&v)
		o.accounts = append(o.accounts, v)
	case "ConfigMap":
		var v corev1.ConfigMap
		strict(&v)
		o.configMaps = append(o.configMaps, v)
	case "PersistentVolumeClaim":
		var v corev1.PersistentVolumeClaim
		strict(&v)
		o.claims = append(o.claims, v)
	case "Service":
		var v corev1.Service
		strict(&v)
		o.services = append(o.services, v)
	case "Deployment":
		var v appsv1.Deployment
		strict(&v)
		o.deployments = append(o.deployments, v)
	case "Job":
		var v batchv1.Job
		strict(&v)
		o.jobs = append(o.jobs, v)
	case "PodDisruptionBudget":
		var v policyv1.PodDisruptionBudget
		strict(&v)
		o.budgets = append(o.budgets, v)
	case "HorizontalPodAutoscaler":
		var v autoscalingv2.HorizontalPodAutoscaler
		strict(&v)
		o.autoscalers = append(o.autoscalers, v)
	case "NetworkPolicy":
		var v networkingv1.NetworkPolicy
		strict(&v)
		o.netPolicies = append(o.netPolicies, v)
	default:
		o.decodeErrors = append(o.decodeErrors, fmt.Sprintf("%s %s: a kind the test does not know; teach it", kind, name))
	}
}

// workload is a pod template with the command its xuncha container runs.
type workload struct {
	name string
	pod  corev1.PodTemplateSpec
}

func (o *k8sObjects) workloads() []workload {
	var out []workload
	for _, d := range o.deployments {
		out = append(out, workload{"Deployment " + d.Name, d.Spec.Template})
	}
	for _, j := range o.jobs {
		out = append(out, workload{"Job " + j.Name, j.Spec.Template})
	}
	return out
}

// command is the xuncha command a container runs ("server", "temporal setup").
func command(c corev1.Container) string { return strings.Join(c.Args, " ") }

// env is what a container's environment sets: name → literal value (""
// for a reference), with the ConfigMaps of envFrom.
func (o *k8sObjects) env(c corev1.Container) map[string]string {
	out := map[string]string{}
	for _, from := range c.EnvFrom {
		if from.ConfigMapRef == nil {
			continue
		}
		for _, cm := range o.configMaps {
			if cm.Name == from.ConfigMapRef.Name {
				for k, v := range cm.Data {
					out[k] = v
				}
			}
		}
	}
	for _, e := range c.Env {
		out[e.Name] = e.Value
	}
	return out
}

var (
	binaryOnce  sync.Once
	binaryFlags map[string]map[string]string // read-only once built
	binaryErr   error
	// flagEnv matches a flag's help line: the flag, then its variable.
	flagEnv    = regexp.MustCompile(`--([a-z0-9-]+)\s.*\[([A-Z][A-Z0-9_]*)\](?: \(default "?([^")]*)"?\))?`)
	k8sCommand = []string{"server", "worker", "migrate", "temporal setup"}
)

// binaryEnv builds cmd/xuncha and reads, for each command the manifests run,
// the variables its flags read and their defaults.
func binaryEnv(t *testing.T) map[string]map[string]string {
	t.Helper()
	binaryOnce.Do(func() {
		dir, err := os.MkdirTemp("", "xuncha-k8s-test")
		if err != nil {
			binaryErr = err
			return
		}
		defer os.RemoveAll(dir)
		bin := filepath.Join(dir, "xuncha")
		if out, err := exec.Command("go", "build", "-o", bin, "../cmd/xuncha").CombinedOutput(); err != nil {
			binaryErr = fmt.Errorf("go build ../cmd/xuncha: %v\n%s", err, out)
			return
		}
		binaryFlags = map[string]map[string]string{}
		for _, cmd := range k8sCommand {
			out, err := exec.Command(bin, append(strings.Fields(cmd), "--help")...).CombinedOutput()
			if err != nil {
				binaryErr = fmt.Errorf("xuncha %s --help: %v\n%s", cmd, err, out)
				return
			}
			binaryFlags[cmd] = map[string]string{}
			for _, m := range flagEnv.FindAllStringSubmatch(string(out), -1) {
				binaryFlags[cmd][m[2]] = m[3]
			}
			if len(binaryFlags[cmd]) == 0 {
				binaryErr = fmt.Errorf("xuncha %s --help names no variables:\n%s", cmd, out)
				return
			}
		}
	})
	if binaryErr != nil {
		t.Fatal(binaryErr)
	}
	return binaryFlags
}

// secretName tells whether a variable must come from a Secret, never a literal.
func secretName(name string) bool {
	return strings.HasSuffix(name, "DATABASE_URL") || strings.HasSuffix(name, "_KEY") || strings.HasSuffix(name, "_KEYS") ||
		strings.HasSuffix(name, "_SECRET") || strings.HasSuffix(name, "_PASSWORD")
}

// k8sCheck is a check of the built manifests.
type k8sCheck struct {
	name string
	fn   func(o *k8sObjects) []string
}

var k8sChecks = []k8sCheck{
	{"strict decode", func(o *k8sObjects) []string { return o.decodeErrors }},
	{"commands", checkK8sCommands},
	{"environment", checkK8sEnvironment},
	{"secrets", checkK8sSecrets},
	{"ports and probes", checkK8sProbes},
	{"resources and security", checkK8sResources},
	{"selectors", checkK8sSelectors},
	{"network policies", checkK8sNetworkPolicies},
	{"evidence volume", checkK8sEvidence},
}

func TestK8sManifests(t *testing.T) {
	o := buildK8s(t)
	if len(o.deployments) != 2 || len(o.jobs) != 2 {
		t.Fatalf("want the server and worker Deployments and the migrate and temporal setup Jobs, got %d and %d", len(o.deployments), len(o.jobs))
	}
	for _, c := range k8sChecks {
		for _, p := range c.fn(o) {
			t.Errorf("%s: %s", c.name, p)
		}
	}
}

// checkK8sCommands: each workload runs one xuncha command with the image.
func checkK8sCommands(o *k8sObjects) []string {
	var p []string
	want := map[string]string{"Deployment xuncha-server": "server", "Deployment xuncha-worker": "worker",
		"Job xuncha-migrate": "migrate", "Job xuncha-temporal-setup": "temporal setup"}
	for _, w := range o.workloads() {
		if len(w.pod.Spec.Containers) != 1 {
			p = append(p, fmt.Sprintf("%s: want one container, got %d", w.name, len(w.pod.Spec.Containers)))
			continue
		}
		c := w.pod.Spec.Containers[0]
		if got := command(c); got != want[w.name] {
			p = append(p, fmt.Sprintf("%s runs %q, want %q", w.name, got, want[w.name]))
		}
		if !strings.HasPrefix(c.Image, "xuncha") || len(c.Command) != 0 {
			p = append(p, fmt.Sprintf("%s: the image's entrypoint /xuncha runs (image xuncha, no command), got image %q command %v", w.name, c.Image, c.Command))
		}
	}
	return p
}

// required are the variables each command needs (it refuses to start
// without them).
var required = map[string][]string{
	"server":         {"DATABASE_URL", "XUNCHA_OIDC_ISSUER", "XUNCHA_TIP_KEY", "XUNCHA_PAYLOAD_KEYS"},
	"worker":         {"DATABASE_URL", "XUNCHA_TIP_KEY", "XUNCHA_PAYLOAD_KEYS"},
	"migrate":        {"MIGRATE_DATABASE_URL", "DATABASE_URL", "XUNCHA_TIP_KEY"},
	"temporal setup": {"TEMPORAL_ADDRESS"},
}

// checkK8sEnvironment: every variable set is one the command reads, and the
// ones it needs are set.
func checkK8sEnvironment(o *k8sObjects) []string {
	var p []string
	for _, w := range o.workloads() {
		for _, c := range w.pod.Spec.Containers {
			cmd := command(c)
			known, ok := o.binaryEnv[cmd]
			if !ok {
				continue // checkK8sCommands says so
			}
			env := o.env(c)
			for name := range env {
				if _, ok := known[name]; !ok {
					p = append(p, fmt.Sprintf("%s sets %s, which `xuncha %s` does not read", w.name, name, cmd))
				}
			}
			for _, name := range required[cmd] {
				if _, ok := env[name]; !ok {
					p = append(p, fmt.Sprintf("%s does not set %s, which `xuncha %s` needs", w.name, name, cmd))
				}
			}
		}
	}
	return p
}

// checkK8sSecrets: secrets come from the Secret by reference; no literal.
func checkK8sSecrets(o *k8sObjects) []string {
	var p []string
	for _, cm := range o.configMaps {
		for k := range cm.Data {
			if secretName(k) {
				p = append(p, fmt.Sprintf("ConfigMap %s holds %s: secrets belong in the Secret xuncha-secrets", cm.Name, k))
			}
		}
	}
	for _, w := range o.workloads() {
		for _, c := range w.pod.Spec.Containers {
			for _, e := range c.Env {
				if secretName(e.Name) && (e.ValueFrom == nil || e.ValueFrom.SecretKeyRef == nil) {
					p = append(p, fmt.Sprintf("%s sets %s without a secretKeyRef", w.name, e.Name))
				}
			}
		}
	}
	return p
}

// port is the port of a listen address (":8080"), or of the command's
// default for the variable.
func (o *k8sObjects) port(cmd string, env map[string]string, variable string) string {
	addr, ok := env[variable]
	if !ok {
		addr = o.binaryEnv[cmd][variable]
	}
	_, port, err := net.SplitHostPort(addr)
	if err != nil {
		return "?" + addr
	}
	return port
}

// namedPort is the container port of a named port, "" when none.
func namedPort(c corev1.Container, name string) string {
	for _, cp := range c.Ports {
		if cp.Name == name {
			return fmt.Sprint(cp.ContainerPort)
		}
	}
	return ""
}

// checkK8sProbes: the container ports are those the binary listens on, and
// the probes ask the binary's health routes there: the server's on its REST
// port, the worker's on its admin port.
func checkK8sProbes(o *k8sObjects) []string {
	var p []string
	probe := func(who string, c corev1.Container, pr *corev1.Probe, what, path, portName string) {
		switch {
		case pr == nil || pr.HTTPGet == nil:
			p = append(p, fmt.Sprintf("%s has no HTTP %s probe", who, what))
		case pr.HTTPGet.Path != path || pr.HTTPGet.Port.String() != portName:
			p = append(p, fmt.Sprintf("%s: %s probe asks %s on %s, want %s on %s", who, what, pr.HTTPGet.Path, pr.HTTPGet.Port.String(), path, portName))
		}
	}
	for _, d := range o.deployments {
		c := d.Spec.Template.Spec.Containers[0]
		cmd, env, who := command(c), o.env(c), "Deployment "+d.Name
		listens := map[string]string{"admin": "XUNCHA_ADMIN_ADDR"}
		health := "admin"
		if cmd == "server" {
			listens["http"], listens["grpc"] = "XUNCHA_HTTP_ADDR", "XUNCHA_GRPC_ADDR"
			health = "http"
		}
		for name, variable := range listens {
			if got, want := namedPort(c, name), o.port(cmd, env, variable); got != want {
				p = append(p, fmt.Sprintf("%s: container port %q is %q, but xuncha %s listens on %s (%s)", who, name, got, cmd, want, variable))
			}
		}
		probe(who, c, c.ReadinessProbe, "readiness", "/readyz", health)
		probe(who, c, c.LivenessProbe, "liveness", "/healthz", health)
	}
	for _, s := range o.services {
		for _, sp := range s.Spec.Ports {
			found := false
			for _, d := range o.deployments {
				if labels.SelectorFromSet(s.Spec.Selector).Matches(labels.Set(d.Spec.Template.Labels)) &&
					namedPort(d.Spec.Template.Spec.Containers[0], sp.TargetPort.String()) != "" {
					found = true
				}
			}
			if !found {
				p = append(p, fmt.Sprintf("Service %s port %s targets %s, which no selected pod names", s.Name, sp.Name, sp.TargetPort.String()))
			}
		}
	}
	return p
}

// checkK8sResources: requests and limits on every container, no root, no
// privilege escalation, a read-only root file system, no capabilities.
func checkK8sResources(o *k8sObjects) []string {
	var p []string
	for _, w := range o.workloads() {
		ps := w.pod.Spec.SecurityContext
		if ps == nil || ps.RunAsNonRoot == nil || !*ps.RunAsNonRoot {
			p = append(p, w.name+": the pod must set runAsNonRoot")
		}
		if w.pod.Spec.AutomountServiceAccountToken == nil || *w.pod.Spec.AutomountServiceAccountToken {
			p = append(p, w.name+": xuncha calls no Kubernetes API; mount no service account token")
		}
		for _, c := range w.pod.Spec.Containers {
			for _, r := range []corev1.ResourceName{corev1.ResourceCPU, corev1.ResourceMemory} {
				if _, ok := c.Resources.Requests[r]; !ok {
					p = append(p, fmt.Sprintf("%s: no %s request", w.name, r))
				}
				if _, ok := c.Resources.Limits[r]; !ok {
					p = append(p, fmt.Sprintf("%s: no %s limit", w.name, r))
				}
			}
			sc := c.SecurityContext
			if sc == nil || sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation ||
				sc.ReadOnlyRootFilesystem == nil || !*sc.ReadOnlyRootFilesystem ||
				sc.Capabilities == nil || !slices.Contains(sc.Capabilities.Drop, "ALL") {
				p = append(p, w.name+": the container must forbid privilege escalation, mount its root read-only and drop ALL capabilities")
			}
		}
	}
	return p
}

// checkK8sSelectors: each Deployment selects its own pods; each budget and
// autoscaler names a Deployment that exists, one budget and one autoscaler
// a Deployment.
func checkK8sSelectors(o *k8sObjects) []string {
	var p []string
	matches := func(sel *metav1.LabelSelector, set map[string]string) bool {
		s, err := metav1.LabelSelectorAsSelector(sel)
		return err == nil && !s.Empty() && s.Matches(labels.Set(set))
	}
	for _, d := range o.deployments {
		if !matches(d.Spec.Selector, d.Spec.Template.Labels) {
			p = append(p, "Deployment "+d.Name+" does not select its own pods")
		}
		budgets, scalers := 0, 0
		for _, b := range o.budgets {
			if matches(b.Spec.Selector, d.Spec.Template.Labels) {
				budgets++
			}
		}
		for _, h := range o.autoscalers {
			if h.Spec.ScaleTargetRef.Kind == "Deployment" && h.Spec.ScaleTargetRef.Name == d.Name {
				scalers++
				if h.Spec.MinReplicas == nil || *h.Spec.MinReplicas < 2 {
					p = append(p, "HorizontalPodAutoscaler "+h.Name+" may scale below 2 replicas")
				}
			}
		}
		if budgets != 1 || scalers != 1 {
			p = append(p, fmt.Sprintf("Deployment %s has %d PodDisruptionBudgets and %d HorizontalPodAutoscalers, want one each", d.Name, budgets, scalers))
		}
	}
	for _, h := range o.autoscalers {
		if !slices.ContainsFunc(o.deployments, func(d appsv1.Deployment) bool { return d.Name == h.Spec.ScaleTargetRef.Name }) {
			p = append(p, "HorizontalPodAutoscaler "+h.Name+" scales "+h.Spec.ScaleTargetRef.Name+", which is not here")
		}
	}
	return p
}

// checkK8sNetworkPolicies: everything is denied unless allowed, every pod
// may reach DNS, PostgreSQL and Temporal, and the server's API ports are
// open.
func checkK8sNetworkPolicies(o *k8sObjects) []string {
	var p []string
	denyAll := slices.ContainsFunc(o.netPolicies, func(n networkingv1.NetworkPolicy) bool {
		return len(n.Spec.PodSelector.MatchLabels) == 0 && len(n.Spec.PodSelector.MatchExpressions) == 0 &&
			len(n.Spec.Ingress) == 0 && len(n.Spec.Egress) == 0 && len(n.Spec.PolicyTypes) == 2
	})
	if !denyAll {
		p = append(p, "no default-deny policy (empty pod selector, Ingress and Egress, no rules)")
	}
	allows := func(pod map[string]string, egress bool, port int32) bool {
		for _, n := range o.netPolicies {
			sel, err := metav1.LabelSelectorAsSelector(&n.Spec.PodSelector)
			if err != nil || sel.Empty() || !sel.Matches(labels.Set(pod)) {
				continue
			}
			var rules [][]networkingv1.NetworkPolicyPort
			if egress {
				for _, r := range n.Spec.Egress {
					rules = append(rules, r.Ports)
				}
			} else {
				for _, r := range n.Spec.Ingress {
					rules = append(rules, r.Ports)
				}
			}
			for _, ports := range rules {
				for _, pp := range ports {
					if pp.Port != nil && pp.Port.IntVal == port {
						return true
					}
				}
			}
		}
		return false
	}
	for _, w := range o.workloads() {
		for _, port := range []int32{53, 5432, 7233} {
			if !allows(w.pod.Labels, true, port) {
				p = append(p, fmt.Sprintf("%s may not reach port %d", w.name, port))
			}
		}
	}
	for _, d := range o.deployments {
		c := d.Spec.Template.Spec.Containers[0]
		if command(c) != "server" {
			continue
		}
		for _, cp := range c.Ports {
			if cp.Name != "admin" && !allows(d.Spec.Template.Labels, false, cp.ContainerPort) {
				p = append(p, fmt.Sprintf("Deployment %s: no policy lets clients reach port %s (%d)", d.Name, cp.Name, cp.ContainerPort))
			}
		}
	}
	return p
}

// checkK8sEvidence: the server mounts a claim that exists, where
// XUNCHA_EVIDENCE_DIR says, shared by every replica (ReadWriteMany).
func checkK8sEvidence(o *k8sObjects) []string {
	var p []string
	for _, d := range o.deployments {
		c := d.Spec.Template.Spec.Containers[0]
		if command(c) != "server" {
			continue
		}
		dir := o.env(c)["XUNCHA_EVIDENCE_DIR"]
		if dir == "" {
			dir = o.binaryEnv["server"]["XUNCHA_EVIDENCE_DIR"]
		}
		var volume string
		for _, m := range c.VolumeMounts {
			if m.MountPath == dir {
				volume = m.Name
			}
		}
		var claim string
		for _, v := range d.Spec.Template.Spec.Volumes {
			if v.Name == volume && v.PersistentVolumeClaim != nil {
				claim = v.PersistentVolumeClaim.ClaimName
			}
		}
		ok := slices.ContainsFunc(o.claims, func(pvc corev1.PersistentVolumeClaim) bool {
			return pvc.Name == claim && slices.Contains(pvc.Spec.AccessModes, corev1.ReadWriteMany)
		})
		if !ok {
			p = append(p, fmt.Sprintf("Deployment %s: %s is not a ReadWriteMany claim of this stack", d.Name, dir))
		}
	}
	return p
}

// TestK8sChecksCatchBreakage: each row breaks the built manifests in one
// way and wants the named check to complain.
func TestK8sChecksCatchBreakage(t *testing.T) {
	server := func(o *k8sObjects) *corev1.Container {
		return &o.deployments[slices.IndexFunc(o.deployments, isServer)].Spec.Template.Spec.Containers[0]
	}
	worker := func(o *k8sObjects) *corev1.Container {
		return &o.deployments[1-slices.IndexFunc(o.deployments, isServer)].Spec.Template.Spec.Containers[0]
	}
	for _, tc := range []struct {
		name, check string
		breakIt     func(o *k8sObjects)
	}{
		{"an unknown field", "strict decode", func(o *k8sObjects) {
			o.add("Deployment", "typo", []byte(`{"apiVersion":"apps/v1","kind":"Deployment","spec":{"replica":2}}`))
		}},
		{"a variable no command reads", "environment", func(o *k8sObjects) {
			c := worker(o)
			c.Env = append(c.Env, corev1.EnvVar{Name: "XUNCHA_HTTP_ADR", Value: ":8080"})
		}},
		{"the server without its issuer", "environment", func(o *k8sObjects) {
			c := server(o)
			c.Env = slices.DeleteFunc(c.Env, func(e corev1.EnvVar) bool { return e.Name == "XUNCHA_OIDC_ISSUER" })
		}},
		{"a key as a literal", "secrets", func(o *k8sObjects) {
			c := server(o)
			for i := range c.Env {
				if c.Env[i].Name == "XUNCHA_TIP_KEY" {
					c.Env[i] = corev1.EnvVar{Name: "XUNCHA_TIP_KEY", Value: "c2VjcmV0"}
				}
			}
		}},
		{"the REST port moved in the container only", "ports and probes", func(o *k8sObjects) {
			c := server(o)
			for i := range c.Ports {
				if c.Ports[i].Name == "http" {
					c.Ports[i].ContainerPort = 8081
				}
			}
		}},
		{"no readiness probe", "ports and probes", func(o *k8sObjects) { worker(o).ReadinessProbe = nil }},
		{"no memory limit", "resources and security", func(o *k8sObjects) { delete(server(o).Resources.Limits, corev1.ResourceMemory) }},
		{"a budget that selects nothing", "selectors", func(o *k8sObjects) {
			o.budgets[0].Spec.Selector.MatchLabels = map[string]string{"app.kubernetes.io/name": "xuncha-srever"}
		}},
		{"no default deny", "network policies", func(o *k8sObjects) {
			o.netPolicies = slices.DeleteFunc(o.netPolicies, func(n networkingv1.NetworkPolicy) bool { return n.Name == "default-deny" })
		}},
		{"evidence on the root file system", "evidence volume", func(o *k8sObjects) { server(o).VolumeMounts = nil }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o := buildK8s(t)
			tc.breakIt(o)
			for _, c := range k8sChecks {
				if c.name == tc.check {
					if len(c.fn(o)) == 0 {
						t.Errorf("check %q did not complain", tc.check)
					}
					return
				}
			}
			t.Fatalf("no check %q", tc.check)
		})
	}
}

func isServer(d appsv1.Deployment) bool {
	return command(d.Spec.Template.Spec.Containers[0]) == "server"
}
