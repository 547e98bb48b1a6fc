package kube

import (
	"github.com/fluxcd/cli-utils/pkg/kstatus/polling/engine"
	"github.com/fluxcd/cli-utils/pkg/kstatus/polling/statusreaders"
	"github.com/fluxcd/cli-utils/pkg/kstatus/status"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// StatusFunc computes the health of a live object of one kind.
type StatusFunc func(*unstructured.Unstructured) (*status.Result, error)

// WithHealthChecks judges the objects of each GroupKind with its function
// instead of kstatus, when Apply waits for health (custom health checks).
func WithHealthChecks(checks map[schema.GroupKind]StatusFunc) Option {
	return func(o *clusterOptions) { o.health = checks }
}

// customReaders are the status readers of the health checks, tried before
// kstatus's own.
func customReaders(mapper meta.RESTMapper, checks map[schema.GroupKind]StatusFunc) []engine.StatusReader {
	var out []engine.StatusReader
	for gk, f := range checks {
		out = append(out, &kindReader{gk: gk, StatusReader: statusreaders.NewGenericStatusReader(mapper, statusreaders.StatusFunc(f))})
	}
	return out
}

// kindReader is a generic status reader for one GroupKind.
type kindReader struct {
	engine.StatusReader
	gk schema.GroupKind
}

func (k *kindReader) Supports(gk schema.GroupKind) bool { return gk == k.gk }
