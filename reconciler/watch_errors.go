package reconciler

import (
	"fmt"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/trueup-dev/trueup/reconciler/kube"
)

// watchFailed handles a kind's failed watch. The watcher retries it with
// backoff (800ms, doubling, jittered, to about a minute), each time listing
// the kind again: a kind that trueup may list but not watch is refreshed
// only by those lists and by each target's full resync, so a live edit is
// seen up to about a minute late instead of within a second or two. That
// is logged once per kind and cluster, with what to grant. Other failures
// (an expired watch, a connection reset) are routine and retried, and
// logged at debug level, as are the repeated refusals and a failure before
// the kind's cache filled (watchKinds reports that one: kube.SyncError).
func (r *Reconciler) watchFailed(d *Destination, ev kube.WatchEvent) {
	gvk := ev.Ref.GroupVersionKind()
	if !d.firstRefusal(gvk, ev.Err) {
		r.log.Debug("watch failed; retried", "cluster", d.Cluster.Name(), "kind", gvk.String(), "error", errString(ev.Err))
		return
	}
	r.log.Warn("kind listed but not watched: its live edits are seen late, when the refused watch is retried with a new list (backing off to about a minute)",
		"cluster", d.Cluster.Name(), "kind", gvk.String(), "grant", watchGrant(d, gvk.GroupKind(), gvk.Version), "error", errString(ev.Err))
}

// firstRefusal says whether err is the first refusal (403) of the watch
// of gvk, whose cache is filled (it was listed), on d's cluster.
func (d *Destination) firstRefusal(gvk schema.GroupVersionKind, err error) bool {
	w := d.liveWatcher()
	if !apierrors.IsForbidden(err) || w == nil || !w.Watching(gvk) {
		return false
	}
	d.watch.mu.Lock()
	defer d.watch.mu.Unlock()
	if d.watch.refused[gvk] {
		return false
	}
	if d.watch.refused == nil {
		d.watch.refused = map[schema.GroupVersionKind]bool{}
	}
	d.watch.refused[gvk] = true
	return true
}

// watchGrant says what to grant trueup's identity so it may watch a kind.
func watchGrant(d *Destination, gk schema.GroupKind, version string) string {
	resource, group := gk.Kind, gk.Group
	if m, err := d.Cluster.Mapper().RESTMapping(gk, version); err == nil {
		resource, group = m.Resource.Resource, m.Resource.Group
	}
	return fmt.Sprintf("the verb watch (with list) on resource %q in API group %q cluster-wide, in a ClusterRole bound to trueup's identity with a ClusterRoleBinding", resource, group)
}

func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}
