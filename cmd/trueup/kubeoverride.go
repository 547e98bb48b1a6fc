package main

import (
	"fmt"
	"slices"
	"strings"

	"github.com/spf13/cobra"

	"github.com/trueup-dev/trueup/reconciler/config"
)

// kubeOverride points diff and apply at another kubeconfig or context
// than the config's cluster has (--kubeconfig, --kube-context). The daemon
// verbs' --context names a trueup context, so the cluster's is
// --kube-context.
type kubeOverride struct {
	kubeconfig, context string
}

func (k *kubeOverride) addFlags(cmd *cobra.Command) {
	cmd.Flags().StringVar(&k.kubeconfig, "kubeconfig", "", "use this kubeconfig for the targets' cluster instead of the config's (one cluster at a time)")
	cmd.Flags().StringVar(&k.context, "kube-context", "", "use this context of the kubeconfig for the targets' cluster instead of the config's")
}

// apply rewrites the cluster of targets in cfg. The targets must share one
// cluster: an override names one.
func (k *kubeOverride) apply(cfg *config.Config, targets []*config.Target) error {
	if k == nil || k.kubeconfig == "" && k.context == "" {
		return nil
	}
	var clusters []string
	for _, t := range targets {
		if t.Cluster != "" && !slices.Contains(clusters, t.Cluster) {
			clusters = append(clusters, t.Cluster)
		}
	}
	switch len(clusters) {
	case 0:
		return &exitCodeError{code: exitError, err: fmt.Errorf("--kubeconfig/--kube-context: the targets reconcile into no cluster (cloud accounts only)")}
	case 1:
	default:
		return &exitCodeError{code: exitError, err: fmt.Errorf("--kubeconfig/--kube-context: the targets use clusters %s: name targets of one cluster", strings.Join(clusters, ", "))}
	}
	for i := range cfg.Clusters {
		c := &cfg.Clusters[i]
		if c.Name != clusters[0] {
			continue
		}
		if k.kubeconfig == "" && c.Kubeconfig == nil {
			return &exitCodeError{code: exitError, err: fmt.Errorf("--kube-context: cluster %s has no kubeconfig in the config (inCluster): give --kubeconfig too", c.Name)}
		}
		kc := config.Kubeconfig{}
		if c.Kubeconfig != nil {
			kc = *c.Kubeconfig
		}
		if k.kubeconfig != "" {
			kc.Path, kc.Context = k.kubeconfig, "" // its current context, unless --kube-context
		}
		if k.context != "" {
			kc.Context = k.context
		}
		c.Kubeconfig, c.InCluster = &kc, false
	}
	return nil
}
