package kube

import (
	"bytes"
	"encoding/json"
	"fmt"
	"sync"

	"github.com/klauspost/compress/zstd"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/tools/cache"

	"github.com/trueup-dev/trueup/drift"
)

// cachedObject is how the watch cache keeps a managed object: the metadata
// a reconcile looks at for every object (identity, resourceVersion, target
// label, annotations but kubectl's last-applied one) and the whole object as
// compressed JSON, decoded only when the object is compared. An object held as a decoded
// map costs several times its JSON (about 9 KB against 1.5 KB for a small
// Deployment with its managedFields), and the cache holds every managed
// object of the cluster: at 10,000 objects the maps were half the daemon's
// heap.
type cachedObject struct {
	metav1.TypeMeta
	// ObjectMeta holds no labels: target is the one a reconcile reads (a
	// map per object cost 300 bytes; the labels are in raw).
	metav1.ObjectMeta
	// target is the object's trueup.dev/target label.
	target string
	// raw is the object as JSON, compressed (zstd); never modified once
	// cached, so copies share it.
	raw []byte
}

// codec compresses the cached JSON. Compressed, a live object costs about
// a third of its JSON (its managedFields repeat its field names), and the
// cache holds every managed object of the cluster; an object is
// decompressed only when it is compared. Built on first use; the encoder
// and decoder are safe for concurrent use (each runs two at a time).
var codec = sync.OnceValues(func() (*jsonCodec, error) {
	enc, err := zstd.NewWriter(nil, zstd.WithEncoderLevel(zstd.SpeedFastest), zstd.WithEncoderConcurrency(2), zstd.WithLowerEncoderMem(true))
	if err != nil {
		return nil, err
	}
	dec, err := zstd.NewReader(nil, zstd.WithDecoderConcurrency(2), zstd.WithDecoderLowmem(true))
	if err != nil {
		return nil, err
	}
	return &jsonCodec{enc: enc, dec: dec}, nil
})

type jsonCodec struct {
	enc *zstd.Encoder
	dec *zstd.Decoder
}

var _ runtime.Object = (*cachedObject)(nil)

// DeepCopyObject copies the metadata; raw is immutable and shared.
func (c *cachedObject) DeepCopyObject() runtime.Object {
	cp := &cachedObject{TypeMeta: c.TypeMeta, target: c.target, raw: c.raw}
	c.ObjectMeta.DeepCopyInto(&cp.ObjectMeta)
	return cp
}

// compact is the watch informers' transform: it turns a listed or watched
// object into a cachedObject. It is idempotent, as client-go requires (an
// object may pass through it twice), and leaves tombstones alone.
func compact(obj any) (any, error) {
	u, ok := obj.(*unstructured.Unstructured)
	if !ok {
		return obj, nil // a cachedObject already, or a tombstone
	}
	// json.Marshal returns a copy of its exact size; u.MarshalJSON would
	// keep its encoder's buffer, up to twice as large.
	raw, err := json.Marshal(u.Object)
	if err != nil {
		return nil, fmt.Errorf("watch cache: encode %s: %w", RefOf(u), err)
	}
	zc, err := codec()
	if err != nil {
		return nil, fmt.Errorf("watch cache: encode %s: %w", RefOf(u), err)
	}
	// EncodeAll's output has room to spare: cloned to its exact size.
	raw = bytes.Clone(zc.enc.EncodeAll(raw, make([]byte, 0, len(raw)/2)))
	c := &cachedObject{
		TypeMeta: metav1.TypeMeta{APIVersion: u.GetAPIVersion(), Kind: u.GetKind()},
		ObjectMeta: metav1.ObjectMeta{
			Name: u.GetName(), Namespace: u.GetNamespace(), UID: u.GetUID(),
			ResourceVersion: u.GetResourceVersion(),
		},
		target: u.GetLabels()[LabelTarget],
		raw:    raw,
	}
	if ann := u.GetAnnotations(); len(ann) > 0 {
		delete(ann, drift.LastAppliedAnnotation) // a copy: GetAnnotations returns a new map
		c.Annotations = ann
	}
	return c, nil
}

var _ cache.TransformFunc = compact

// object decodes the cached object.
func (c *cachedObject) object() (*unstructured.Unstructured, error) {
	zc, err := codec()
	if err != nil {
		return nil, fmt.Errorf("watch cache: decode %s/%s: %w", c.Kind, c.Name, err)
	}
	raw, err := zc.dec.DecodeAll(c.raw, nil)
	if err != nil {
		return nil, fmt.Errorf("watch cache: decode %s/%s: %w", c.Kind, c.Name, err)
	}
	u := &unstructured.Unstructured{}
	if err := u.UnmarshalJSON(raw); err != nil {
		return nil, fmt.Errorf("watch cache: decode %s/%s: %w", c.Kind, c.Name, err)
	}
	return u, nil
}

// metadata returns the object's identity and cached metadata as an
// unstructured object without its content (of its labels, the target's).
func (c *cachedObject) metadata() *unstructured.Unstructured {
	u := &unstructured.Unstructured{Object: map[string]any{}}
	u.SetAPIVersion(c.APIVersion)
	u.SetKind(c.Kind)
	u.SetName(c.Name)
	u.SetNamespace(c.Namespace)
	u.SetUID(c.UID)
	u.SetResourceVersion(c.ResourceVersion)
	if c.target != "" {
		u.SetLabels(map[string]string{LabelTarget: c.target})
	}
	u.SetAnnotations(c.Annotations)
	return u
}

// ref is the object's identity.
func (c *cachedObject) ref() drift.ObjectRef {
	gv := c.GroupVersionKind()
	return drift.ObjectRef{Group: gv.Group, Version: gv.Version, Kind: c.Kind, Namespace: c.Namespace, Name: c.Name}
}

// owner says who the cached object belongs to (see OwnerOf).
func (c *cachedObject) owner() LiveOwner {
	return LiveOwner{Exists: true, Target: c.target, Adopt: c.Annotations[AnnotationAdopt]}
}
