package reconciler_test

import (
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/trueup-dev/trueup/reconciler"
)

// listOnlyUser may do anything in its target's namespace and list (not
// watch) ConfigMaps cluster-wide.
const listOnlyUser = "trueup-list-only"

// A kind that trueup may list but not watch cluster-wide used to fall back
// silently: its cache filled, its watch failed and was retried forever with
// nothing logged. The first refusal is logged once for the kind, with the
// verb and resource to grant; the retries are not. A live edit is still
// seen, late, as the warning says.
func TestWatchRefusedIsLoggedOncePerKind(t *testing.T) {
	outcomes := make(chan *reconciler.Outcome, 16)
	s := newScenarioFull(t, "remediation: {drift: heal}", "", impersonate(listOnlyUser),
		reconciler.WithObserver(func(o *reconciler.Outcome) { outcomes <- o }))
	s.grantNamespaced(listOnlyUser)
	clusterList := `apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: trueup-list-only-configmaps}
rules: [{apiGroups: [""], resources: [configmaps], verbs: [get, list]}]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {name: trueup-list-only-configmaps}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: trueup-list-only-configmaps}
subjects: [{apiGroup: rbac.authorization.k8s.io, kind: User, name: USER}]
`
	cmd := exec.CommandContext(t.Context(), "kubectl", "--kubeconfig", s.env.Kubeconfig, "apply", "-f", "-")
	cmd.Stdin = strings.NewReader(strings.ReplaceAll(clusterList, "USER", listOnlyUser))
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("kubectl apply rbac: %v\n%s", err, out)
	}
	s.commit(map[string]string{"cm.yaml": configMap("settings", "a")}, "first")
	s.run(t)
	select {
	case o := <-outcomes:
		mustAction(t, o, reconciler.ActionApplied)
		if len(o.Warnings) > 0 {
			t.Errorf("warnings of the first reconcile: %q, want none (ConfigMaps may be listed: their cache fills)", o.Warnings)
		}
	case <-time.After(3 * time.Minute):
		t.Fatalf("no first reconcile\n%s", s.logs.String())
	}

	const msg = `"msg":"kind listed but not watched`
	deadline := time.Now().Add(time.Minute)
	for !strings.Contains(s.logs.String(), msg) {
		if time.Now().After(deadline) {
			t.Fatalf("no warning that ConfigMaps are not watched:\n%s", s.logs.String())
		}
		time.Sleep(100 * time.Millisecond)
	}
	// The watch is retried with backoff from 800ms: within 8s, three
	// more refusals at least, none logged again.
	time.Sleep(8 * time.Second)
	var warned []string
	for _, line := range strings.Split(s.logs.String(), "\n") {
		if strings.Contains(line, msg) {
			warned = append(warned, line)
		}
	}
	if len(warned) != 1 {
		t.Fatalf("%d warnings, want 1:\n%s", len(warned), strings.Join(warned, "\n"))
	}
	for _, want := range []string{`"kind":"/v1, Kind=ConfigMap"`, `the verb watch`, `resource \"configmaps\"`, `ClusterRoleBinding`, `forbidden`} {
		if !strings.Contains(warned[0], want) {
			t.Errorf("the warning does not say %s:\n%s", want, warned[0])
		}
	}
	if n := strings.Count(s.logs.String(), `"msg":"watch failed; retried"`); n < 2 {
		t.Errorf("%d refusals logged at debug level, want the retries (at least 2)", n)
	}

	// What the warning says: a live edit is still seen, late, by the
	// relist of a retry (the target's interval is 5m).
	s.kubectl("patch", "configmap", "settings", "-p", `{"data":{"mode":"edited"}}`)
	edited := time.Now()
	timeout := time.After(2 * time.Minute)
	for {
		select {
		case o := <-outcomes: // the in-sync comparisons queued before the edit aside
			if o.Err != nil {
				t.Fatalf("reconcile failed: %v", o.Err)
			}
			if o.Action == reconciler.ActionHealed {
				t.Logf("healed %s after the edit (trigger %s)", time.Since(edited).Round(time.Second), o.Trigger)
				return
			}
		case <-timeout:
			t.Fatalf("the edit was not seen within 2m\n%s", s.logs.String())
		}
	}
}
