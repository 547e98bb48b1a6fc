package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/trueup-dev/trueup/reconciler"
	"github.com/trueup-dev/trueup/reconciler/config"
	"github.com/trueup-dev/trueup/reconciler/kube"
)

// restConfig builds the REST config of a cluster from its kubeconfig (and
// context) or from the in-cluster service account.
func restConfig(path string, c config.Cluster) (*rest.Config, error) {
	if c.InCluster {
		cfg, err := rest.InClusterConfig()
		if err != nil {
			return nil, fmt.Errorf("%s: in-cluster config: %w (run trueup inside a pod, or use kubeconfig)", path, err)
		}
		return cfg, nil
	}
	kc := expandHome(c.Kubeconfig.Path)
	rules := &clientcmd.ClientConfigLoadingRules{ExplicitPath: kc}
	overrides := &clientcmd.ConfigOverrides{CurrentContext: c.Kubeconfig.Context}
	cfg, err := clientcmd.NewNonInteractiveDeferredLoadingClientConfig(rules, overrides).ClientConfig()
	if err != nil {
		return nil, fmt.Errorf("%s.kubeconfig: %s: %w (check the path and context with 'kubectl --kubeconfig %s config get-contexts')", path, kc, err, kc)
	}
	return cfg, nil
}

func expandHome(p string) string {
	if rest, ok := strings.CutPrefix(p, "~/"); ok {
		if home, err := os.UserHomeDir(); err == nil {
			return filepath.Join(home, rest)
		}
	}
	return p
}

// newDestinations builds one client set per cluster that a target uses,
// and one per ServiceAccount a tenant's target acts as on it (sharing the
// cluster's REST mapper and watches): once per process, never per
// reconcile.
func newDestinations(cfg *config.Config, targets []*config.Target) (map[string]*reconciler.Destination, error) {
	out := map[string]*reconciler.Destination{}
	for i, c := range cfg.Clusters {
		if !named(targets, func(t *config.Target) string { return t.Cluster }, c.Name) {
			continue
		}
		path := fmt.Sprintf("clusters[%d]", i)
		rc, err := restConfig(path, c)
		if err != nil {
			return nil, err
		}
		rc.UserAgent = "trueup/" + version
		timeout := callTimeout(cfg, func(t *config.Target) bool { return t.Cluster == c.Name }, kube.DefaultRequestTimeout)
		opts := []kube.Option{kube.WithRequestTimeout(timeout)}
		if r := c.RateLimit; r != nil {
			opts = append(opts, kube.WithRateLimit(float32(r.QPS), r.BurstOrDefault()))
		}
		if hc, err := reconciler.HealthCheckOption(cfg); err != nil {
			return nil, err
		} else if hc != nil {
			opts = append(opts, hc)
		}
		kc, err := kube.NewCluster(c.Name, rc, opts...)
		if err != nil {
			return nil, fmt.Errorf("%s: cluster %q: %w", path, c.Name, err)
		}
		base := reconciler.NewDestination(kc, c.InventoryNamespace)
		out[c.Name] = base
		for _, t := range targets {
			if t.Cluster != c.Name {
				continue
			}
			key := reconciler.DestinationKey(cfg, t.Name)
			sa, ok := cfg.ServiceAccountFor(t.Name)
			if _, built := out[key]; !ok || built {
				continue
			}
			ic, err := kc.Impersonate(sa.Namespace, sa.Name)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", path, err)
			}
			out[key] = base.ForServiceAccount(ic)
		}
	}
	return out, nil
}

// newReconciler wires the desired loader and the clusters of the targets.
func newReconciler(cfg *config.Config, targets []*config.Target, opts ...reconciler.Option) (*reconciler.Reconciler, error) {
	loader, err := newDesiredLoader(cfg)
	if err != nil {
		return nil, err
	}
	dests, err := newDestinations(cfg, targets)
	if err != nil {
		return nil, &exitCodeError{code: exitError, err: err}
	}
	accounts, err := newAccounts(context.Background(), cfg, targets)
	if err != nil {
		return nil, &exitCodeError{code: exitError, err: err}
	}
	hosts, err := newGitHosts(cfg)
	if err != nil {
		return nil, &exitCodeError{code: exitError, err: err}
	}
	opts = append(opts, reconciler.WithAccounts(accounts), reconciler.WithGitHosts(hosts))
	only := *cfg
	only.Targets = nil
	for _, t := range targets {
		only.Targets = append(only.Targets, *t)
	}
	r, err := reconciler.New(&only, loader, dests, opts...)
	if err != nil {
		return nil, &exitCodeError{code: exitError, err: err}
	}
	return r, nil
}

// selectTargets returns the named targets, or every target.
func selectTargets(cfg *config.Config, names []string) ([]*config.Target, error) {
	if len(names) == 0 {
		var out []*config.Target
		for i := range cfg.Targets {
			out = append(out, &cfg.Targets[i])
		}
		return out, nil
	}
	var out []*config.Target
	for _, n := range names {
		t, err := lookupTarget(cfg, n)
		if err != nil {
			return nil, err
		}
		out = append(out, t)
	}
	return out, nil
}

// reconcilerForArgs loads the config and wires a reconciler for the targets
// named on the command line (every cluster target when none is named).
func reconcilerForArgs(opts *globalOptions, args []string, ropts ...reconciler.Option) (*reconciler.Reconciler, []*config.Target, error) {
	cfg, err := loadConfig(opts)
	if err != nil {
		return nil, nil, err
	}
	targets, err := selectTargets(cfg, args)
	if err != nil {
		return nil, nil, err
	}
	r, err := newReconciler(cfg, targets, ropts...)
	return r, targets, err
}
