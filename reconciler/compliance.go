package reconciler

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"path"
	"sort"
	"strings"
	"sync"
	"time"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/trueup-dev/trueup/drift"
	driftaws "github.com/trueup-dev/trueup/drift/aws"
	driftkube "github.com/trueup-dev/trueup/drift/kube"
	"github.com/trueup-dev/trueup/reconciler/config"
	"github.com/trueup-dev/trueup/reconciler/policy"
	"github.com/trueup-dev/trueup/sources"
)

// StagePolicy: a policy blocked the whole target (onViolation: block-target).
const StagePolicy Stage = "policy"

// policyCache holds the policies loaded from the config's policy folders,
// keyed by a digest of their files, so an unchanged folder is not compiled
// again; a folder that cannot be read keeps the last good set.
type policyCache struct {
	mu     sync.Mutex
	digest string
	set    *policy.Set
}

// LoadPolicies compiles the policy files (YAML, keyed by path). Policies
// that fail to compile are left out and their errors returned; the others
// load.
func LoadPolicies(files sources.Files) (*policy.Set, error) {
	yamls := map[string][]byte{}
	for name, b := range files {
		if ext := path.Ext(name); ext == ".yaml" || ext == ".yml" {
			yamls[name] = b
		}
	}
	return policy.Load(yamls)
}

// policies returns the configured policies (nil when none are configured).
// A policy folder that cannot be read is an error and the last good set
// is returned with it: a failed read never means "no policies".
func (r *Reconciler) policies(ctx context.Context) (*policy.Set, error) {
	if len(r.cfg.Policies) == 0 {
		return nil, nil
	}
	files := sources.Files{}
	for i, ps := range r.cfg.Policies {
		var fs sources.Files
		var err error
		if ps.Dir != "" {
			fs, err = sources.ReadDir(ps.Dir)
		} else {
			fs, _, err = r.loader.ReadTree(ctx, ps.Source, ps.Path)
		}
		if err != nil {
			r.pol.mu.Lock()
			defer r.pol.mu.Unlock()
			return r.pol.set, fmt.Errorf("policies[%d]: %w (using the last policies that loaded)", i, err)
		}
		for name, b := range fs {
			files[fmt.Sprintf("policies[%d]/%s", i, name)] = b
		}
	}
	digest := filesDigest(files)
	r.pol.mu.Lock()
	defer r.pol.mu.Unlock()
	if r.pol.set != nil && r.pol.digest == digest {
		return r.pol.set, nil
	}
	set, err := LoadPolicies(files)
	if err != nil {
		for _, le := range set.Errors() {
			r.log.Error("policy not loaded", "file", le.File, "policy", le.Name, "field", le.Field, "error", le.Error())
		}
	}
	r.pol.set, r.pol.digest = set, digest
	return set, nil
}

func filesDigest(files sources.Files) string {
	names := make([]string, 0, len(files))
	for n := range files {
		names = append(names, n)
	}
	sort.Strings(names)
	h := sha256.New()
	for _, n := range names {
		fmt.Fprintf(h, "%s\x00%d\x00", n, len(files[n]))
		h.Write(files[n])
	}
	return hex.EncodeToString(h.Sum(nil))
}

// policyView is the policy set as seen from one destination: the kinds of
// a cluster map to resources through its REST mapper.
func policyView(set *policy.Set, dest *Destination) *policy.Set {
	if dest == nil {
		return set
	}
	mapper := dest.Cluster.Mapper()
	return set.With(policy.WithResourcer(func(gvk schema.GroupVersionKind) (string, bool) {
		m, err := mapper.RESTMapping(gvk.GroupKind(), gvk.Version)
		if err != nil {
			return "", false
		}
		return m.Resource.Resource, true
	}))
}

// guard evaluates the objects about to be applied against the policies,
// each with its live object (an UPDATE) or alone (a CREATE). It returns the
// objects that may be applied and the findings that block the others.
func guard(set *policy.Set, objs []*unstructured.Unstructured, live map[drift.ObjectRef]*unstructured.Unstructured, now time.Time) (keep []*unstructured.Unstructured, blocked []policy.Finding) {
	for _, o := range objs {
		b := policy.Blocking(set.Evaluate(o, live[drift.RefOf(o)], now))
		if len(b) == 0 {
			keep = append(keep, o)
			continue
		}
		blocked = append(blocked, b...)
	}
	return keep, blocked
}

// blockedError says which objects the policies blocked and why.
func blockedError(blocked []policy.Finding) error {
	var lines []string
	for _, f := range blocked {
		lines = append(lines, f.String())
	}
	return fmt.Errorf("blocked by policy: %s", strings.Join(lines, "; "))
}

// liveObjects reads the live objects of the desired ones: from the watch
// cache where a kind is watched, else from the cluster or account. Objects
// that do not exist or cannot be read are left out.
func (r *Reconciler) liveObjects(ctx context.Context, t *config.Target, dest *Destination, objs []*unstructured.Unstructured) map[drift.ObjectRef]*unstructured.Unstructured {
	out := map[drift.ObjectRef]*unstructured.Unstructured{}
	if t.Account != "" {
		a := r.accounts[t.Account]
		r.accountLive(ctx, r.actingAccount(t, a), objs, out)
		return out
	}
	w := dest.liveWatcher()
	for _, o := range objs {
		ref := driftkube.Ref(o)
		live, cached := r.cachedLive(w, ref, planOptions{})
		if !cached {
			var err error
			if live, err = dest.Detector.Get(ctx, o); err != nil {
				continue
			}
		}
		if live != nil {
			out[drift.RefOf(o)] = live
		}
	}
	return out
}

// accountLive renders the live cloud resources as Kubernetes-style objects.
func (r *Reconciler) accountLive(ctx context.Context, acct *driftaws.Account, objs []*unstructured.Unstructured, out map[drift.ObjectRef]*unstructured.Unstructured) {
	decoded, err := driftaws.DecodeAll(objs)
	if err != nil {
		return
	}
	obs, _ := acct.Observe(ctx, decoded, driftaws.ObserveOptions{}) // unknown ones carry Err
	for _, o := range obs {
		if o.Err != nil || !o.Exists {
			continue
		}
		raw, err := json.Marshal(o.Live)
		if err != nil {
			continue
		}
		var spec map[string]any
		if json.Unmarshal(raw, &spec) != nil {
			continue
		}
		u := &unstructured.Unstructured{Object: map[string]any{
			"apiVersion": driftaws.APIVersion, "kind": o.Desired.Ref.Kind,
			"metadata": map[string]any{"name": o.Desired.Ref.Name}, "spec": spec,
		}}
		out[o.Desired.Ref] = u
	}
}

// complianceFindings evaluates what is live now: each desired object's live
// copy on its own, or the desired object when nothing is live. Blocked
// findings (desired objects the policies kept from being applied) count
// too. The result is sorted by ID, one finding per ID.
func complianceFindings(set *policy.Set, objs []*unstructured.Unstructured, live map[drift.ObjectRef]*unstructured.Unstructured, blocked []policy.Finding, now time.Time) []policy.Finding {
	byID := map[string]policy.Finding{}
	for _, o := range objs {
		subject := o
		if l := live[drift.RefOf(o)]; l != nil {
			subject = l
		}
		for _, f := range set.Evaluate(subject, nil, now) {
			byID[f.ID()] = f
		}
	}
	for _, f := range blocked {
		byID[f.ID()] = f
	}
	out := make([]policy.Finding, 0, len(byID))
	for _, f := range byID {
		out = append(out, f)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID() < out[j].ID() })
	return out
}

// Compliance evaluates a target's policies now, against its live state
// (desired objects not live yet are evaluated as they would be created).
func (r *Reconciler) Compliance(ctx context.Context, name string) ([]policy.Finding, error) {
	t, _, dest, err := r.target(name)
	if err != nil {
		return nil, err
	}
	set, err := r.policies(ctx)
	if err != nil {
		return nil, err
	}
	if set == nil {
		return nil, errors.New("no policies configured: add policies: [{source, path} | {dir}] to the config")
	}
	plan, err := r.Plan(ctx, name)
	if err != nil {
		return nil, err
	}
	live := r.liveObjects(ctx, t, dest, plan.Objects)
	return complianceFindings(policyView(set, dest), plan.Objects, live, nil, r.now()), nil
}

// withPolicies loads the policies into the plan, with the live objects they
// are evaluated against. A policy folder that cannot be read is logged and
// the last policies that loaded are used.
//
// Policies that were never read fail closed: when the config names
// policies and none could be read yet, the target must not apply
// unguarded, so the error is returned (stage policy). Later read failures
// keep the last policies that loaded and are only logged.
func (r *Reconciler) withPolicies(ctx context.Context, t *config.Target, dest *Destination, plan *Plan) error {
	set, err := r.policies(ctx)
	if err != nil {
		r.log.Error("policies not read", "target", t.Name, "error", err.Error())
	}
	if set == nil {
		if err != nil {
			return &StageError{Stage: StagePolicy, Revision: plan.Desired.Revision, Err: fmt.Errorf("target %q: %w; nothing is applied without the policies: fix the policy source or its path", t.Name, err)}
		}
		return nil
	}
	plan.policies = policyView(set, dest)
	plan.live = r.liveObjects(ctx, t, dest, plan.Objects)
	return nil
}
