package policy

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"slices"
	"sort"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"k8s.io/apiserver/pkg/cel/environment"
	"sigs.k8s.io/yaml"
)

const (
	kindPolicy  = "ValidatingAdmissionPolicy"
	kindBinding = "ValidatingAdmissionPolicyBinding"
)

var admissionV1 = admissionregistrationv1.SchemeGroupVersion.String()

// Set is a compiled library of policies with their bindings and
// exceptions. It is immutable and safe for concurrent use.
type Set struct {
	policies   []*compiled
	exceptions []*Exception
	errs       LoadErrors
	opts       options
}

// Load reads policy files (file name -> content; each a multi-document
// YAML file) holding ValidatingAdmissionPolicy and
// ValidatingAdmissionPolicyBinding documents (admissionregistration.k8s.io/v1)
// and PolicyException documents (policy.trueup.dev/v1alpha1), and compiles
// every expression.
//
// A broken document does not stop the others: Load always returns a Set
// with every usable policy, and, when some document was not usable, a
// LoadErrors listing each one (file, document, policy, field path, and for
// CEL errors the line:column in the expression). Files load in name order,
// documents in file order, and policies evaluate in that order.
func Load(files map[string][]byte, opts ...Option) (*Set, error) {
	s := &Set{opts: defaultOptions()}
	for _, o := range opts {
		o(&s.opts)
	}
	l := &loader{set: s, env: environment.MustBaseEnvSet(environment.DefaultCompatibilityVersion()), names: map[string]bool{}}
	names := make([]string, 0, len(files))
	for name := range files {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		l.file(name, files[name])
	}
	l.bind()
	l.checkExceptions()
	if len(s.errs) > 0 {
		return s, s.errs
	}
	return s, nil
}

// With returns a view of the set with more options (a cluster's
// Resourcer, its namespaces); the compiled policies are shared.
func (s *Set) With(opts ...Option) *Set {
	cp := *s
	for _, o := range opts {
		o(&cp.opts)
	}
	return &cp
}

// Policies describes the usable policies, in evaluation order.
func (s *Set) Policies() []Info {
	out := make([]Info, len(s.policies))
	for i, c := range s.policies {
		out[i] = Info{Name: c.spec.Name, File: c.file, Severity: c.severity, Action: c.action}
	}
	return out
}

// Exceptions returns the loaded exceptions, expired ones included.
func (s *Set) Exceptions() []Exception {
	out := make([]Exception, len(s.exceptions))
	for i, e := range s.exceptions {
		out[i] = *e
	}
	return out
}

// Errors returns the documents Load could not use (the error Load returned).
func (s *Set) Errors() LoadErrors { return slices.Clone(s.errs) }

type loader struct {
	set *Set
	env *environment.EnvSet
	// names of every policy document seen, usable or not.
	names    map[string]bool
	bindings []pendingBinding
	where    map[*Exception]docRef
}

type docRef struct {
	file      string
	doc       int
	kind, obj string
}

type pendingBinding struct {
	docRef
	policy string
	match  admissionregistrationv1.MatchResources
}

func (l *loader) fail(at docRef, errs ...*LoadError) {
	for _, e := range errs {
		e.File, e.Document, e.Kind = at.file, at.doc, at.kind
		if e.Name == "" {
			e.Name = at.obj
		}
		l.set.errs = append(l.set.errs, e)
	}
}

// header is what a document says it is.
type header struct {
	APIVersion string `json:"apiVersion"`
	Kind       string `json:"kind"`
	Metadata   struct {
		Name string `json:"name"`
	} `json:"metadata"`
}

func (l *loader) file(name string, data []byte) {
	r := utilyaml.NewYAMLReader(bufio.NewReader(bytes.NewReader(data)))
	n := 0
	for {
		doc, err := r.Read()
		if errors.Is(err, io.EOF) {
			return
		}
		if err != nil {
			l.fail(docRef{file: name, doc: n + 1}, &LoadError{Err: fmt.Errorf("read YAML: %w", err)})
			return
		}
		var probe any
		if err := yaml.Unmarshal(doc, &probe); err == nil && probe == nil {
			continue // empty or comments only
		}
		n++
		l.document(docRef{file: name, doc: n}, doc)
	}
}

func (l *loader) document(at docRef, doc []byte) {
	var h header
	if err := yaml.Unmarshal(doc, &h); err != nil {
		l.fail(at, &LoadError{Err: fmt.Errorf("not a Kubernetes-style object: %w", err)})
		return
	}
	at.kind, at.obj = h.Kind, h.Metadata.Name
	switch {
	case h.APIVersion == admissionV1 && h.Kind == kindPolicy:
		l.policy(at, doc)
	case h.APIVersion == admissionV1 && h.Kind == kindBinding:
		l.binding(at, doc)
	case h.APIVersion == ExceptionAPIVersion && h.Kind == ExceptionKind:
		e, errs := parseException(doc)
		l.fail(at, errs...)
		if len(errs) == 0 {
			e.File = at.file
			l.set.exceptions = append(l.set.exceptions, e)
			if l.where == nil {
				l.where = map[*Exception]docRef{}
			}
			l.where[e] = at
		}
	default:
		l.fail(at, &LoadError{Field: "kind", Err: fmt.Errorf("unsupported %q %q: want %s or %s (%s), or %s (%s)",
			h.APIVersion, h.Kind, kindPolicy, kindBinding, admissionV1, ExceptionKind, ExceptionAPIVersion)})
	}
}

func (l *loader) policy(at docRef, doc []byte) {
	var p admissionregistrationv1.ValidatingAdmissionPolicy
	if err := yaml.UnmarshalStrict(doc, &p); err != nil {
		l.fail(at, &LoadError{Err: err})
		return
	}
	settings, errs := checkPolicy(&p)
	if p.Name != "" && l.names[p.Name] {
		errs = append(errs, &LoadError{Field: "metadata.name", Err: fmt.Errorf("a policy named %q is already loaded", p.Name)})
	}
	l.names[p.Name] = true
	if len(errs) > 0 {
		l.fail(at, errs...)
		return
	}
	c, errs := compilePolicy(&p, l.env)
	if len(errs) > 0 {
		l.fail(at, errs...)
		return
	}
	c.file, c.severity, c.action, c.failOpen = at.file, settings.severity, settings.action, settings.failOpen
	l.set.policies = append(l.set.policies, c)
}

func (l *loader) binding(at docRef, doc []byte) {
	var b admissionregistrationv1.ValidatingAdmissionPolicyBinding
	if err := yaml.UnmarshalStrict(doc, &b); err != nil {
		l.fail(at, &LoadError{Err: err})
		return
	}
	errs := checkBinding(&b)
	if len(errs) > 0 {
		l.fail(at, errs...)
		return
	}
	if !slices.Contains(b.Spec.ValidationActions, admissionregistrationv1.Deny) {
		return // Warn and Audit are what trueup does anyway
	}
	pb := pendingBinding{docRef: at, policy: b.Spec.PolicyName}
	if b.Spec.MatchResources != nil {
		pb.match = *b.Spec.MatchResources
	}
	l.bindings = append(l.bindings, pb)
}

// bind attaches the Deny bindings to their policies once every file is
// read; a binding of a broken policy is dropped with it.
func (l *loader) bind() {
	for _, b := range l.bindings {
		if !l.names[b.policy] {
			l.fail(b.docRef, &LoadError{Field: "spec.policyName", Err: fmt.Errorf("no %s named %q", kindPolicy, b.policy)})
			continue
		}
		for _, c := range l.set.policies {
			if c.spec.Name == b.policy {
				c.denyBindings = append(c.denyBindings, b.match)
			}
		}
	}
}

// checkExceptions drops the exceptions of policies that were never
// defined: a typo would otherwise exempt nothing, silently.
func (l *loader) checkExceptions() {
	kept := l.set.exceptions[:0]
	for _, e := range l.set.exceptions {
		if l.names[e.Policy] {
			kept = append(kept, e)
			continue
		}
		l.fail(l.where[e], &LoadError{Field: "spec.policy", Err: fmt.Errorf("no %s named %q", kindPolicy, e.Policy)})
	}
	l.set.exceptions = kept
}
