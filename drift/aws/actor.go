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
// does not change what changed.
type ActorResolver interface {
	ResolveActor(ctx context.Context, ref drift.ObjectRef, arn string) (*drift.Actor, error)
}

// NopActorResolver attributes nothing; it is the default.
type NopActorResolver struct{}

// ResolveActor returns nil, nil.
func (NopActorResolver) ResolveActor(context.Context, drift.ObjectRef, string) (*drift.Actor, error) {
	return nil, nil
}

var _ ActorResolver = NopActorResolver{}
