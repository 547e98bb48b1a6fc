package kube

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"time"

	"k8s.io/client-go/discovery"
)

// Capabilities are what a Helm chart sees of the cluster it is rendered
// for (.Capabilities): the server's version and the API versions it
// serves, as group/version and group/version/Kind.
type Capabilities struct {
	KubeVersion string
	APIVersions []string
}

// capabilitiesTTL is how long discovered capabilities are reused: a CRD
// installed since shows up within it.
const capabilitiesTTL = 5 * time.Minute

type capsCache struct {
	mu   sync.Mutex
	caps Capabilities
	at   time.Time
}

// Capabilities discovers the cluster's version and API versions, with
// trueup's own identity (discovery is open to every authenticated user),
// cached for a few minutes. A group whose discovery fails (an aggregated
// API down) is left out; the server unreachable is an error.
func (c *Cluster) Capabilities(ctx context.Context) (Capabilities, error) {
	c.caps.mu.Lock()
	defer c.caps.mu.Unlock()
	if !c.caps.at.IsZero() && time.Since(c.caps.at) < capabilitiesTTL {
		return c.caps.caps, nil
	}
	dc, err := discovery.NewDiscoveryClientForConfig(c.cfg)
	if err != nil {
		return Capabilities{}, fmt.Errorf("cluster %q: discovery: %w", c.name, err)
	}
	type result struct {
		caps Capabilities
		err  error
	}
	done := make(chan result, 1)
	go func() { // the discovery client takes no ctx; its requests have the cluster's deadline
		v, err := dc.ServerVersion()
		if err != nil {
			done <- result{err: fmt.Errorf("cluster %q: server version: %w", c.name, err)}
			return
		}
		_, lists, err := dc.ServerGroupsAndResources()
		if err != nil && !discovery.IsGroupDiscoveryFailedError(err) {
			done <- result{err: fmt.Errorf("cluster %q: API discovery: %w", c.name, err)}
			return
		}
		caps := Capabilities{KubeVersion: v.GitVersion}
		for _, l := range lists {
			caps.APIVersions = append(caps.APIVersions, l.GroupVersion)
			for _, r := range l.APIResources {
				caps.APIVersions = append(caps.APIVersions, l.GroupVersion+"/"+r.Kind)
			}
		}
		slices.Sort(caps.APIVersions)
		caps.APIVersions = slices.Compact(caps.APIVersions)
		done <- result{caps: caps}
	}()
	select {
	case r := <-done:
		if r.err != nil {
			return Capabilities{}, r.err
		}
		c.caps.caps, c.caps.at = r.caps, time.Now()
		return r.caps, nil
	case <-ctx.Done():
		return Capabilities{}, fmt.Errorf("cluster %q: discovery: %w", c.name, ctx.Err())
	}
}
