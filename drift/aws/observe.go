package aws

import (
	"context"
	"encoding/json"
	"errors"
	"sync"

	"golang.org/x/sync/errgroup"
)

// Observed is a desired resource with what the account holds for it.
type Observed struct {
	Desired *Desired
	// Err is why the live state is unknown (it matches ErrUnknown); the
	// other fields are then meaningless.
	Err error
	// Exists reports whether the live resource exists.
	Exists bool
	// Live is the live resource's spec, of the same type as Desired.Spec,
	// holding at least the fields Desired.Spec sets.
	Live any
	// Tags are every live tag, trueup's included; read when Desired.Spec
	// sets tags or ObserveOptions.Tags asks for them, else nil.
	Tags map[string]string
	// ARN is the resource's ARN; for a security group, its group id.
	ARN string
}

// ObserveOptions are the per-call knobs of Observe.
type ObserveOptions struct {
	// Tags reads every resource's tags even when its spec sets none (the
	// applier needs trueup's own tags).
	Tags bool
}

// Observe reads the live state of every desired resource: only the fields
// each spec sets (and tags when asked), with paginated listings where the
// API offers them, at most Config.Concurrency calls at a time. It returns
// one Observed per desired resource, in order. A failed read makes the
// resources it concerns unknown (Observed.Err); the returned error joins
// those errors.
func (a *Account) Observe(ctx context.Context, desired []*Desired, opts ObserveOptions) ([]Observed, error) {
	obs := make([]Observed, len(desired))
	byKind := map[string][]int{}
	for i, d := range desired {
		obs[i].Desired = d
		byKind[d.Ref.Kind] = append(byKind[d.Ref.Kind], i)
	}
	if err := a.CheckIdentity(ctx); err != nil {
		for i := range obs {
			obs[i].Err = err
		}
		return obs, err
	}
	var wg sync.WaitGroup
	for kind, idx := range byKind {
		batch := make([]*Observed, len(idx))
		for j, i := range idx {
			batch[j] = &obs[i]
		}
		wg.Go(func() {
			switch kind {
			case KindS3Bucket:
				a.observeBuckets(ctx, batch, opts)
			case KindIAMRole:
				a.observeRoles(ctx, batch, opts)
			case KindIAMPolicy:
				a.observePolicies(ctx, batch, opts)
			case KindSecurityGroup:
				a.observeGroups(ctx, batch, opts)
			}
		})
	}
	wg.Wait()
	var errs []error
	for _, o := range obs {
		if o.Err != nil {
			errs = append(errs, o.Err)
		}
	}
	return obs, errors.Join(errs...)
}

// failAll marks every resource of a batch unknown.
func failAll(batch []*Observed, err error) {
	for _, o := range batch {
		o.Err = err
	}
}

// forEach runs fn for 0..n-1, at most Config.Concurrency at a time. fn
// records its own errors; forEach stops starting new calls when ctx ends.
func (a *Account) forEach(ctx context.Context, n int, fn func(ctx context.Context, i int)) {
	g, ctx := errgroup.WithContext(ctx)
	g.SetLimit(a.cfg.Concurrency)
	for i := range n {
		g.Go(func() error {
			fn(ctx, i)
			return nil
		})
	}
	_ = g.Wait() // fn never fails the group
}

// setFields returns the json names of the fields a spec sets, plus "tags"
// when withTags.
func setFields(spec any, withTags bool) map[string]bool {
	b, _ := json.Marshal(spec) // specs always encode
	var m map[string]json.RawMessage
	_ = json.Unmarshal(b, &m)
	out := make(map[string]bool, len(m)+1)
	for k := range m {
		out[k] = true
	}
	if withTags {
		out["tags"] = true
	}
	return out
}

// needs returns the union of the fields a batch's specs set.
func needs(batch []*Observed, withTags bool) map[string]bool {
	out := map[string]bool{}
	for _, o := range batch {
		for k := range setFields(o.Desired.Spec, withTags) {
			out[k] = true
		}
	}
	return out
}
