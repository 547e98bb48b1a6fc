package aws

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"sync"
)

// DefaultPolicyVersion is the policy language version IAM assumes when a
// document has no Version element.
const DefaultPolicyVersion = "2008-10-17"

// NormalizePolicy returns the canonical form of an IAM policy document, so
// that two documents AWS evaluates the same way compare equal. doc is a
// decoded JSON object (map[string]any), a JSON string, or a URL-encoded
// JSON string as IAM returns documents. The rules:
//
//   - a missing Version is DefaultPolicyVersion;
//   - Statement is always a list, even when written as one object, and its
//     statements are sorted by their canonical JSON (evaluation does not
//     depend on their order);
//   - Action, NotAction, Resource, NotResource and every value list of
//     Principal, NotPrincipal and Condition are sorted lists of unique
//     strings, even when written as one string;
//   - condition values are strings (IAM compares them as text: true and
//     "true" are the same value), and an AWS principal given as a bare
//     account id is the account's root ARN, as IAM stores it;
//   - an empty Sid is no Sid.
//
// Other elements are kept as they are. It is pure; the result shares
// nothing with doc and has only map[string]any, []any and string values.
func NormalizePolicy(doc any) (map[string]any, error) {
	m, err := decodePolicy(doc)
	if err != nil {
		return nil, err
	}
	if v, ok := m["Version"]; !ok || v == nil {
		m["Version"] = DefaultPolicyVersion
	} else if _, ok := v.(string); !ok {
		return nil, errors.New("Version: must be a string")
	}
	stmts, err := normalizeStatements(m["Statement"])
	if err != nil {
		return nil, err
	}
	m["Statement"] = stmts
	return m, nil
}

// decodePolicy turns the accepted inputs into a fresh JSON object whose
// numbers are json.Number, so condition values keep their text.
func decodePolicy(doc any) (map[string]any, error) {
	var raw []byte
	switch d := doc.(type) {
	case string:
		s := strings.TrimSpace(d)
		if !strings.HasPrefix(s, "{") {
			unescaped, err := url.PathUnescape(s)
			if err != nil {
				return nil, fmt.Errorf("not a JSON object and not URL-encoded JSON: %w", err)
			}
			s = strings.TrimSpace(unescaped)
		}
		raw = []byte(s)
	case map[string]any:
		b, err := json.Marshal(d)
		if err != nil {
			return nil, fmt.Errorf("encode: %w", err)
		}
		raw = b
	case nil:
		return nil, errors.New("empty policy document")
	default:
		return nil, fmt.Errorf("must be an object or a JSON string, not %s", typeName(doc))
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var m map[string]any
	if err := dec.Decode(&m); err != nil {
		return nil, fmt.Errorf("not a JSON object: %w", err)
	}
	if dec.More() {
		return nil, errors.New("not a JSON object: data after the document")
	}
	if m == nil {
		return nil, errors.New("not a JSON object: null")
	}
	return m, nil
}

func normalizeStatements(v any) ([]any, error) {
	var list []any
	switch s := v.(type) {
	case map[string]any:
		list = []any{s}
	case []any:
		list = s
	case nil:
		return nil, errors.New("Statement: required")
	default:
		return nil, fmt.Errorf("Statement: must be an object or a list of objects, not %s", typeName(v))
	}
	type encoded struct {
		key string
		st  map[string]any
	}
	enc := make([]encoded, 0, len(list))
	for i, e := range list {
		st, ok := e.(map[string]any)
		if !ok {
			return nil, fmt.Errorf("Statement[%d]: must be an object, not %s", i, typeName(e))
		}
		if err := normalizeStatement(st); err != nil {
			return nil, fmt.Errorf("Statement[%d].%w", i, err)
		}
		b, _ := json.Marshal(st) // keys sorted: a canonical encoding
		enc = append(enc, encoded{key: string(b), st: st})
	}
	slices.SortStableFunc(enc, func(a, b encoded) int { return strings.Compare(a.key, b.key) })
	out := make([]any, len(enc))
	for i, e := range enc {
		out[i] = e.st
	}
	return out, nil
}

var statementLists = []string{"Action", "NotAction", "Resource", "NotResource"}

func normalizeStatement(st map[string]any) error {
	if sid, ok := st["Sid"]; ok && (sid == nil || sid == "") {
		delete(st, "Sid")
	}
	for _, k := range statementLists {
		if v, ok := st[k]; ok {
			l, err := stringSet(v, false)
			if err != nil {
				return fmt.Errorf("%s: %w", k, err)
			}
			st[k] = l
		}
	}
	for _, k := range []string{"Principal", "NotPrincipal"} {
		if v, ok := st[k]; ok {
			p, err := normalizePrincipal(v)
			if err != nil {
				return fmt.Errorf("%s: %w", k, err)
			}
			st[k] = p
		}
	}
	if v, ok := st["Condition"]; ok {
		c, err := normalizeCondition(v)
		if err != nil {
			return fmt.Errorf("Condition: %w", err)
		}
		st["Condition"] = c
	}
	for k, v := range st {
		st[k] = plainNumbers(v)
	}
	return nil
}

var accountID = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^\d{12}$`) })

// normalizePrincipal keeps "*" and turns every principal type's value into
// a sorted list; AWS account ids become root ARNs.
func normalizePrincipal(v any) (any, error) {
	if s, ok := v.(string); ok {
		if s == "*" {
			return s, nil
		}
		return nil, fmt.Errorf("must be \"*\" or an object, not %q", s)
	}
	m, ok := v.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("must be \"*\" or an object, not %s", typeName(v))
	}
	out := make(map[string]any, len(m))
	for typ, val := range m {
		l, err := stringSet(val, false)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", typ, err)
		}
		if typ == "AWS" {
			for i, p := range l {
				if s := p.(string); accountID().MatchString(s) {
					l[i] = "arn:aws:iam::" + s + ":root"
				}
			}
			l = sortUnique(l)
		}
		out[typ] = l
	}
	return out, nil
}

func normalizeCondition(v any) (any, error) {
	ops, ok := v.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("must be an object, not %s", typeName(v))
	}
	out := make(map[string]any, len(ops))
	for op, kv := range ops {
		m, ok := kv.(map[string]any)
		if !ok {
			return nil, fmt.Errorf("%s: must be an object, not %s", op, typeName(kv))
		}
		keys := make(map[string]any, len(m))
		for k, val := range m {
			l, err := stringSet(val, true)
			if err != nil {
				return nil, fmt.Errorf("%s.%s: %w", op, k, err)
			}
			keys[k] = l
		}
		out[op] = keys
	}
	return out, nil
}

// stringSet turns a string or a list of strings into a sorted list of
// unique strings. With scalars, booleans and numbers count as their text.
func stringSet(v any, scalars bool) ([]any, error) {
	var in []any
	if l, ok := v.([]any); ok {
		in = l
	} else {
		in = []any{v}
	}
	out := make([]any, 0, len(in))
	for _, e := range in {
		s, ok := scalarText(e, scalars)
		if !ok {
			return nil, fmt.Errorf("must be a string or a list of strings, not %s", typeName(e))
		}
		out = append(out, s)
	}
	return sortUnique(out), nil
}

func scalarText(v any, scalars bool) (string, bool) {
	switch x := v.(type) {
	case string:
		return x, true
	case json.Number:
		return x.String(), scalars
	case bool:
		if x {
			return "true", scalars
		}
		return "false", scalars
	}
	return "", false
}

func sortUnique(l []any) []any {
	slices.SortFunc(l, func(a, b any) int { return strings.Compare(a.(string), b.(string)) })
	return slices.CompactFunc(l, func(a, b any) bool { return a.(string) == b.(string) })
}

// plainNumbers replaces json.Number values left in elements the rules do
// not cover by int64 or float64, the types DiffFields works with.
func plainNumbers(v any) any {
	switch x := v.(type) {
	case json.Number:
		if i, err := x.Int64(); err == nil {
			return i
		}
		f, _ := x.Float64()
		return f
	case map[string]any:
		for k, e := range x {
			x[k] = plainNumbers(e)
		}
	case []any:
		for i, e := range x {
			x[i] = plainNumbers(e)
		}
	}
	return v
}

func typeName(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case string:
		return "a string"
	case bool:
		return "a boolean"
	case json.Number, int, int32, int64, float64:
		return "a number"
	case []any:
		return "a list"
	case map[string]any:
		return "an object"
	}
	return fmt.Sprintf("%T", v)
}

// Policy is a policy document in a spec (S3Bucket.spec.policy,
// IAMRole.spec.assumeRolePolicyDocument and inlinePolicies,
// IAMPolicy.spec.policyDocument). In YAML it is an object, or a string
// holding JSON; it is kept in the canonical form of NormalizePolicy.
type Policy struct {
	doc map[string]any
}

// NewPolicy parses and normalizes a document (see NormalizePolicy).
func NewPolicy(doc any) (*Policy, error) {
	m, err := NormalizePolicy(doc)
	if err != nil {
		return nil, err
	}
	return &Policy{doc: m}, nil
}

// UnmarshalJSON accepts an object or a string holding JSON.
func (p *Policy) UnmarshalJSON(b []byte) error {
	var v any
	if err := json.Unmarshal(b, &v); err != nil {
		return err
	}
	m, err := NormalizePolicy(v)
	if err != nil {
		return err
	}
	p.doc = m
	return nil
}

// MarshalJSON writes the canonical document.
func (p Policy) MarshalJSON() ([]byte, error) { return json.Marshal(p.doc) }

// JSON returns the canonical document as compact JSON, for the AWS APIs.
func (p *Policy) JSON() string {
	b, _ := json.Marshal(p.doc) // a normalized document always encodes
	return string(b)
}

// Equal reports whether two documents are the same once normalized.
func (p *Policy) Equal(q *Policy) bool {
	if p == nil || q == nil {
		return p == q
	}
	return p.JSON() == q.JSON()
}
