package kube

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"sync"

	"github.com/fluxcd/cli-utils/pkg/kstatus/polling"
	"github.com/fluxcd/pkg/ssa"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/interceptor"
)

// Impersonate returns the cluster acting as a ServiceAccount: every request
// a target makes through it (dry-runs, applies, health polling, reads and
// deletions for prune) carries the Impersonate-User header
// system:serviceaccount:<namespace>:<name>, so the cluster's RBAC decides
// what the target may do. Build it once per ServiceAccount and share it.
//
// What it shares with c: the REST mapper (discovery, read with trueup's
// identity) and the watch client (the watches of managed objects stay
// trueup's, read-only and label-selected). Inventories are read and written
// with trueup's own identity: they are trueup's bookkeeping, and a
// ServiceAccount allowed to write the inventory namespace could rewrite
// another tenant's inventory.
//
// A request the API server forbids returns a *ForbiddenError naming the
// ServiceAccount (apierrors.IsForbidden still matches it).
func (c *Cluster) Impersonate(namespace, name string) (*Cluster, error) {
	if c.actingAs != "" {
		return nil, fmt.Errorf("cluster %q: impersonate %s/%s: already acting as ServiceAccount %s", c.name, namespace, name, c.actingAs)
	}
	if namespace == "" || name == "" {
		return nil, fmt.Errorf("cluster %q: impersonate: a ServiceAccount needs a namespace and a name", c.name)
	}
	sa := namespace + "/" + name
	cfg := rest.CopyConfig(c.cfg)
	cfg.Impersonate = rest.ImpersonationConfig{UserName: ServiceAccountUser(namespace, name)}
	httpClient, err := rest.HTTPClientFor(cfg)
	if err != nil {
		return nil, fmt.Errorf("cluster %q: http client as ServiceAccount %s: %w", c.name, sa, err)
	}
	base, err := client.NewWithWatch(cfg, client.Options{HTTPClient: httpClient, Mapper: c.mapper})
	if err != nil {
		return nil, fmt.Errorf("cluster %q: client as ServiceAccount %s: %w", c.name, sa, err)
	}
	cl := interceptor.NewClient(base, forbiddenAs(sa))
	poller := polling.NewStatusPoller(cl, c.mapper, polling.Options{CustomStatusReaders: c.readers})
	return &Cluster{
		name:         c.name,
		client:       cl,
		ownClient:    c.ownClient,
		mapper:       c.mapper,
		manager:      ssa.NewResourceManager(cl, poller, ssa.Owner{Field: FieldManager, Group: "trueup.dev"}),
		watchDynamic: c.watchDynamic,
		cfg:          c.cfg,
		actingAs:     sa,
		caps:         c.caps,
		readers:      c.readers,
	}, nil
}

// ActingAs is the ServiceAccount (namespace/name) the cluster's target
// requests impersonate, or "" for trueup's own identity.
func (c *Cluster) ActingAs() string { return c.actingAs }

// ServiceAccountUser is the user name of a ServiceAccount.
func ServiceAccountUser(namespace, name string) string {
	return "system:serviceaccount:" + namespace + ":" + name
}

// ForbiddenError is the API server refusing a request trueup made as a
// ServiceAccount. Its message keeps the server's (which names the verb, the
// resource and the namespace) and says how to grant it.
type ForbiddenError struct {
	// ServiceAccount is namespace/name.
	ServiceAccount string
	// Impersonation: trueup's own identity may not act as the
	// ServiceAccount (the request never reached the ServiceAccount's RBAC).
	Impersonation bool
	Err           error
}

func (e *ForbiddenError) Error() string {
	if e.Impersonation {
		ns, _, _ := strings.Cut(e.ServiceAccount, "/")
		return fmt.Sprintf("as ServiceAccount %s: %v; grant trueup's own identity the verb impersonate on serviceaccounts in namespace %s (a ClusterRole bound by a RoleBinding there)",
			e.ServiceAccount, e.Err, ns)
	}
	return fmt.Sprintf("as ServiceAccount %s: %v; grant ServiceAccount %s that verb on that resource (a Role and RoleBinding in that namespace, or a ClusterRole and ClusterRoleBinding for a cluster-scoped resource), or remove the object from Git",
		e.ServiceAccount, e.Err, e.ServiceAccount)
}

func (e *ForbiddenError) Unwrap() error { return e.Err }

// impersonationRE matches the API server refusing the impersonation itself.
// Its status has no cause type for it (the details name the resource
// "serviceaccounts", like any request about ServiceAccounts would), so the
// message is the only signal.
var impersonationRE = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`cannot impersonate resource "serviceaccounts"`) })

// asForbidden wraps a Forbidden answer in a *ForbiddenError.
func asForbidden(sa string, err error) error {
	var fe *ForbiddenError
	if err == nil || !apierrors.IsForbidden(err) || errors.As(err, &fe) {
		return err
	}
	return &ForbiddenError{ServiceAccount: sa, Impersonation: impersonationRE().MatchString(err.Error()), Err: err}
}

// forbiddenAs wraps every Forbidden answer of the client's calls.
func forbiddenAs(sa string) interceptor.Funcs {
	return interceptor.Funcs{
		Get: func(ctx context.Context, c client.WithWatch, key client.ObjectKey, obj client.Object, opts ...client.GetOption) error {
			return asForbidden(sa, c.Get(ctx, key, obj, opts...))
		},
		List: func(ctx context.Context, c client.WithWatch, list client.ObjectList, opts ...client.ListOption) error {
			return asForbidden(sa, c.List(ctx, list, opts...))
		},
		Create: func(ctx context.Context, c client.WithWatch, obj client.Object, opts ...client.CreateOption) error {
			return asForbidden(sa, c.Create(ctx, obj, opts...))
		},
		Delete: func(ctx context.Context, c client.WithWatch, obj client.Object, opts ...client.DeleteOption) error {
			return asForbidden(sa, c.Delete(ctx, obj, opts...))
		},
		DeleteAllOf: func(ctx context.Context, c client.WithWatch, obj client.Object, opts ...client.DeleteAllOfOption) error {
			return asForbidden(sa, c.DeleteAllOf(ctx, obj, opts...))
		},
		Update: func(ctx context.Context, c client.WithWatch, obj client.Object, opts ...client.UpdateOption) error {
			return asForbidden(sa, c.Update(ctx, obj, opts...))
		},
		Patch: func(ctx context.Context, c client.WithWatch, obj client.Object, patch client.Patch, opts ...client.PatchOption) error {
			return asForbidden(sa, c.Patch(ctx, obj, patch, opts...))
		},
		Apply: func(ctx context.Context, c client.WithWatch, obj runtime.ApplyConfiguration, opts ...client.ApplyOption) error {
			return asForbidden(sa, c.Apply(ctx, obj, opts...))
		},
		SubResourceGet: func(ctx context.Context, c client.Client, sub string, obj, subObj client.Object, opts ...client.SubResourceGetOption) error {
			return asForbidden(sa, c.SubResource(sub).Get(ctx, obj, subObj, opts...))
		},
		SubResourceUpdate: func(ctx context.Context, c client.Client, sub string, obj client.Object, opts ...client.SubResourceUpdateOption) error {
			return asForbidden(sa, c.SubResource(sub).Update(ctx, obj, opts...))
		},
		SubResourcePatch: func(ctx context.Context, c client.Client, sub string, obj client.Object, patch client.Patch, opts ...client.SubResourcePatchOption) error {
			return asForbidden(sa, c.SubResource(sub).Patch(ctx, obj, patch, opts...))
		},
	}
}
