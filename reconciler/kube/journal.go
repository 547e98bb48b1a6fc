package kube

import (
	"context"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/trueup-dev/trueup/drift"
)

// Journal is told of each object change of an Apply (not of a dry-run):
// every apply and every prune deletion. Its methods are called from the
// apply's goroutines, concurrently.
type Journal interface {
	// Applying is called before the change is sent. An error stops the
	// object: it is reported failed and nothing is sent.
	Applying(Intent) error
	// Applied is called once the cluster accepted the change.
	Applied(Entry)
}

// BatchJournal is a Journal that takes the intents of a whole stage at once
// (one durable write instead of one per object). Apply calls ApplyingAll
// with every change of a stage before it sends any of them, and then not
// Applying for those changes. An error stops the whole stage: nothing of
// it is sent. An intent whose change was never sent (the process died
// first) is judged not accepted by Accepted, like one sent and lost.
type BatchJournal interface {
	Journal
	ApplyingAll([]Intent) error
}

// Intent is a change about to be sent: what the dry-run planned and the
// live object it planned it on, so that after a crash Accepted can tell from
// the live object whether the cluster took the change.
type Intent struct {
	Ref drift.ObjectRef `json:"ref"`
	// Action is created, configured or deleted.
	Action Action `json:"action"`
	// ResourceVersion and UID of the live object the dry-run compared
	// with; empty for an object to create or delete.
	ResourceVersion string `json:"resourceVersion,omitempty"`
	UID             string `json:"uid,omitempty"`
}

// Accepted reports whether the cluster took the intent's change, judging by
// the live object now: a creation exists, a deletion is gone (or under
// way), a
// configuration is a newer version (or incarnation) than the one the
// dry-run saw. Call it before anything else may have changed the object
// again (before the next apply of the target).
func (c *Cluster) Accepted(ctx context.Context, target string, in Intent) (bool, error) {
	live := &unstructured.Unstructured{}
	live.SetGroupVersionKind(GVK(in.Ref))
	err := c.client.Get(ctx, client.ObjectKey{Namespace: in.Ref.Namespace, Name: in.Ref.Name}, live)
	gone := apierrors.IsNotFound(err)
	switch {
	case err != nil && !gone:
		return false, objectErr(target, in.Ref, "read", cause(err))
	case in.Action == ActionDeleted:
		return gone || live.GetDeletionTimestamp() != nil, nil
	case gone:
		return false, nil
	case in.Action == ActionCreated:
		return true, nil
	}
	return live.GetResourceVersion() != in.ResourceVersion || string(live.GetUID()) != in.UID, nil
}
