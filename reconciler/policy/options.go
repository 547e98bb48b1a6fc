package policy

import (
	"strings"
	"unicode"

	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apiserver/pkg/authentication/user"
	"k8s.io/apiserver/pkg/authorization/authorizer"
)

// Resourcer maps a kind to its plural resource name, as a RESTMapper does.
// ok is false when the kind is unknown; trueup then falls back to
// GuessResource.
type Resourcer func(schema.GroupVersionKind) (resource string, ok bool)

// NamespaceLabels returns the labels of a namespace, ok false when the
// namespace is not known.
type NamespaceLabels func(namespace string) (labels map[string]string, ok bool)

// Option configures a Set; see Load and Set.With.
type Option func(*options)

type options struct {
	resourcer  Resourcer
	namespaces NamespaceLabels
	user       user.Info
	authz      authorizer.UnconditionalAuthorizer
}

func defaultOptions() options {
	return options{user: &user.DefaultInfo{Name: DefaultUsername}}
}

// DefaultUsername is request.userInfo.username when WithUser is not given.
const DefaultUsername = "trueup"

// WithResourcer maps kinds to resources for matchConstraints.resourceRules
// and request.resource. Pass one backed by the cluster's RESTMapper.
func WithResourcer(r Resourcer) Option { return func(o *options) { o.resourcer = r } }

// WithNamespaceLabels lets namespaceSelector match namespaced objects and
// sets namespaceObject (its metadata.name and metadata.labels). Without it,
// a namespaced object matches only an empty namespaceSelector, and
// namespaceObject is null.
func WithNamespaceLabels(f NamespaceLabels) Option { return func(o *options) { o.namespaces = f } }

// WithUser sets request.userInfo and the user the authorizer checks: the
// identity trueup applies as.
func WithUser(u user.Info) Option { return func(o *options) { o.user = u } }

// WithAuthorizer binds the authorizer variable. Without it an expression
// that uses authorizer is an evaluation error, never a pass.
func WithAuthorizer(a authorizer.UnconditionalAuthorizer) Option {
	return func(o *options) { o.authz = a }
}

func (o *options) resource(gvk schema.GroupVersionKind) string {
	if o.resourcer != nil {
		if r, ok := o.resourcer(gvk); ok && r != "" {
			return r
		}
	}
	return GuessResource(gvk.Kind)
}

// GuessResource returns the lowercase plural of a kind, the default when no
// Resourcer knows it: Deployment -> deployments, NetworkPolicy ->
// networkpolicies, Ingress -> ingresses, Gateway -> gateways, S3Bucket ->
// s3buckets.
func GuessResource(kind string) string {
	k := strings.ToLower(kind)
	switch {
	case k == "":
		return ""
	case k == "endpoints":
		return k
	case strings.HasSuffix(k, "s"), strings.HasSuffix(k, "x"), strings.HasSuffix(k, "z"),
		strings.HasSuffix(k, "ch"), strings.HasSuffix(k, "sh"):
		return k + "es"
	case strings.HasSuffix(k, "y") && len(k) > 1 && !isVowel(rune(k[len(k)-2])):
		return k[:len(k)-1] + "ies"
	}
	return k + "s"
}

func isVowel(r rune) bool {
	return strings.ContainsRune("aeiou", unicode.ToLower(r))
}
