package kube

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic/dynamicinformer"
	"k8s.io/client-go/tools/cache"

	"github.com/trueup-dev/trueup/drift"
)

// WatchEventType says what happened to a watched object.
type WatchEventType string

const (
	WatchAdded   WatchEventType = "added"
	WatchUpdated WatchEventType = "updated"
	WatchDeleted WatchEventType = "deleted"
	// WatchError: a kind's watch failed (it is retried with backoff); Err
	// says why. Until it recovers, only a periodic full resync sees changes.
	WatchError WatchEventType = "error"
)

// WatchEvent is one change of a managed object.
type WatchEvent struct {
	Type WatchEventType
	// Target is the object's trueup.dev/target label.
	Target          string
	Ref             drift.ObjectRef
	ResourceVersion string
	// Object is the object's identity and metadata after the change (for a
	// deletion: its last known ones): apiVersion, kind, name, namespace,
	// uid, resourceVersion, the trueup.dev/target label and annotations
	// (kubectl's last-applied-configuration left out), not its content nor
	// its other labels: Watcher.Live decodes those from the cache.
	Object *unstructured.Unstructured
	// Initial marks the added events of a kind's initial list.
	Initial bool
	// Err is set for WatchError.
	Err error
}

// watchSelector selects managed objects and leaves out inventories.
const watchSelector = LabelTarget + ",!" + LabelInventory

// Watcher watches managed objects cluster-wide, one informer per kind, and
// keeps them in a cache that Live reads. Build it with Cluster.Watch.
type Watcher struct {
	c       *Cluster
	ctx     context.Context
	onEvent func(WatchEvent)

	mu    sync.Mutex
	kinds map[schema.GroupVersionKind]*informer
	// failed are the kinds whose cache did not sync in time: they were
	// stopped, and Live does not serve them (callers read them directly).
	failed map[schema.GroupVersionKind]*SyncError
	wg     sync.WaitGroup
	done   chan struct{}
	closed bool
}

// Watch starts watching the objects labelled trueup.dev/target of the given
// kinds, cluster-wide, and calls onEvent for every change. It returns once
// the caches of the kinds are filled (or ctx ends: then with an error, and
// the watcher stops). Add more kinds later with Add.
//
// onEvent is called from the informers' goroutines, concurrently for
// different kinds and in order for one kind; it must not block. The watcher
// stops when ctx ends; Done is closed when every informer has stopped.
func (c *Cluster) Watch(ctx context.Context, gvks []schema.GroupVersionKind, onEvent func(WatchEvent)) (*Watcher, error) {
	w := &Watcher{
		c: c, ctx: ctx, onEvent: onEvent,
		kinds:  map[schema.GroupVersionKind]*informer{},
		failed: map[schema.GroupVersionKind]*SyncError{},
		done:   make(chan struct{}),
	}
	go func() {
		<-ctx.Done()
		w.mu.Lock()
		w.closed = true
		w.mu.Unlock()
		w.wg.Wait()
		close(w.done)
	}()
	return w, w.Add(ctx, gvks...)
}

// informer is one kind's informer, stoppable on its own, with the last
// error its list or watch reported.
type informer struct {
	inf     cache.SharedIndexInformer
	stop    context.CancelFunc
	mapping *meta.RESTMapping
	lastErr error
}

// Add watches more kinds; kinds already watched are skipped. It returns
// once their caches are filled, or with an error when ctx (or the
// watcher's) ends first or a kind is not served; the other kinds are still
// added. Bound ctx with a deadline: a kind whose cache is not filled when
// ctx's deadline passes (its list is forbidden cluster-wide, or the API
// server does not answer) is stopped and returned as a *SyncError, and
// Watching reports false for it, so callers read it from the API server.
func (w *Watcher) Add(ctx context.Context, gvks ...schema.GroupVersionKind) error {
	var errs []error
	var started []schema.GroupVersionKind
	var syncs []cache.InformerSynced
	for _, gvk := range gvks {
		inf, err := w.start(gvk)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if inf != nil {
			started = append(started, gvk)
			syncs = append(syncs, inf.inf.HasSynced)
		}
	}
	if len(syncs) > 0 {
		// Stop waiting when either the caller or the watcher is done.
		waitCtx, cancel := context.WithCancel(ctx)
		stop := context.AfterFunc(w.ctx, cancel)
		synced := cache.WaitForCacheSync(waitCtx.Done(), syncs...)
		stop()
		cancel()
		switch {
		case synced:
		case w.ctx.Err() == nil && ctx.Err() == context.DeadlineExceeded:
			errs = append(errs, w.giveUp(started)...)
		default:
			errs = append(errs, fmt.Errorf("watch: caches not synced: %w", errors.Join(ctx.Err(), w.ctx.Err())))
		}
	}
	return errors.Join(errs...)
}

// giveUp stops the informers of gvks that have not synced and remembers why.
func (w *Watcher) giveUp(gvks []schema.GroupVersionKind) []error {
	w.mu.Lock()
	defer w.mu.Unlock()
	var errs []error
	for _, gvk := range gvks {
		inf, ok := w.kinds[gvk]
		if !ok || inf.inf.HasSynced() {
			continue
		}
		inf.stop()
		delete(w.kinds, gvk)
		se := &SyncError{GVK: gvk, Resource: inf.mapping.Resource, Err: inf.lastErr}
		w.failed[gvk] = se
		errs = append(errs, se)
	}
	return errs
}

// SyncError reports why a kind was not watched: its cache did not fill
// before the caller's deadline. Err is the last list or watch error (a 403
// when the identity may not list the kind cluster-wide), or nil when the
// API server did not answer at all.
type SyncError struct {
	GVK      schema.GroupVersionKind
	Resource schema.GroupVersionResource
	Err      error
}

func (e *SyncError) Error() string {
	what := fmt.Sprintf("watch %s (%s): cache not synced in time", e.GVK.Kind, e.Resource.GroupResource())
	if e.Err != nil {
		what += ": " + e.Err.Error()
	}
	return what + "; reading " + e.GVK.Kind + " objects from the API server instead; " + e.hint()
}

func (e *SyncError) Unwrap() error { return e.Err }

// Forbidden reports whether the identity may not list or watch the kind.
func (e *SyncError) Forbidden() bool { return apierrors.IsForbidden(e.Err) }

// hint says what to do next.
func (e *SyncError) hint() string {
	if !e.Forbidden() {
		return "check that the API server answers list and watch requests for " + e.Resource.Resource
	}
	return fmt.Sprintf("to watch it, grant trueup's identity the verbs list and watch on resource %q in API group %q cluster-wide (a ClusterRole bound with a ClusterRoleBinding)",
		e.Resource.Resource, e.Resource.Group)
}

// SyncError returns why gvk is not watched after Add gave up on it, or nil.
func (w *Watcher) SyncError(gvk schema.GroupVersionKind) *SyncError {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.failed[gvk]
}

// start runs an informer for gvk unless one runs already (then nil).
func (w *Watcher) start(gvk schema.GroupVersionKind) (*informer, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.closed {
		return nil, fmt.Errorf("watch %s: watcher stopped", gvk)
	}
	if _, ok := w.kinds[gvk]; ok {
		return nil, nil
	}
	mapping, err := w.c.mapper.RESTMapping(gvk.GroupKind(), gvk.Version)
	if err != nil {
		return nil, fmt.Errorf("watch %s: %w", gvk, err)
	}
	inf := &informer{mapping: mapping}
	inf.inf = dynamicinformer.NewFilteredDynamicInformer(w.c.watchDynamic, mapping.Resource, metav1.NamespaceAll, 0,
		cache.Indexers{}, func(o *metav1.ListOptions) { o.LabelSelector = watchSelector }).Informer()
	if err := inf.inf.SetTransform(compact); err != nil {
		return nil, fmt.Errorf("watch %s: %w", gvk, err)
	}
	if _, err := inf.inf.AddEventHandler(w.handler()); err != nil {
		return nil, fmt.Errorf("watch %s: %w", gvk, err)
	}
	if err := inf.inf.SetWatchErrorHandlerWithContext(func(_ context.Context, _ *cache.Reflector, err error) {
		w.mu.Lock()
		inf.lastErr = err
		w.mu.Unlock()
		w.onEvent(WatchEvent{Type: WatchError, Ref: drift.ObjectRef{Group: gvk.Group, Version: gvk.Version, Kind: gvk.Kind}, Err: fmt.Errorf("watch %s: %w", gvk, err)})
	}); err != nil {
		return nil, fmt.Errorf("watch %s: %w", gvk, err)
	}
	w.kinds[gvk] = inf
	delete(w.failed, gvk)
	ctx, stop := context.WithCancel(w.ctx)
	inf.stop = stop
	w.wg.Go(func() { inf.inf.RunWithContext(ctx) })
	return inf, nil
}

func (w *Watcher) handler() cache.ResourceEventHandler {
	return cache.ResourceEventHandlerDetailedFuncs{
		AddFunc: func(obj any, initial bool) { w.emit(WatchAdded, obj, initial) },
		UpdateFunc: func(_, obj any) {
			w.emit(WatchUpdated, obj, false)
		},
		DeleteFunc: func(obj any) {
			if tomb, ok := obj.(cache.DeletedFinalStateUnknown); ok {
				obj = tomb.Obj
			}
			w.emit(WatchDeleted, obj, false)
		},
	}
}

func (w *Watcher) emit(t WatchEventType, obj any, initial bool) {
	c, ok := obj.(*cachedObject)
	if !ok {
		return
	}
	w.onEvent(WatchEvent{
		Type:            t,
		Target:          c.target,
		Ref:             c.ref(),
		ResourceVersion: c.ResourceVersion,
		Object:          c.metadata(),
		Initial:         initial,
	})
}

// Live returns a copy of the cached live object, if its kind (exact
// version) is watched and the object exists with the target label.
func (w *Watcher) Live(ref drift.ObjectRef) (*unstructured.Unstructured, bool) {
	c, ok := w.cached(ref)
	if !ok {
		return nil, false
	}
	u, err := c.object()
	if err != nil {
		return nil, false
	}
	return u, true
}

// Version returns the cached object's resourceVersion and owner without
// decoding the object, if its kind is watched and the object exists with
// the target label: what a reconcile needs to tell whether its last
// comparison still holds.
func (w *Watcher) Version(ref drift.ObjectRef) (rv string, owner LiveOwner, ok bool) {
	c, ok := w.cached(ref)
	if !ok {
		return "", LiveOwner{}, false
	}
	return c.ResourceVersion, c.owner(), true
}

// cached returns the cache's entry of ref.
func (w *Watcher) cached(ref drift.ObjectRef) (*cachedObject, bool) {
	w.mu.Lock()
	inf, ok := w.kinds[GVK(ref)]
	w.mu.Unlock()
	if !ok {
		return nil, false
	}
	key := ref.Name
	if ref.Namespace != "" {
		key = ref.Namespace + "/" + ref.Name
	}
	obj, exists, err := inf.inf.GetIndexer().GetByKey(key)
	if err != nil || !exists {
		return nil, false
	}
	c, ok := obj.(*cachedObject)
	return c, ok
}

// Watching reports whether gvk is watched and its cache is filled, so that
// an object missing from Live is really missing from the cluster.
func (w *Watcher) Watching(gvk schema.GroupVersionKind) bool {
	w.mu.Lock()
	inf, ok := w.kinds[gvk]
	w.mu.Unlock()
	return ok && inf.inf.HasSynced()
}

// Kinds returns the watched kinds, sorted.
func (w *Watcher) Kinds() []schema.GroupVersionKind {
	w.mu.Lock()
	defer w.mu.Unlock()
	out := make([]schema.GroupVersionKind, 0, len(w.kinds))
	for gvk := range w.kinds {
		out = append(out, gvk)
	}
	slices.SortFunc(out, func(a, b schema.GroupVersionKind) int {
		return compareRefs(drift.ObjectRef{Group: a.Group, Version: a.Version, Kind: a.Kind}, drift.ObjectRef{Group: b.Group, Version: b.Version, Kind: b.Kind})
	})
	return out
}

// Done is closed when the watcher has stopped (its context ended and every
// informer returned).
func (w *Watcher) Done() <-chan struct{} { return w.done }
