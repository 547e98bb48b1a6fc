package reconciler_test

import (
	"context"
	"net/http"
	"os/exec"
	"strings"
	"testing"
	"time"

	"k8s.io/client-go/transport"

	"github.com/trueup-dev/trueup/reconciler"
)

// limitedUser may do anything in its target's namespace and with
// ConfigMaps in the inventory namespace, but list nothing cluster-wide.
const limitedUser = "trueup-limited"

// impersonate makes the cluster client act as user.
func impersonate(user string) func(http.RoundTripper) http.RoundTripper {
	return func(rt http.RoundTripper) http.RoundTripper {
		return transport.NewImpersonatingRoundTripper(transport.ImpersonationConfig{UserName: user}, rt)
	}
}

// run runs the daemon loop until the test ends.
func (s *scenario) run(t *testing.T) {
	t.Helper()
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = s.rec.Run(ctx, reconciler.DefaultRunOptions())
	}()
	t.Cleanup(func() { cancel(); <-done })
}

// grantNamespaced gives user every verb in the scenario's namespace and on
// ConfigMaps in trueup-system (the inventories), as the admin.
func (s *scenario) grantNamespaced(user string) {
	s.t.Helper()
	rbac := `apiVersion: v1
kind: Namespace
metadata: {name: trueup-system}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata: {name: NAME, namespace: NS}
rules: [{apiGroups: ["*"], resources: ["*"], verbs: ["*"]}]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: NAME, namespace: NS}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: Role, name: NAME}
subjects: [{apiGroup: rbac.authorization.k8s.io, kind: User, name: USER}]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata: {name: NAME, namespace: trueup-system}
rules: [{apiGroups: [""], resources: [configmaps], verbs: ["*"]}]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: NAME, namespace: trueup-system}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: Role, name: NAME}
subjects: [{apiGroup: rbac.authorization.k8s.io, kind: User, name: USER}]
`
	rbac = strings.NewReplacer("NAME", "limited-"+s.ns, "NS", s.ns, "USER", user).Replace(rbac)
	cmd := exec.CommandContext(s.t.Context(), "kubectl", "--kubeconfig", s.env.Kubeconfig, "apply", "-f", "-")
	cmd.Stdin = strings.NewReader(rbac)
	if out, err := cmd.CombinedOutput(); err != nil {
		s.t.Fatalf("kubectl apply rbac: %v\n%s", err, out)
	}
}

// A daemon that may not list a kind cluster-wide used to wait for that
// kind's watch cache forever after the first reconcile, so the target never
// reconciled again. The wait is bounded by the target's timeout, the
// outcome and the log say which resource is forbidden and what to grant,
// and the kind is read from the API server instead.
func TestForbiddenClusterWideListDoesNotHangTheTarget(t *testing.T) {
	outcomes := make(chan *reconciler.Outcome, 16)
	s := newScenarioFull(t, "remediation: {drift: heal}", "", impersonate(limitedUser),
		reconciler.WithObserver(func(o *reconciler.Outcome) { outcomes <- o }))
	s.grantNamespaced(limitedUser)
	s.commit(map[string]string{"cm.yaml": configMap("settings", "a")}, "first")
	s.run(t)

	next := func(what string) *reconciler.Outcome {
		t.Helper()
		select {
		case o := <-outcomes:
			return o
		case <-time.After(3 * time.Minute): // the target's timeout is 30s
			t.Fatalf("no %s reconcile: the target hangs\n%s", what, s.logs.String())
			return nil
		}
	}
	mustAction(t, next("first"), reconciler.ActionApplied)

	// Drift while the daemon tries to watch ConfigMaps, then a push.
	s.kubectl("patch", "configmap", "settings", "-p", `{"data":{"mode":"edited"}}`)
	s.rec.TriggerPush([]string{s.repo.URL()}, "refs/heads/main")
	out := next("second")
	mustAction(t, out, reconciler.ActionHealed)
	if got := s.kubectl("get", "configmap", "settings", "-o", "jsonpath={.data.mode}"); got != "a" {
		t.Errorf("data.mode %q after the heal, want a", got)
	}
	warnings := strings.Join(out.Warnings, "\n")
	for _, want := range []string{`configmaps`, `forbidden`, `list and watch`, `ClusterRole`} {
		if !strings.Contains(warnings, want) {
			t.Errorf("outcome warnings do not say %q:\n%s", want, warnings)
		}
	}
	if !strings.Contains(s.logs.String(), `"msg":"kind not watched; reading it from the API server"`) {
		t.Errorf("no warning logged:\n%s", s.logs.String())
	}
}
