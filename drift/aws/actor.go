package aws

import (
	"context"

	"github.com/trueup-dev/trueup/drift"
)

// ActorResolver tells who last changed a live resource: the seam for a
// CloudTrail lookup (LookupEvents by resource name, the newest write
// event's userIdentity.arn). Compare calls it for drifted resources only and
// puts the result on every drifted field (drift.Actor.Principal and Time).
//
// A nil Actor means "cannot tell". An error leaves the actor unknown as
// well; it never changes a report's status, since who changed a resource
// does not change what changed. Either way the drifted fields say so
// (drift.Actor.Unknown: ActorUnknown), so no reader takes a missing actor
// for "nobody".
type ActorResolver interface {
	ResolveActor(ctx context.Context, ref drift.ObjectRef, arn string) (*drift.Actor, error)
}

// What drifted cloud fields say when no principal is known: without a
// CloudTrail lookup (the default), or when the lookup found nothing or
// failed.
const (
	ActorNoCloudTrail = "actor unknown (no CloudTrail)"
	ActorUnknown      = "actor unknown (not found in CloudTrail)"
)

// NopActorResolver attributes nothing; it is the default.
type NopActorResolver struct{}

// ResolveActor says that without CloudTrail the actor is unknown.
func (NopActorResolver) ResolveActor(context.Context, drift.ObjectRef, string) (*drift.Actor, error) {
	return &drift.Actor{Unknown: ActorNoCloudTrail}, nil
}

var _ ActorResolver = NopActorResolver{}
