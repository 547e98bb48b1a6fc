package policy

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	celtypes "github.com/google/cel-go/common/types"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apiserver/pkg/admission"
	plugincel "k8s.io/apiserver/pkg/admission/plugin/cel"
	celconfig "k8s.io/apiserver/pkg/apis/cel"
	apiservercel "k8s.io/apiserver/pkg/cel"

	"github.com/trueup-dev/trueup/drift"
)

// FieldManager is the field manager in request.options, the one trueup
// applies with.
const FieldManager = "trueup"

// Evaluate runs every policy of the set that matches the object and
// returns its findings: failed validations and evaluation errors, with
// exceptions applied as of now. obj is the desired (or live) object and
// old the live one: (desired, nil) is a CREATE, (desired, live) an UPDATE,
// (nil, live) a DELETE. Each policy runs within the apiserver's cost
// budgets, so a pathological expression ends as an evaluation error.
func (s *Set) Evaluate(obj, old *unstructured.Unstructured, now time.Time) []Finding {
	return s.EvaluateContext(context.Background(), obj, old, now)
}

// EvaluateContext is Evaluate with a context that can interrupt a long
// evaluation (an interrupted one is an evaluation error too).
func (s *Set) EvaluateContext(ctx context.Context, obj, old *unstructured.Unstructured, now time.Time) []Finding {
	if s == nil {
		return nil
	}
	req := s.newRequest(obj, old)
	if req == nil {
		return nil
	}
	var out []Finding
	for _, c := range s.policies {
		if !s.matches(c.spec.Spec.MatchConstraints, req) {
			continue
		}
		found := s.evaluate(ctx, c, req)
		for i := range found {
			s.except(&found[i], req, now)
		}
		out = append(out, found...)
	}
	return out
}

// request is one object under evaluation, shaped as an admission request.
type request struct {
	ref               drift.ObjectRef
	op                Operation
	gvk               schema.GroupVersionKind
	gvr               schema.GroupVersionResource
	labels, oldLabels map[string]string
	attrs             admission.Attributes
	obj, old          runtime.Object
}

func (r *request) isNamespace() bool { return r.gvk.Group == "" && r.gvk.Kind == "Namespace" }

func (s *Set) newRequest(obj, old *unstructured.Unstructured) *request {
	subject, op := obj, Create
	switch {
	case obj == nil && old == nil:
		return nil
	case obj == nil:
		subject, op = old, Delete
	case old != nil:
		op = Update
	}
	req := &request{ref: drift.RefOf(subject), op: op, gvk: subject.GroupVersionKind()}
	req.gvr = req.gvk.GroupVersion().WithResource(s.opts.resource(req.gvk))
	if obj != nil {
		req.obj, req.labels = obj, obj.GetLabels()
	}
	if old != nil {
		req.old, req.oldLabels = old, old.GetLabels()
	}
	// As in the apiserver, a Namespace's request namespace is its own name.
	ns := req.ref.Namespace
	if req.isNamespace() {
		ns = req.ref.Name
	}
	req.attrs = admission.NewAttributesRecord(req.obj, req.old, req.gvk, ns, req.ref.Name, req.gvr, "",
		admission.Operation(op), operationOptions(op), false, s.opts.user)
	return req
}

// operationOptions are the options of the call trueup makes: a server-side
// apply patch, or a delete.
func operationOptions(op Operation) runtime.Object {
	if op == Delete {
		return &metav1.DeleteOptions{TypeMeta: metav1.TypeMeta{APIVersion: "meta.k8s.io/v1", Kind: "DeleteOptions"}}
	}
	return &metav1.PatchOptions{TypeMeta: metav1.TypeMeta{APIVersion: "meta.k8s.io/v1", Kind: "PatchOptions"}, FieldManager: FieldManager}
}

// versioned wraps the request for the CEL activation; a fresh one per
// policy, since it caches the objects' CEL values.
func (r *request) versioned() *admission.VersionedAttributes {
	return &admission.VersionedAttributes{
		Attributes:         r.attrs,
		VersionedObject:    admission.NewLazyObject(r.obj),
		VersionedOldObject: admission.NewLazyObject(r.old),
		VersionedKind:      r.gvk,
	}
}

// namespaceObject is the namespaceObject variable: the namespace's name and
// labels when the NamespaceLabels option knows them, else null.
func (s *Set) namespaceObject(req *request) *corev1.Namespace {
	name := req.attrs.GetNamespace()
	nsLabels, ok := s.namespaceLabels(name)
	if !ok {
		return nil
	}
	return &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: nsLabels}}
}

// evaluate runs one matching policy as the apiserver's validator does:
// matchConditions (with their own budget), then validations, then the
// messageExpressions with what is left of the budget.
func (s *Set) evaluate(ctx context.Context, c *compiled, req *request) []Finding {
	base := Finding{
		Policy: c.spec.Name, File: c.file, Validation: -1, Object: req.ref, Operation: req.op,
		Severity: c.severity, Action: ActionWarn, FailOpen: c.failOpen,
	}
	if s.enforced(c, req) {
		base.Action = ActionEnforce
	}
	va := req.versioned()
	admReq := plugincel.CreateAdmissionRequest(req.attrs, metav1.GroupVersionResource(req.gvr), metav1.GroupVersionKind(req.gvk))
	vars := plugincel.OptionalVariableBindings{Authorizer: s.opts.authz}

	// 1. matchConditions: one false means the policy does not apply, even
	// when another errored; otherwise an error is a finding.
	if len(c.conditions) > 0 {
		results, _, err := c.matchEval.ForInput(ctx, va, admReq, vars, nil, celconfig.RuntimeCELCostBudgetMatchConditions)
		if err != nil {
			return maskErrors([]Finding{withErr(base, "spec.matchConditions", "", err.Error())}, req)
		}
		if f, ok := conditionError(base, c, results); !ok {
			return nil
		} else if f != nil {
			return maskErrors([]Finding{*f}, req)
		}
	}

	// 2. validations, within the runtime budget.
	ns := s.namespaceObject(req)
	results, remaining, err := c.validateEval.ForInput(ctx, va, admReq, vars, ns, celconfig.RuntimeCELCostBudget)
	if err != nil {
		return maskErrors([]Finding{withErr(base, "spec.validations", "", err.Error())}, req)
	}
	// 3. messageExpressions, without the authorizer, as in the apiserver.
	messages, _, msgErr := c.messageEval.ForInput(ctx, va, admReq, plugincel.OptionalVariableBindings{}, ns, remaining)
	if drift.IsSecret(req.ref) {
		messages = nil // could quote a Secret value: static messages only
	}
	var out []Finding
	for i, r := range results {
		v := c.validations[i]
		f := base
		f.Validation, f.Field, f.Expression = i, v.field, v.text
		switch {
		case r.Error != nil:
			f.Err = r.Error.Error()
		case errors.Is(msgErr, apiservercel.ErrInternal) || errors.Is(msgErr, apiservercel.ErrOutOfBudget):
			f.Err = fmt.Sprintf("failed messageExpression: %v", msgErr)
		case r.EvalResult != celtypes.True:
			f.Reason = metav1.StatusReasonInvalid
			if v.reason != nil {
				f.Reason = metav1.StatusReason(*v.reason)
			}
			f.Message = failureMessage(v, messages, i)
		default:
			continue
		}
		out = append(out, f)
	}
	return maskErrors(out, req)
}

// maskErrors withholds the evaluation errors of a Secret's findings, which
// can quote the values an expression read (a failed int(), a regex), so no
// Secret value reaches a history record or a Slack message.
func maskErrors(fs []Finding, req *request) []Finding {
	if !drift.IsSecret(req.ref) {
		return fs
	}
	for i := range fs {
		if fs[i].Err != "" {
			fs[i].Err = "evaluation failed on a Secret (details withheld so that no value leaks)"
		}
	}
	return fs
}

// conditionError folds the matchConditions' results: ok false when one is
// false, a finding when none is false and some errored.
func conditionError(base Finding, c *compiled, results []plugincel.EvaluationResult) (*Finding, bool) {
	var msgs []string
	field, text := "", ""
	for i, r := range results {
		if r.EvalResult == celtypes.False {
			return nil, false
		}
		if r.Error != nil {
			cond := c.conditions[i]
			if field == "" {
				field, text = cond.field, cond.text
			}
			msgs = append(msgs, fmt.Sprintf("matchCondition %q: %v", cond.name, r.Error))
		}
	}
	if len(msgs) == 0 {
		return nil, true
	}
	f := withErr(base, field, text, strings.Join(msgs, "; "))
	return &f, true
}

func withErr(f Finding, field, text, err string) Finding {
	f.Field, f.Expression, f.Err = field, text, err
	return f
}

// failureMessage picks the message as the apiserver does: the
// messageExpression's result when it is a non-blank, single-line string
// within the size limit, else message, else "failed expression: ...".
// For Secrets trueup never uses the messageExpression.
func failureMessage(v *expression, messages []plugincel.EvaluationResult, i int) string {
	var msg string
	if i < len(messages) {
		if r := messages[i]; r.Error == nil && r.EvalResult != nil {
			if s, ok := r.EvalResult.Value().(string); ok {
				msg = strings.TrimSpace(s)
				if len(msg) > celconfig.MaxEvaluatedMessageExpressionSizeBytes || strings.Contains(msg, "\n") {
					msg = ""
				}
			}
		}
	}
	if msg == "" {
		msg = strings.TrimSpace(v.message)
	}
	if msg == "" {
		msg = "failed expression: " + strings.TrimSpace(v.text)
	}
	return msg
}
