package reconciler

import (
	"context"
	"fmt"
	"log/slog"
	"path/filepath"
	"runtime"
	"sync"
	"time"

	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/trueup-dev/trueup/drift"
	driftkube "github.com/trueup-dev/trueup/drift/kube"
	"github.com/trueup-dev/trueup/reconciler/config"
	"github.com/trueup-dev/trueup/reconciler/kube"
)

// Trigger says why a reconcile ran.
type Trigger string

const (
	TriggerInterval Trigger = "interval"
	TriggerWatch    Trigger = "watch"
	TriggerWebhook  Trigger = "webhook"
	TriggerManual   Trigger = "manual"
	TriggerStartup  Trigger = "startup"
	// TriggerPreview marks the dry runs of pull request previews.
	TriggerPreview Trigger = "preview"
	// TriggerOperator: an operator asked the daemon to reconcile now (the
	// API, the console, trueup reconcile).
	TriggerOperator Trigger = "operator"
)

// Destination is one cluster with the clients built once for it: with
// trueup's own identity, or acting as a tenant's ServiceAccount (see
// ForServiceAccount).
type Destination struct {
	Cluster  *kube.Cluster
	Detector *driftkube.Detector
	// InventoryNamespace holds the cluster's target inventories.
	InventoryNamespace string

	// watch is shared by every destination of one cluster: one watcher per
	// cluster, with trueup's identity.
	watch *watchSlot
}

type watchSlot struct {
	mu      sync.Mutex
	watcher *kube.Watcher
	// refused are the kinds whose watch the API server refused, logged
	// once each (watch_errors.go).
	refused map[schema.GroupVersionKind]bool
}

// NewDestination builds the drift detector over the cluster's one client.
func NewDestination(c *kube.Cluster, inventoryNamespace string) *Destination {
	return &Destination{Cluster: c, Detector: driftkube.New(c.Client()), InventoryNamespace: inventoryNamespace, watch: &watchSlot{}}
}

// ForServiceAccount returns the destination of the same cluster acting
// through c (built by d.Cluster.Impersonate): its requests go out as the
// ServiceAccount; its inventories and the cluster's watches stay d's.
func (d *Destination) ForServiceAccount(c *kube.Cluster) *Destination {
	return &Destination{Cluster: c, Detector: driftkube.New(c.Client()), InventoryNamespace: d.InventoryNamespace, watch: d.watch}
}

func (d *Destination) liveWatcher() *kube.Watcher {
	d.watch.mu.Lock()
	defer d.watch.mu.Unlock()
	return d.watch.watcher
}

// DestinationKey is the key of a target's destination in the map New
// takes: the cluster's name, or "cluster|namespace/name" for a target that
// acts as a ServiceAccount (config.ServiceAccountFor).
func DestinationKey(cfg *config.Config, target string) string {
	t, ok := cfg.Target(target)
	if !ok {
		return ""
	}
	if sa, ok := cfg.ServiceAccountFor(target); ok {
		return t.Cluster + "|" + sa.String()
	}
	return t.Cluster
}

// Reconciler runs the pipeline for the targets of one config.
type Reconciler struct {
	// fullReads bounds the plans that read every live object from the API
	// server at once (each holds its target's live objects and dry-run
	// results): at startup every target does, and twenty targets of 500
	// objects at once made a peak that the process kept as RSS.
	fullReads    chan struct{}
	cfg          *config.Config
	loader       *DesiredLoader
	destinations map[string]*Destination
	accounts     map[string]*AccountDestination
	applied      appliedRevisions
	pol          policyCache
	log          *slog.Logger
	now          func() time.Time
	metrics      *Metrics
	eventMetrics *EventMetrics
	observers    []func(*Outcome)
	rec          recorder
	publisher    Publisher
	git          GitWriter
	hosts        map[string]GitHost
	prev         previews
	// own shares the targets with other replicas (nil: all are run here).
	own Ownership
	// guard holds freeze overrides and window-end timers (guard.go).
	guard guardState

	mu      sync.Mutex
	targets map[string]*targetState
}

// Option configures a Reconciler.
type Option func(*Reconciler)

// WithLogger sets the logger (default: discard).
func WithLogger(l *slog.Logger) Option { return func(r *Reconciler) { r.log = l } }

// WithClock sets the clock (tests).
func WithClock(now func() time.Time) Option { return func(r *Reconciler) { r.now = now } }

// WithMetrics records reconcile metrics.
func WithMetrics(m *Metrics) Option { return func(r *Reconciler) { r.metrics = m } }

// WithObserver calls f with every finished reconcile's outcome (the history
// and notifications hook in here). f must not block.
func WithObserver(f func(*Outcome)) Option {
	return func(r *Reconciler) { r.observers = append(r.observers, f) }
}

// New returns a Reconciler. destinations are keyed by DestinationKey and
// must cover every cluster target; the destination of each cluster's own
// name (its watches) must be there too.
func New(cfg *config.Config, loader *DesiredLoader, destinations map[string]*Destination, opts ...Option) (*Reconciler, error) {
	r := &Reconciler{
		cfg:          cfg,
		loader:       loader,
		destinations: destinations,
		log:          slog.New(slog.DiscardHandler),
		now:          time.Now,
		targets:      map[string]*targetState{},
		fullReads:    make(chan struct{}, max(2, runtime.GOMAXPROCS(0))),
	}
	for _, o := range opts {
		o(r)
	}
	r.rec.q.log = r.log
	r.rec.observe = r.metrics.bind(cfg, r.now, r.rec.state, r.ownsHere)
	if cfg.DataDir != "" {
		r.rec.q.dir = filepath.Join(cfg.DataDir, spoolFolder)
	}
	if w, ok := loaderClient(loader).(GitWriter); ok {
		r.git = w
	}
	if loader != nil {
		loader.caps = r.capabilities
	}
	for _, t := range cfg.Targets {
		switch {
		case t.Account != "": // checkAccounts below
		default:
			if _, ok := destinations[DestinationKey(cfg, t.Name)]; !ok {
				return nil, fmt.Errorf("target %q: no client for cluster %q (key %q)", t.Name, t.Cluster, DestinationKey(cfg, t.Name))
			}
		}
		r.targets[t.Name] = newTargetState()
	}
	if err := r.checkAccounts(); err != nil {
		return nil, err
	}
	return r, nil
}

// Close stops appending to the history and spills the records still
// waiting to dataDir (appended by the next process). Call it after the
// last reconcile, before closing the history.
func (r *Reconciler) Close() error { return r.rec.close() }

// ignoreRules converts the global and target ignore rules.
func (r *Reconciler) ignoreRules(t *config.Target) []drift.IgnoreRule {
	var out []drift.IgnoreRule
	for _, rules := range [][]config.IgnoreRule{r.cfg.Ignore, t.Ignore} {
		for _, ir := range rules {
			out = append(out, drift.IgnoreRule{Paths: ir.Paths, Selector: drift.Selector{
				Group: ir.Select.Group, Kind: ir.Select.Kind, Name: ir.Select.Name,
				Namespace: ir.Select.Namespace, Labels: ir.Select.Labels,
			}})
		}
	}
	return out
}

func (r *Reconciler) target(name string) (*config.Target, *targetState, *Destination, error) {
	t, ok := r.cfg.Target(name)
	if !ok {
		return nil, nil, nil, fmt.Errorf("unknown target %q: the config has %v", name, r.cfg.TargetNames())
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	return t, r.targets[name], r.destinations[DestinationKey(r.cfg, name)], nil
}

// targetState returns a target's state, or nil.
func (r *Reconciler) targetState(name string) *targetState {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.targets[name]
}

// loaderClient is the loader's source client, or nil.
func loaderClient(l *DesiredLoader) SourceClient {
	if l == nil {
		return nil
	}
	return l.client
}

// capabilities are the target's cluster's version and API versions, for
// Helm charts rendered for it (none for an account target).
func (r *Reconciler) capabilities(ctx context.Context, t *config.Target) (kube.Capabilities, error) {
	d, ok := r.destinations[DestinationKey(r.cfg, t.Name)]
	if !ok || d.Cluster == nil {
		return kube.Capabilities{}, nil
	}
	return d.Cluster.Capabilities(ctx)
}
