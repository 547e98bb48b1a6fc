package policy

import (
	"fmt"
	"strconv"
	"strings"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/trueup-dev/trueup/drift"
)

// Annotations on a ValidatingAdmissionPolicy that carry trueup's settings.
const (
	AnnotationSeverity = "policy.trueup.dev/severity"
	AnnotationAction   = "policy.trueup.dev/action"
)

// The PolicyException kind, trueup's own, kept in the same files as the policies.
const (
	ExceptionAPIVersion = "policy.trueup.dev/v1alpha1"
	ExceptionKind       = "PolicyException"
)

// Severity ranks a policy's findings for people: info, warning (the
// default) or critical. It never changes what blocks; Action does.
type Severity string

const (
	SeverityInfo     Severity = "info"
	SeverityWarning  Severity = "warning"
	SeverityCritical Severity = "critical"
)

// Action says what a finding does: warn (the default) reports it, enforce
// also blocks the apply of the desired object.
type Action string

const (
	ActionWarn    Action = "warn"
	ActionEnforce Action = "enforce"
)

// Operation is the admission operation trueup evaluates a policy as.
type Operation string

const (
	// Create: a desired object with no live object, or a live object
	// audited on its own (Evaluate(live, nil, now)).
	Create Operation = "CREATE"
	// Update: a desired object with its live object (Evaluate(desired, live, now)).
	Update Operation = "UPDATE"
	// Delete: a prune (Evaluate(nil, live, now)): object is null, oldObject is live.
	Delete Operation = "DELETE"
)

// Finding is one policy outcome for one object: a failed validation, or an
// evaluation error (Err set). Passing validations produce no finding.
type Finding struct {
	// Policy is the ValidatingAdmissionPolicy's metadata.name; File is where it came from.
	Policy string `json:"policy"`
	File   string `json:"file,omitempty"`
	// Validation is the index in spec.validations, or -1 when the finding is
	// about the policy as a whole (a matchConditions error, a spent budget).
	Validation int             `json:"validation"`
	Object     drift.ObjectRef `json:"object"`
	Operation  Operation       `json:"operation"`
	// Message is what the apiserver would answer: the messageExpression's
	// result, else message, else "failed expression: <expression>".
	Message string `json:"message,omitempty"`
	// Reason is the validation's reason, Invalid when it sets none.
	Reason   metav1.StatusReason `json:"reason,omitempty"`
	Severity Severity            `json:"severity"`
	Action   Action              `json:"action"`
	// Field is the path of the expression in the policy, such as
	// spec.validations[0].expression; Expression is its text.
	Field      string `json:"field,omitempty"`
	Expression string `json:"expression,omitempty"`
	// Excepted is the unexpired exception that exempts the object: the
	// finding is kept for the record but does not block.
	Excepted *Exception `json:"excepted,omitempty"`
	// ExpiredException is the exception that used to exempt the object.
	ExpiredException *Exception `json:"expiredException,omitempty"`
	// Note explains an exception, valid or expired, in a sentence.
	Note string `json:"note,omitempty"`
	// Err is an evaluation error: a runtime error, a spent cost budget, an
	// unknown variable. It is never a pass.
	Err string `json:"error,omitempty"`
	// FailOpen marks an evaluation error of a policy with failurePolicy:
	// Ignore; it is reported but never blocks, as in the apiserver.
	FailOpen bool `json:"failOpen,omitempty"`
}

// ID identifies the finding across evaluations (policy, validation and
// object, not the message or the object's version), so that a compliance
// episode opens once and resolves when the ID is gone.
func (f Finding) ID() string {
	return f.Policy + "/" + strconv.Itoa(f.Validation) + "/" + f.Object.String()
}

// Exempt reports whether an unexpired exception covers the finding.
func (f Finding) Exempt() bool { return f.Excepted != nil }

// Blocks reports whether the finding stops an apply: an enforced policy,
// no valid exception, and not a fail-open evaluation error.
func (f Finding) Blocks() bool {
	return f.Action == ActionEnforce && !f.Exempt() && !(f.Err != "" && f.FailOpen)
}

// String formats the finding for a log line or a CLI.
func (f Finding) String() string {
	text := f.Message
	if f.Err != "" {
		text = "evaluation error: " + f.Err
	}
	return fmt.Sprintf("%s: %s (%s, %s): %s", f.Object, f.Policy, f.Severity, f.Action, text)
}

// Blocking returns the findings that block an apply, in order.
func Blocking(findings []Finding) []Finding {
	var out []Finding
	for _, f := range findings {
		if f.Blocks() {
			out = append(out, f)
		}
	}
	return out
}

// Info describes a loaded policy.
type Info struct {
	Name     string   `json:"name"`
	File     string   `json:"file"`
	Severity Severity `json:"severity"`
	// Action is the policy's own action; bindings with Deny may enforce it
	// for the objects they match.
	Action Action `json:"action"`
}

// LoadError is one document that could not be used. The rest of the set
// still loads.
type LoadError struct {
	File string
	// Document is the 1-based index of the YAML document in File.
	Document int
	Kind     string
	Name     string
	// Field is the path of the offending field, such as
	// spec.validations[1].expression.
	Field string
	// Line and Column locate a CEL error in the expression (1-based), 0 when
	// the error has no position.
	Line, Column int
	Err          error
}

func (e *LoadError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s: document %d", e.File, e.Document)
	if e.Kind != "" {
		fmt.Fprintf(&b, ": %s", e.Kind)
		if e.Name != "" {
			fmt.Fprintf(&b, " %s", e.Name)
		}
	}
	if e.Field != "" {
		fmt.Fprintf(&b, ": %s", e.Field)
	}
	if e.Line > 0 {
		fmt.Fprintf(&b, ": %d:%d", e.Line, e.Column)
	}
	fmt.Fprintf(&b, ": %v", e.Err)
	return b.String()
}

func (e *LoadError) Unwrap() error { return e.Err }

// LoadErrors is every LoadError of one Load.
type LoadErrors []*LoadError

func (l LoadErrors) Error() string {
	msgs := make([]string, len(l))
	for i, e := range l {
		msgs[i] = e.Error()
	}
	return strings.Join(msgs, "\n")
}

func (l LoadErrors) Unwrap() []error {
	out := make([]error, len(l))
	for i, e := range l {
		out[i] = e
	}
	return out
}
