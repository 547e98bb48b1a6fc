package health

import (
	"errors"
	"fmt"
	"strings"

	celgo "github.com/google/cel-go/cel"
	celtypes "github.com/google/cel-go/common/types"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/fluxcd/cli-utils/pkg/kstatus/status"
)

// Rule is one kind's expressions, as the config writes them.
type Rule struct {
	APIVersion string
	Kind       string
	// Current is required; Failed and InProgress are optional.
	Current    string
	Failed     string
	InProgress string
}

// Check is a compiled Rule.
type Check struct {
	GroupKind schema.GroupKind
	// programs in evaluation order: inProgress, failed, current.
	programs []program
}

type program struct {
	field  string
	status status.Status
	prg    celgo.Program
}

// variables are the object's top-level fields an expression may use.
var variables = []string{"apiVersion", "kind", "metadata", "spec", "status", "data"}

// ExpressionError is a compile error of one expression, naming its field
// (current, failed or inProgress).
type ExpressionError struct {
	Field string
	Err   error
}

func (e *ExpressionError) Error() string { return e.Field + ": " + e.Err.Error() }
func (e *ExpressionError) Unwrap() error { return e.Err }

// Compile compiles a rule. It returns every broken expression, each as an
// *ExpressionError, joined.
func Compile(r Rule) (*Check, error) {
	gv, err := schema.ParseGroupVersion(r.APIVersion)
	if err != nil {
		return nil, &ExpressionError{Field: "apiVersion", Err: err}
	}
	env, err := environment()
	if err != nil {
		return nil, fmt.Errorf("cel environment: %w", err)
	}
	c := &Check{GroupKind: schema.GroupKind{Group: gv.Group, Kind: r.Kind}}
	var errs []error
	for _, e := range []struct {
		field, text string
		status      status.Status
	}{
		{"inProgress", r.InProgress, status.InProgressStatus},
		{"failed", r.Failed, status.FailedStatus},
		{"current", r.Current, status.CurrentStatus},
	} {
		if strings.TrimSpace(e.text) == "" {
			if e.field == "current" {
				errs = append(errs, &ExpressionError{Field: e.field, Err: errors.New("required: an expression that is true when the object is healthy")})
			}
			continue
		}
		prg, err := compileBool(env, e.text)
		if err != nil {
			errs = append(errs, &ExpressionError{Field: e.field, Err: err})
			continue
		}
		c.programs = append(c.programs, program{field: e.field, status: e.status, prg: prg})
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return c, nil
}

func environment() (*celgo.Env, error) {
	opts := make([]celgo.EnvOption, 0, len(variables))
	for _, v := range variables {
		opts = append(opts, celgo.Variable(v, celgo.DynType))
	}
	return celgo.NewEnv(opts...)
}

func compileBool(env *celgo.Env, text string) (celgo.Program, error) {
	ast, iss := env.Compile(text)
	if iss.Err() != nil {
		return nil, compileError(iss.Err())
	}
	if t := ast.OutputType(); t != celgo.BoolType && t != celgo.DynType {
		return nil, fmt.Errorf("the expression is of type %s: want a bool", t)
	}
	return env.Program(ast)
}

// Status judges a live object: the first of inProgress, failed and current
// that is true decides; none: in progress. An expression that does not
// evaluate returns the error: kstatus then calls the object Unknown, a
// wait for it ends unhealthy at its timeout, and its error says why.
func (c *Check) Status(u *unstructured.Unstructured) (*status.Result, error) {
	vars := make(map[string]any, len(variables))
	for _, v := range variables {
		val, ok := u.Object[v]
		if !ok || val == nil {
			val = map[string]any{}
		}
		vars[v] = val
	}
	for _, p := range c.programs {
		val, _, err := p.prg.Eval(vars)
		if err != nil {
			return nil, fmt.Errorf("health check %s: evaluate %s: %w", c.GroupKind.String(), p.field, err)
		}
		b, ok := val.(celtypes.Bool)
		if !ok {
			return nil, fmt.Errorf("health check %s: %s is %s, not a bool", c.GroupKind.String(), p.field, val.Type().TypeName())
		}
		if b {
			return &status.Result{Status: p.status, Message: fmt.Sprintf("health check %s: %s is true", c.GroupKind.String(), p.field)}, nil
		}
	}
	return &status.Result{Status: status.InProgressStatus, Message: fmt.Sprintf("health check %s: no expression is true yet", c.GroupKind.String())}, nil
}

// compileError is cel's error on one line: its "ERROR: <input>:line:col:
// message" lines without the source excerpts, joined by "; ".
func compileError(err error) error {
	var msgs []string
	for _, line := range strings.Split(err.Error(), "\n") {
		if m, ok := strings.CutPrefix(line, "ERROR: <input>:"); ok {
			msgs = append(msgs, "at "+m)
		}
	}
	if len(msgs) == 0 {
		return err
	}
	return fmt.Errorf("does not compile: %s", strings.Join(msgs, "; "))
}
