package policy

import (
	"errors"
	"fmt"
	"strings"

	celgo "github.com/google/cel-go/cel"
	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	plugincel "k8s.io/apiserver/pkg/admission/plugin/cel"
	apiservercel "k8s.io/apiserver/pkg/cel"
	"k8s.io/apiserver/pkg/cel/environment"
)

// The expression kinds of a ValidatingAdmissionPolicy, as the apiserver's
// validating plugin declares them (the types there are not imported to keep
// the plugin's informer and tracing dependencies out of trueup).
type (
	// expression is a condition: a validation or a match condition.
	expression struct {
		field string
		text  string
		// name of a match condition; message and reason of a validation.
		name    string
		message string
		reason  *string
	}
	// messageExpression is a validation's messageExpression.
	messageExpression struct{ text string }
	// variable is one of spec.variables.
	variable struct{ name, text string }
)

func (e *expression) GetExpression() string      { return e.text }
func (e *expression) ReturnTypes() []*celgo.Type { return []*celgo.Type{celgo.BoolType} }

func (m *messageExpression) GetExpression() string      { return m.text }
func (m *messageExpression) ReturnTypes() []*celgo.Type { return []*celgo.Type{celgo.StringType} }

func (v *variable) GetExpression() string      { return v.text }
func (v *variable) ReturnTypes() []*celgo.Type { return []*celgo.Type{celgo.AnyType, celgo.DynType} }
func (v *variable) GetName() string            { return v.name }

// compiled is a policy ready to evaluate.
type compiled struct {
	spec        *admissionregistrationv1.ValidatingAdmissionPolicy
	file        string
	severity    Severity
	action      Action
	failOpen    bool
	conditions  []*expression
	validations []*expression
	// matchConditions, validations and messages evaluate with the policy's
	// variables composed in, lazily and in order.
	matchEval    plugincel.ConditionEvaluator
	validateEval plugincel.ConditionEvaluator
	messageEval  plugincel.ConditionEvaluator
	// denyBindings enforce the policy for the objects they match.
	denyBindings []admissionregistrationv1.MatchResources
}

// The declarations the apiserver compiles a ValidatingAdmissionPolicy with:
// params when the policy has a paramKind (trueup always binds it to null),
// authorizer everywhere but in messageExpressions.
func declarations(p *admissionregistrationv1.ValidatingAdmissionPolicy) (conditions, messages plugincel.OptionalVariableDeclarations) {
	hasParams := p.Spec.ParamKind != nil
	return plugincel.OptionalVariableDeclarations{HasParams: hasParams, HasAuthorizer: true},
		plugincel.OptionalVariableDeclarations{HasParams: hasParams, HasAuthorizer: false}
}

// compilePolicy compiles every expression of a policy with the apiserver's
// composited compiler and stored-expression environment, so that whatever a
// cluster accepts compiles here. It returns one error per broken expression.
func compilePolicy(p *admissionregistrationv1.ValidatingAdmissionPolicy, env *environment.EnvSet) (*compiled, []*LoadError) {
	condDecls, msgDecls := declarations(p)
	compiler, err := plugincel.NewCompositedCompiler(env)
	if err != nil {
		return nil, []*LoadError{{Field: "spec", Err: fmt.Errorf("cel environment: %w", err)}}
	}
	var errs []*LoadError
	check := func(field, text string, res plugincel.CompilationResult) {
		if res.Error != nil {
			errs = append(errs, compileError(field, text, res.Error))
		}
	}
	// 1. variables, in order: each sees the ones before it.
	for i, v := range p.Spec.Variables {
		acc := &variable{name: v.Name, text: v.Expression}
		res := compiler.CompileAndStoreVariable(acc, condDecls, environment.StoredExpressions)
		check(fmt.Sprintf("spec.variables[%d].expression", i), v.Expression, res)
	}
	c := &compiled{spec: p}
	// 2. matchConditions, validations and their messageExpressions.
	var conds, vals, msgs []plugincel.ExpressionAccessor
	for i, m := range p.Spec.MatchConditions {
		e := &expression{field: fmt.Sprintf("spec.matchConditions[%d].expression", i), text: m.Expression, name: m.Name}
		check(e.field, e.text, compiler.CompileCELExpression(e, condDecls, environment.StoredExpressions))
		c.conditions = append(c.conditions, e)
		conds = append(conds, e)
	}
	for i, v := range p.Spec.Validations {
		e := &expression{field: fmt.Sprintf("spec.validations[%d].expression", i), text: v.Expression, message: v.Message}
		if v.Reason != nil {
			r := string(*v.Reason)
			e.reason = &r
		}
		check(e.field, e.text, compiler.CompileCELExpression(e, condDecls, environment.StoredExpressions))
		c.validations = append(c.validations, e)
		vals = append(vals, e)
		var msg plugincel.ExpressionAccessor // a nil entry keeps the indexes aligned
		if v.MessageExpression != "" {
			m := &messageExpression{text: v.MessageExpression}
			field := fmt.Sprintf("spec.validations[%d].messageExpression", i)
			check(field, m.text, compiler.CompileCELExpression(m, msgDecls, environment.StoredExpressions))
			msg = m
		}
		msgs = append(msgs, msg)
	}
	if len(errs) > 0 {
		return nil, errs
	}
	c.matchEval = compiler.CompileCondition(conds, condDecls, environment.StoredExpressions)
	c.validateEval = compiler.CompileCondition(vals, condDecls, environment.StoredExpressions)
	c.messageEval = compiler.CompileCondition(msgs, msgDecls, environment.StoredExpressions)
	return c, nil
}

// compileError turns a CEL compilation error into a LoadError at field,
// with the position of the first issue in the expression.
func compileError(field, text string, err *apiservercel.Error) *LoadError {
	le := &LoadError{Field: field}
	var ce *apiservercel.CompilationError
	if !errors.As(err, &ce) || ce.Issues == nil || len(ce.Issues.Errors()) == 0 {
		le.Err = fmt.Errorf("%s (expression: %q)", err.Detail, text)
		return le
	}
	issues := ce.Issues.Errors()
	msgs := make([]string, 0, len(issues))
	for i, is := range issues {
		msg := is.Message
		if i > 0 && is.Location.Line() > 0 {
			msg = fmt.Sprintf("%d:%d: %s", is.Location.Line(), is.Location.Column()+1, msg)
		}
		msgs = append(msgs, msg)
	}
	if loc := issues[0].Location; loc.Line() > 0 {
		le.Line, le.Column = loc.Line(), loc.Column()+1
	}
	le.Err = fmt.Errorf("%s (expression: %q)", strings.Join(msgs, "; "), text)
	return le
}
