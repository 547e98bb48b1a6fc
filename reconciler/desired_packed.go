package reconciler

import (
	"encoding/json"
	"fmt"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	utiljson "k8s.io/apimachinery/pkg/util/json"

	"github.com/trueup-dev/trueup/drift"
	"github.com/trueup-dev/trueup/sources"
)

// packedDesired is a render kept between reconciles (the loader's cache, a
// target's last render) with its objects as JSON, decoded again for each
// reconcile that uses them. A decoded object costs several times its JSON
// (about 4 KB against 0.5 KB for a small ConfigMap or Deployment), and the
// daemon keeps every target's render: at 10,000 objects the decoded maps
// were 40% of its heap. The JSON round trip is exact: the renderers decode
// every object from JSON with the same decoder (integers as int64).
type packedDesired struct {
	// desired is the render without its objects.
	desired Desired
	objects []packedObject
}

type packedObject struct {
	raw    []byte
	origin sources.Origin
}

// packDesired encodes d's objects; d is left as it is.
func packDesired(d *Desired) (*packedDesired, error) {
	p := &packedDesired{desired: *d, objects: make([]packedObject, len(d.Objects))}
	p.desired.Objects = nil
	for i, o := range d.Objects {
		raw, err := json.Marshal(o.Object.Object)
		if err != nil {
			return nil, fmt.Errorf("%s: encode: %w", drift.RefOf(o.Object), err)
		}
		p.objects[i] = packedObject{raw: raw, origin: o.Origin}
	}
	return p, nil
}

// unpack decodes a new copy of the render: its objects are the caller's.
func (p *packedDesired) unpack() (*Desired, error) {
	d := p.desired
	d.Objects = make([]sources.Object, len(p.objects))
	for i, o := range p.objects {
		var m map[string]any
		if err := utiljson.Unmarshal(o.raw, &m); err != nil {
			return nil, fmt.Errorf("%s#%d: decode the cached render: %w", o.origin.File, o.origin.Index, err)
		}
		d.Objects[i] = sources.Object{Object: &unstructured.Unstructured{Object: m}, Origin: o.origin}
	}
	return &d, nil
}

// revision is the render's revision.
func (p *packedDesired) revision() sources.Revision { return p.desired.Revision }
