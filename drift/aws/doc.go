// Package aws detects drift between desired AWS resources and a live
// account.
//
// # Desired resources
//
// Desired resources are Kubernetes-style objects with apiVersion
// aws.trueup.dev/v1alpha1 and kind S3Bucket, IAMRole, IAMPolicy or
// SecurityGroup; metadata.name is the bucket, role, policy or group name.
// Spec fields are the camelCase of the AWS API's member names, as in AWS
// Controllers for Kubernetes (see S3BucketSpec, IAMRoleSpec, IAMPolicySpec,
// SecurityGroupSpec). Decode checks an object strictly: an unknown field, a
// value of the wrong type or a bad enum value is an *InvalidError naming the
// field path, with a suggestion for likely typos
// (S3Bucket/logs: spec.versionning: unknown field (did you mean
// versioning?)).
//
// # Comparison
//
// Account.Compare reads the live state of desired resources and renders
// each in the same shape as the desired object, so drift.DiffFields reports
// JSON pointers under /spec with live and desired values. Only the fields a
// spec sets are compared, as with server-side apply: a field Git does not
// manage is never drift. Maps that a spec sets (tags, inline policies) are
// managed as a whole: an extra user tag or inline policy is drift, while
// trueup's own tags (trueup.dev/target, trueup.dev/managed-by) never are.
// Policy documents compare in the canonical form of NormalizePolicy (key
// order, one string or a one-element list, Statement as object or list,
// URL-encoded documents, the default Version); security group rules and
// attached policy ARNs compare as sets, aligned to the desired order so an
// added, removed or changed element keeps a stable path.
//
// # Reading
//
// An Account holds the SDK clients of one account and region, built once
// from a Config (region, endpoint, default chain, profile, assumed role
// with an external id, or static test credentials) and reused: the SDK's
// standard retryer with capped attempts, a deadline on each attempt
// (Config.CallTimeout, until the response is read), a bound on requests in
// flight and a client-side rate limit apply to every call. The caller's
// context bounds a whole read (the reconciler passes the target's timeout). CheckIdentity asks STS who
// the credentials are and refuses (ErrWrongAccount) any account but the
// configured one; Compare, Observe, Managed and Unmanaged check it first.
// Reads use paginated listings where AWS has them: one ListBuckets, one
// DescribeSecurityGroups per 200 names, and, from Config.BulkThreshold
// resources of a kind on, ListRoles and GetAccountAuthorizationDetails
// instead of a describe call per role or policy.
//
// A read that fails (throttling, a 5xx, access denied, a timeout, a network
// error, a listing whose pagination breaks off) makes the resources it
// concerns Unknown, with a *ReadError (ErrUnknown, plus ErrThrottled,
// ErrServer, ErrAccessDenied, ErrTimeout or ErrPartialList) in the report:
// never drifted, never missing.
//
// # Inventory
//
// Managed lists what carries a target's tags (what a prune may delete);
// Unmanaged lists resources of the supported kinds that no target declares,
// as driftctl does. A failed listing is a *ListError per kind, which
// UnknownListings turns into Unknown reports ("Kind/*") saying what is
// unknown and why. An ActorResolver may attribute drifted resources to a
// principal (package cloudtrail: the newest CloudTrail event seen on the
// account's queue, LookupEvents, or the trail's log files); without one
// (the default) every drifted field says "actor unknown (no CloudTrail)".
//
// The package only reads: it never writes to the account, logs, notifies
// or decides what to do about drift. reconciler/aws writes, through the
// Account's clients.
package aws
