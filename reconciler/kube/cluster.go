package kube

import (
	"fmt"
	"time"

	"github.com/fluxcd/cli-utils/pkg/kstatus/polling"
	"github.com/fluxcd/cli-utils/pkg/kstatus/polling/engine"
	"github.com/fluxcd/pkg/ssa"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/apiutil"
)

// Cluster holds the long-lived clients of one cluster: one HTTP client whose
// every request has a deadline, one lazily discovering REST mapper, one
// controller-runtime client, one kstatus poller, one ssa.ResourceManager,
// and one dynamic client for watches (on an HTTP client of its own, without
// the per-request deadline, which would cut every watch). Build it once per
// cluster and share it between targets and reconciles; it is safe for
// concurrent use.
type Cluster struct {
	name string
	// client sends the requests of targets: as the ServiceAccount of
	// actingAs when set (see Impersonate).
	client client.Client
	// ownClient always acts with trueup's own identity: inventories,
	// trueup's bookkeeping, are read and written with it.
	ownClient client.Client
	mapper    meta.RESTMapper
	manager   *ssa.ResourceManager
	// watchDynamic serves the informers only.
	watchDynamic dynamic.Interface
	// cfg is the base REST config (request deadline set), for Impersonate.
	cfg *rest.Config
	// actingAs is the ServiceAccount (namespace/name) client impersonates.
	actingAs string
	// caps caches the discovered capabilities, shared with impersonated
	// copies.
	caps *capsCache
	// readers are the custom health checks' status readers.
	readers []engine.StatusReader
}

// Option configures NewCluster.
type Option func(*clusterOptions)

type clusterOptions struct {
	qps      float32
	burst    int
	warnings rest.WarningHandler
	timeout  time.Duration
	health   map[schema.GroupKind]StatusFunc
}

// DefaultRequestTimeout bounds each API request (watches excepted) when
// neither the rest.Config nor WithRequestTimeout sets a timeout.
const DefaultRequestTimeout = time.Minute

// WithRequestTimeout bounds each API request except watches (the
// rest.Config's Timeout): a server that accepts a connection and never
// answers fails the request instead of hanging the reconcile. The default
// is the rest.Config's Timeout, or DefaultRequestTimeout when it has none.
func WithRequestTimeout(d time.Duration) Option {
	return func(o *clusterOptions) { o.timeout = d }
}

// WithRateLimit sets a client-side rate limit. The default, when the config
// sets none, is no client-side limit (qps -1): API priority and fairness on
// the server throttles, as controller-runtime does by default.
func WithRateLimit(qps float32, burst int) Option {
	return func(o *clusterOptions) { o.qps, o.burst = qps, burst }
}

// WithWarningHandler receives the API server's warnings (deprecated APIs and
// the like). The default drops them: this package never logs.
func WithWarningHandler(h rest.WarningHandler) Option {
	return func(o *clusterOptions) { o.warnings = h }
}

// NewCluster builds the clients for one cluster. It does not contact the
// API server: the REST mapper discovers kinds on first use.
func NewCluster(name string, cfg *rest.Config, opts ...Option) (*Cluster, error) {
	o := clusterOptions{warnings: rest.NoWarnings{}}
	for _, opt := range opts {
		opt(&o)
	}
	cfg = rest.CopyConfig(cfg)
	switch {
	case o.qps != 0:
		cfg.QPS, cfg.Burst = o.qps, o.burst
	case cfg.QPS == 0:
		cfg.QPS = -1
	}
	if cfg.WarningHandler == nil && cfg.WarningHandlerWithContext == nil {
		cfg.WarningHandler = o.warnings
	}
	if cfg.UserAgent == "" {
		cfg.UserAgent = "trueup"
	}
	watchCfg := rest.CopyConfig(cfg)
	watchCfg.Timeout = 0 // a watch lasts; its list is bounded by Watcher.Add's deadline
	switch {
	case o.timeout > 0:
		cfg.Timeout = o.timeout
	case cfg.Timeout == 0:
		cfg.Timeout = DefaultRequestTimeout
	}

	httpClient, err := rest.HTTPClientFor(cfg)
	if err != nil {
		return nil, fmt.Errorf("cluster %q: http client: %w", name, err)
	}
	mapper, err := apiutil.NewDynamicRESTMapper(cfg, httpClient)
	if err != nil {
		return nil, fmt.Errorf("cluster %q: rest mapper: %w", name, err)
	}
	c, err := client.New(cfg, client.Options{HTTPClient: httpClient, Mapper: mapper})
	if err != nil {
		return nil, fmt.Errorf("cluster %q: client: %w", name, err)
	}
	dyn, err := dynamic.NewForConfig(watchCfg)
	if err != nil {
		return nil, fmt.Errorf("cluster %q: dynamic client: %w", name, err)
	}
	readers := customReaders(mapper, o.health)
	poller := polling.NewStatusPoller(c, mapper, polling.Options{CustomStatusReaders: readers})
	manager := ssa.NewResourceManager(c, poller, ssa.Owner{Field: FieldManager, Group: "trueup.dev"})
	return &Cluster{name: name, client: c, ownClient: c, mapper: mapper, manager: manager, watchDynamic: dyn, cfg: cfg, caps: &capsCache{}, readers: readers}, nil
}

// RateLimit is the client-side limit of its requests: QPS per second on
// average and Burst at once (QPS -1: none).
func (c *Cluster) RateLimit() (qps float32, burst int) { return c.cfg.QPS, c.cfg.Burst }

// Name returns the cluster's name.
func (c *Cluster) Name() string { return c.name }

// Client returns the cluster's controller-runtime client (uncached), for
// reuse by the drift detector.
func (c *Cluster) Client() client.Client { return c.client }

// Mapper returns the cluster's REST mapper.
func (c *Cluster) Mapper() meta.RESTMapper { return c.mapper }

// managerFor returns the shared resource manager with the given
// concurrency. SetConcurrency mutates the manager, so a target gets a shallow
// copy: same client, same poller, its own concurrency; no new connections.
func (c *Cluster) managerFor(concurrency int) *ssa.ResourceManager {
	m := *c.manager
	m.SetConcurrency(concurrency)
	return &m
}
