// Package policy evaluates guardrails written as Kubernetes
// ValidatingAdmissionPolicies on trueup's objects: desired state before an
// apply, live state for compliance drift, and pull-request previews. It is
// pure: no clients, no logging, the time passed in.
//
// # Policies
//
// A policy is an admissionregistration.k8s.io/v1 ValidatingAdmissionPolicy,
// the same document a cluster takes. Its expressions compile with the
// apiserver's own CEL compiler, environment (stored-expression mode) and
// libraries, so an expression that works in a cluster works here unchanged:
// object, oldObject, request (kind, resource, name, namespace, operation,
// userInfo), namespaceObject, variables.<name> (lazy, in order), params
// (always null: trueup has no param objects), and authorizer (bound only
// when WithAuthorizer is given; otherwise using it is an evaluation error).
// Evaluation follows the apiserver's validator: matchConditions (one false
// means the policy does not apply, else an error is a finding), then
// validations, then messageExpressions, within the apiserver's cost limits
// (PerCallLimit per expression, RuntimeCELCostBudget per policy,
// RuntimeCELCostBudgetMatchConditions for matchConditions). A spent budget
// is an evaluation error, never a pass. auditAnnotations are not evaluated.
//
// trueup reads two annotations on a policy: policy.trueup.dev/severity
// (info, warning (default), critical) and policy.trueup.dev/action (warn
// (default) or enforce: an enforced finding blocks the apply). A policy
// applies without any binding. A ValidatingAdmissionPolicyBinding is only
// read for one thing: when its validationActions contain Deny, the policy
// is enforced for the objects the binding's matchResources select (all of
// them when it has none). Warn and Audit change nothing; paramRef is
// ignored. failurePolicy Ignore makes evaluation errors fail open: they are
// reported but do not block.
//
// # Matching
//
// matchConstraints work as in the apiserver: resourceRules (apiGroups,
// apiVersions, resources with "*", operations, scope, resourceNames),
// excludeResourceRules, objectSelector (labels of the object or the old
// object) and namespaceSelector (cluster-scoped objects always match; a
// Namespace matches on its own labels; a namespaced object needs its
// namespace's labels from WithNamespaceLabels, and without them only an
// empty selector matches). matchPolicy Equivalent is treated as Exact. The
// resource of a kind comes from WithResourcer (a RESTMapper), falling back
// to GuessResource (Deployment -> deployments, S3Bucket -> s3buckets), so
// AWS objects (aws.trueup.dev/v1alpha1 S3Bucket, SecurityGroup, IAMRole,
// IAMPolicy) match rules on apiGroups ["aws.trueup.dev"] and resources
// like ["s3buckets"].
//
// The operation is derived from what is evaluated: Evaluate(desired, nil)
// is a CREATE (nothing live yet, or a live object audited on its own),
// Evaluate(desired, live) an UPDATE, Evaluate(nil, live) a DELETE (a
// prune). request.options is the PatchOptions of a server-side apply with
// field manager trueup (DeleteOptions for a DELETE); request.dryRun is
// false, as for the real apply.
//
// # Exceptions
//
// A PolicyException (policy.trueup.dev/v1alpha1, in the same files) exempts
// one object from one policy until it expires; see Exception. An exempt
// finding is kept, marked with Excepted, and does not block. After expiry
// the finding blocks again and names the expired exception and its approver
// (ExpiredException, Note).
//
// # Loading and errors
//
// Load never lets one broken document stop the others: it returns a Set of
// the usable policies and a LoadErrors naming, for each broken document, the
// file, document index, kind, name, field path (spec.validations[1].expression,
// spec.variables[0].expression, spec.matchConditions[0].expression,
// spec.validations[0].messageExpression, ...) and, for a CEL error, the
// line:column in the expression.
//
// Secret values never leave the package: on a core Secret a finding uses
// the static message (never the messageExpression's output) and withholds
// evaluation error details, which can quote the values an expression read.
//
// Findings carry a stable ID (policy, validation, object identity without
// its version) for compliance episodes; Blocking selects those that stop an
// apply.
package policy
