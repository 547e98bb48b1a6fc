package policy

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apiserver/pkg/authentication/user"
	"k8s.io/apiserver/pkg/authorization/authorizer"

	"github.com/trueup-dev/trueup/drift"
)

// evalCase evaluates one policy (spec under policyDoc) on obj and old.
type evalCase struct {
	name     string
	spec     string
	obj, old string
	opts     []Option
	want     []string // messages; "error: <substring>" for an evaluation error
}

func runEval(t *testing.T, cases []evalCase) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s := loadOne(t, policyDoc("p", tc.spec), tc.opts...)
			var obj, old *unstructured.Unstructured
			if tc.obj != "" {
				obj = object(t, tc.obj)
			}
			if tc.old != "" {
				old = object(t, tc.old)
			}
			var got []string
			for _, f := range s.Evaluate(obj, old, now) {
				if f.Err != "" {
					got = append(got, "error: "+f.Err)
				} else {
					got = append(got, f.Message)
				}
			}
			if len(got) != len(tc.want) {
				t.Fatalf("findings:\n got  %q\n want %q", got, tc.want)
			}
			for i := range got {
				w, isErr := strings.CutPrefix(tc.want[i], "error: ")
				if isErr && !strings.Contains(got[i], w) || !isErr && got[i] != w {
					t.Errorf("finding %d:\n got  %q\n want %q", i, got[i], tc.want[i])
				}
			}
		})
	}
}

func TestMatchConditions(t *testing.T) {
	validation := "validations: [{expression: 'false', message: applied}]\n"
	runEval(t, []evalCase{
		{name: "all true", obj: configMap, want: []string{"applied"},
			spec: "matchConditions:\n  - {name: web, expression: \"object.metadata.labels.tier == 'web'\"}\n  - {name: cm, expression: \"object.kind == 'ConfigMap'\"}\n" + validation},
		{name: "one false", obj: configMap,
			spec: "matchConditions:\n  - {name: web, expression: \"object.metadata.labels.tier == 'web'\"}\n  - {name: db, expression: \"object.metadata.labels.tier == 'db'\"}\n" + validation},
		{name: "an error", obj: configMap,
			want: []string{`error: matchCondition "missing": expression 'object.metadata.labels.team == 'a'' resulted in error: no such key: team`},
			spec: "matchConditions:\n  - {name: web, expression: \"object.metadata.labels.tier == 'web'\"}\n  - {name: missing, expression: \"object.metadata.labels.team == 'a'\"}\n" + validation},
		{name: "false wins over an error, as in the apiserver", obj: configMap,
			spec: "matchConditions:\n  - {name: missing, expression: \"object.metadata.labels.team == 'a'\"}\n  - {name: db, expression: \"object.metadata.labels.tier == 'db'\"}\n" + validation},
	})
	// The error finding names the condition's field and expression.
	s := loadOne(t, policyDoc("p", "matchConditions:\n  - {name: missing, expression: \"object.metadata.labels.team == 'a'\"}\n"+validation))
	fs := s.Evaluate(object(t, configMap), nil, now)
	if len(fs) != 1 || fs[0].Field != "spec.matchConditions[0].expression" || fs[0].Validation != -1 || !fs[0].Blocks() == (fs[0].Action == ActionEnforce) {
		t.Errorf("finding = %+v", fs)
	}
}

func TestVariables(t *testing.T) {
	runEval(t, []evalCase{
		{name: "composed in order", obj: configMap, want: []string{"mode fast is not safe"},
			spec: "variables:\n  - {name: mode, expression: object.data.mode}\n  - {name: safe, expression: \"variables.mode == 'safe'\"}\n" +
				"validations:\n  - {expression: variables.safe, messageExpression: \"'mode ' + variables.mode + ' is not safe'\"}\n"},
		{name: "lazy: an unused failing variable is never evaluated", obj: configMap,
			spec: "variables:\n  - {name: broken, expression: object.data.nope}\n  - {name: mode, expression: object.data.mode}\n" +
				"validations:\n  - {expression: \"variables.mode == 'fast'\"}\n"},
		{name: "a used failing variable is an error", obj: configMap,
			want: []string{`error: composited variable "broken" fails to evaluate: no such key: nope`},
			spec: "variables:\n  - {name: broken, expression: object.data.nope}\n" +
				"validations:\n  - {expression: \"variables.broken == 'x'\"}\n"},
	})
}

func TestMatchConstraints(t *testing.T) {
	rules := func(extra string) string {
		return "matchConstraints:\n  resourceRules:\n    - {apiGroups: [''], apiVersions: [v1], resources: [configmaps], operations: ['*']}\n" + extra +
			"validations: [{expression: 'false', message: applied}]\n"
	}
	nsLabels := WithNamespaceLabels(func(ns string) (map[string]string, bool) {
		if ns == "shop" {
			return map[string]string{"env": "prod"}, true
		}
		return nil, false
	})
	applied := []string{"applied"}
	runEval(t, []evalCase{
		{name: "excludeResourceRules", obj: configMap,
			spec: rules("  excludeResourceRules:\n    - {apiGroups: [''], apiVersions: ['*'], resources: ['*'], operations: [CREATE]}\n")},
		{name: "excludeResourceRules for another operation", obj: configMap, old: configMap, want: applied,
			spec: rules("  excludeResourceRules:\n    - {apiGroups: [''], apiVersions: ['*'], resources: ['*'], operations: [CREATE]}\n")},
		{name: "resourceNames", obj: configMap,
			spec: "matchConstraints:\n  resourceRules:\n    - {apiGroups: [''], apiVersions: [v1], resources: [configmaps], operations: ['*'], resourceNames: [other]}\n" +
				"validations: [{expression: 'false'}]\n"},
		{name: "objectSelector matches", obj: configMap, want: applied,
			spec: rules("  objectSelector: {matchLabels: {tier: web}}\n")},
		{name: "objectSelector does not match", obj: configMap,
			spec: rules("  objectSelector: {matchExpressions: [{key: tier, operator: NotIn, values: [web]}]}\n")},
		{name: "objectSelector matches the old object", obj: strings.Replace(configMap, "tier: web", "tier: db", 1), old: configMap, want: applied,
			spec: rules("  objectSelector: {matchLabels: {tier: web}}\n")},
		{name: "namespaceSelector without namespace labels", obj: configMap,
			spec: rules("  namespaceSelector: {matchLabels: {env: prod}}\n")},
		{name: "empty namespaceSelector without namespace labels", obj: configMap, want: applied,
			spec: rules("  namespaceSelector: {}\n")},
		{name: "namespaceSelector with namespace labels", obj: configMap, want: applied, opts: []Option{nsLabels},
			spec: rules("  namespaceSelector: {matchLabels: {env: prod}}\n")},
		{name: "namespaceSelector, unknown namespace", obj: strings.Replace(configMap, "namespace: shop", "namespace: dev", 1), opts: []Option{nsLabels},
			spec: rules("  namespaceSelector: {matchLabels: {env: prod}}\n")},
		{name: "namespaceSelector and a cluster-scoped object", want: applied,
			obj:  "apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRole\nmetadata: {name: admin}\n",
			spec: "matchConstraints:\n  namespaceSelector: {matchLabels: {env: prod}}\n  resourceRules:\n    - {apiGroups: ['*'], apiVersions: ['*'], resources: [clusterroles], operations: ['*']}\nvalidations: [{expression: 'false', message: applied}]\n"},
		{name: "namespaceSelector on a Namespace uses its own labels", want: applied,
			obj:  "apiVersion: v1\nkind: Namespace\nmetadata: {name: shop, labels: {env: prod}}\n",
			spec: "matchConstraints:\n  namespaceSelector: {matchLabels: {env: prod}}\n  resourceRules:\n    - {apiGroups: [''], apiVersions: ['*'], resources: [namespaces], operations: ['*']}\nvalidations: [{expression: 'false', message: applied}]\n"},
		{name: "scope Cluster skips namespaced objects", obj: configMap,
			spec: "matchConstraints:\n  resourceRules:\n    - {apiGroups: [''], apiVersions: [v1], resources: ['*'], operations: ['*'], scope: Cluster}\nvalidations: [{expression: 'false'}]\n"},
		{name: "operation CREATE only, evaluated as UPDATE", obj: configMap, old: configMap,
			spec: "matchConstraints:\n  resourceRules:\n    - {apiGroups: [''], apiVersions: [v1], resources: ['*'], operations: [CREATE]}\nvalidations: [{expression: 'false'}]\n"},
		{name: "a resourcer that knows the kind", obj: configMap, want: applied,
			opts: []Option{WithResourcer(func(gvk schema.GroupVersionKind) (string, bool) { return "cms", gvk.Kind == "ConfigMap" })},
			spec: "matchConstraints:\n  resourceRules:\n    - {apiGroups: [''], apiVersions: [v1], resources: [cms], operations: ['*']}\nvalidations: [{expression: 'false', message: applied}]\n"},
	})
}

type denyAll struct{}

func (denyAll) Authorize(context.Context, authorizer.Attributes) (authorizer.Decision, string, error) {
	return authorizer.DecisionDeny, "no", nil
}

func TestVariablesOfTheRequest(t *testing.T) {
	msg := func(expr string) string {
		return "validations: [{expression: 'false', messageExpression: " + fmt.Sprintf("%q", expr) + "}]\n"
	}
	deploy := "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web, namespace: shop}\nspec: {replicas: 3}\n"
	runEval(t, []evalCase{
		{name: "request on create", obj: configMap,
			spec: msg("request.operation + ' ' + request.kind.kind + ' ' + request.resource.resource + ' ' + request.namespace + '/' + request.name + ' by ' + request.userInfo.username + (oldObject == null ? ' new' : ' old')"),
			want: []string{"CREATE ConfigMap configmaps shop/settings by trueup new"}},
		{name: "request on update with a user", obj: configMap, old: configMap,
			opts: []Option{WithUser(&user.DefaultInfo{Name: "system:serviceaccount:trueup:trueup"})},
			spec: msg("request.operation + ' ' + request.userInfo.username + ' ' + oldObject.data.mode"),
			want: []string{"UPDATE system:serviceaccount:trueup:trueup fast"}},
		{name: "request options: a server-side apply, not a dry run", obj: configMap,
			spec: msg("request.options.kind + ' ' + request.options.fieldManager + ' ' + string(request.dryRun)"),
			want: []string{"PatchOptions trueup false"}},
		{name: "request on delete", old: configMap,
			spec: msg("request.operation + ' ' + string(object == null) + ' ' + oldObject.metadata.name"),
			want: []string{"DELETE true settings"}},
		{name: "transition rule with oldObject", obj: deploy, old: strings.Replace(deploy, "replicas: 3", "replicas: 5", 1),
			spec: "validations:\n  - expression: oldObject == null || object.spec.replicas >= oldObject.spec.replicas\n" +
				"    messageExpression: \"'replicas may not go down from ' + string(oldObject.spec.replicas)\"\n",
			want: []string{"replicas may not go down from 5"}},
		{name: "namespaceObject is null without namespace labels", obj: configMap,
			spec: msg("string(namespaceObject == null)"), want: []string{"true"}},
		{name: "namespaceObject with namespace labels", obj: configMap,
			opts: []Option{WithNamespaceLabels(func(string) (map[string]string, bool) { return map[string]string{"env": "prod"}, true })},
			spec: msg("namespaceObject.metadata.name + ' ' + namespaceObject.metadata.labels.env"), want: []string{"shop prod"}},
		{name: "params is null", obj: configMap,
			spec: "paramKind: {apiVersion: v1, kind: ConfigMap}\n" + msg("string(params == null)"), want: []string{"true"}},
		{name: "authorizer without one is an error", obj: configMap,
			spec: "validations: [{expression: \"authorizer.group('').resource('secrets').namespace('shop').check('get').allowed()\"}]\n",
			want: []string{"error: no such attribute"}},
		{name: "authorizer with one", obj: configMap, opts: []Option{WithAuthorizer(denyAll{})},
			spec: "validations: [{expression: \"authorizer.group('').resource('secrets').namespace('shop').check('get').allowed()\"}]\n",
			want: []string{"failed expression: authorizer.group('').resource('secrets').namespace('shop').check('get').allowed()"}},
		{name: "kubernetes libraries: quantity, regex, url", obj: configMap,
			spec: "validations: [{expression: \"quantity('1Gi').isGreaterThan(quantity('1Mi')) && 'abc'.find('[b]') == 'b' && url('https://x.io/a').getHost() == 'x.io'\"}]\n"},
	})
}

func TestMessages(t *testing.T) {
	s := loadOne(t, policyDoc("p", `validations:
  - expression: "false"
    message: static
    messageExpression: "''"
  - expression: "false"
    messageExpression: "string(object.data.nope)"
    message: fallback on error
  - expression: " 1 == 2 "
  - expression: "false"
    messageExpression: "'two\\nlines'"
    reason: Forbidden
  - expression: "true"
    message: passes
`))
	fs := s.Evaluate(object(t, configMap), nil, now)
	type got struct {
		msg    string
		reason metav1.StatusReason
		val    int
	}
	var g []got
	for _, f := range fs {
		g = append(g, got{f.Message, f.Reason, f.Validation})
	}
	want := []got{
		{"static", metav1.StatusReasonInvalid, 0},
		{"fallback on error", metav1.StatusReasonInvalid, 1},
		{"failed expression: 1 == 2", metav1.StatusReasonInvalid, 2},
		{"failed expression: false", metav1.StatusReasonForbidden, 3},
	}
	if !slices.Equal(g, want) {
		t.Errorf("messages:\n got  %+v\n want %+v", g, want)
	}
}

// A Secret's values never reach a finding: its messageExpressions are not
// used and its evaluation errors are withheld. The same policy on a
// ConfigMap shows them, so the test can fail.
func TestSecretValuesDoNotLeak(t *testing.T) {
	policy := func(resource string) string {
		return `apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingAdmissionPolicy
metadata: {name: p}
spec:
  matchConstraints:
    resourceRules: [{apiGroups: [""], apiVersions: [v1], resources: [` + resource + `], operations: ["*"]}]
  validations:
    - expression: "false"
      message: static
      messageExpression: "'token is ' + object.stringData.token"
    - expression: "object.stringData[object.stringData.token] == 'x'"
`
	}
	doc := func(kind string) string {
		return "apiVersion: v1\nkind: " + kind + "\nmetadata: {name: api, namespace: shop}\nstringData: {token: hunter2}\n"
	}
	fs := loadOne(t, policy("secrets")).Evaluate(object(t, doc("Secret")), nil, now)
	if len(fs) != 2 {
		t.Fatalf("findings = %+v", fs)
	}
	for _, f := range fs {
		if strings.Contains(f.String(), "hunter2") {
			t.Errorf("a Secret value leaked: %+v", f)
		}
	}
	if fs[0].Message != "static" || fs[1].Err != "evaluation failed on a Secret (details withheld so that no value leaks)" {
		t.Errorf("findings = %q / %q", fs[0].Message, fs[1].Err)
	}
	fs = loadOne(t, policy("configmaps")).Evaluate(object(t, doc("ConfigMap")), nil, now)
	if len(fs) != 2 || fs[0].Message != "token is hunter2" || !strings.Contains(fs[1].Err, "hunter2") {
		t.Errorf("ConfigMap findings = %+v", fs)
	}
}

func TestEvaluationErrorsAreNotPasses(t *testing.T) {
	spec := "validations: [{expression: \"object.data.missing == 'x'\", message: m}]\n"
	for _, tc := range []struct {
		name     string
		policy   string
		failOpen bool
	}{
		{name: "failurePolicy Fail (default)", policy: spec},
		{name: "failurePolicy Ignore", policy: "failurePolicy: Ignore\n" + spec, failOpen: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			doc := strings.Replace(policyDoc("p", tc.policy), "  name: p\n", "  name: p\n  annotations: {policy.trueup.dev/action: enforce}\n", 1)
			fs := loadOne(t, doc).Evaluate(object(t, configMap), nil, now)
			if len(fs) != 1 || fs[0].Err == "" || fs[0].Message != "" {
				t.Fatalf("findings = %+v, want one evaluation error", fs)
			}
			f := fs[0]
			if f.FailOpen != tc.failOpen || f.Blocks() == tc.failOpen {
				t.Errorf("FailOpen = %v, Blocks = %v", f.FailOpen, f.Blocks())
			}
			if f.Field != "spec.validations[0].expression" || f.Expression != "object.data.missing == 'x'" {
				t.Errorf("Field %q Expression %q", f.Field, f.Expression)
			}
		})
	}
}

// A comprehension of 10^7 steps stops at the apiserver's per-call cost
// limit (well under a second) instead of running for minutes.
func TestCostLimit(t *testing.T) {
	t.Parallel()
	expr := "g > 0"
	for _, v := range []string{"g", "f", "e", "d", "c", "b", "a"} {
		expr = "[1,2,3,4,5,6,7,8,9,10].all(" + v + ", " + expr + ")"
	}
	spec := "validations:\n  - {expression: \"" + expr + "\", message: never}\n"
	s := loadOne(t, policyDoc("p", spec))
	fs := s.Evaluate(object(t, configMap), nil, now)
	if len(fs) != 1 || !strings.Contains(fs[0].Err, "cost limit exceeded") {
		t.Fatalf("findings = %+v, want a cost limit error", fs)
	}
	// A cancelled context interrupts too.
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	fs = s.EvaluateContext(ctx, object(t, configMap), nil, now)
	if len(fs) != 1 || fs[0].Err == "" {
		t.Fatalf("findings = %+v, want an evaluation error", fs)
	}
}

func TestFindingID(t *testing.T) {
	s := starterSet(t)
	a := s.Evaluate(object(t, privilegedDeployment), nil, now)
	b := s.Evaluate(object(t, strings.Replace(privilegedDeployment, "name: app", "name: other", 1)), object(t, privilegedDeployment), now)
	if len(a) != 1 || len(b) != 1 || a[0].ID() != b[0].ID() {
		t.Fatalf("IDs differ: %v / %v", a, b)
	}
	if want := "no-privileged-containers/0/Deployment.apps/shop/web"; a[0].ID() != want {
		t.Errorf("ID = %q, want %q", a[0].ID(), want)
	}
	wantRef := drift.ObjectRef{Group: "apps", Version: "v1", Kind: "Deployment", Namespace: "shop", Name: "web"}
	if a[0].Object != wantRef || a[0].Operation != Create || b[0].Operation != Update {
		t.Errorf("Object %+v Operation %s/%s", a[0].Object, a[0].Operation, b[0].Operation)
	}
	if got := a[0].String(); got != "Deployment.apps/shop/web: no-privileged-containers (critical, enforce): Deployment web runs privileged containers: app" {
		t.Errorf("String() = %q", got)
	}
}

func TestEvaluateNothing(t *testing.T) {
	var nilSet *Set
	if fs := nilSet.Evaluate(object(t, configMap), nil, now); fs != nil {
		t.Errorf("nil set: %v", fs)
	}
	if fs := starterSet(t).Evaluate(nil, nil, now); fs != nil {
		t.Errorf("no object: %v", fs)
	}
}

// With shares the compiled policies; concurrent evaluations are safe.
func TestConcurrentEvaluate(t *testing.T) {
	base := starterSet(t)
	views := []*Set{base, base.With(WithUser(&user.DefaultInfo{Name: "other"}))}
	objs := []string{privilegedDeployment, secureBucket, configMap}
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Go(func() {
			s := views[i%2]
			for _, o := range objs {
				s.Evaluate(object(t, o), nil, now)
			}
		})
	}
	wg.Wait()
	if got := len(base.Evaluate(object(t, privilegedDeployment), nil, now)); got != 1 {
		t.Errorf("findings after concurrent use = %d", got)
	}
}

func TestGuessResource(t *testing.T) {
	for kind, want := range map[string]string{
		"Deployment": "deployments", "NetworkPolicy": "networkpolicies", "Ingress": "ingresses",
		"S3Bucket": "s3buckets", "SecurityGroup": "securitygroups", "IAMRole": "iamroles", "IAMPolicy": "iampolicies",
		"Gateway": "gateways", "Endpoints": "endpoints", "Mailbox": "mailboxes", "": "",
	} {
		if got := GuessResource(kind); got != want {
			t.Errorf("GuessResource(%q) = %q, want %q", kind, got, want)
		}
	}
}
