// Package aws applies desired AWS resources to an account: it creates what
// is missing, writes what drifted and prunes what left Git, and reports
// the outcome as a reconciler/kube Result, so the reconciler treats a
// cluster and an account the same way.
//
// Apply reads through drift/aws (the Account, its identity check and its
// comparison) and writes only the fields that drifted, with the API each
// needs: PutBucketVersioning, PutBucketEncryption, PutPublicAccessBlock
// (merged with the live flags Git does not set), PutBucketPolicy,
// UpdateAssumeRolePolicy, UpdateRole, Put/DeleteRolePolicy,
// Attach/DetachRolePolicy, CreatePolicyVersion (deleting the oldest
// non-default version at IAM's limit of five), Authorize/Revoke
// SecurityGroupIngress/Egress. Tags are merged: trueup's own tags
// (trueup.dev/target, trueup.dev/managed-by) are always set; user tags are
// made what Git says when the spec sets tags, and left alone otherwise.
// Fields AWS cannot change in place (a role's or policy's path, a policy's
// description, a group's description or VPC) fail with kube.ErrImmutable.
//
// Safety comes first. Credentials of another account stop the run before
// any read. A resource whose live state is unknown (throttled, 5xx, denied,
// partial listing) is not touched, and then nothing is pruned in the whole
// run. A resource tagged for another target is refused. Prune deletes only
// resources tagged for this target that Git no longer declares, only when
// enabled, never on an empty desired set without AllowEmpty, and never
// beyond Max or MaxPercent (kube.PlanPrune decides, so the semantics are
// the cluster's). A dry-run computes the same Result and writes nothing.
//
// Apply never logs or notifies; the caller records and reports the Result.
package aws
