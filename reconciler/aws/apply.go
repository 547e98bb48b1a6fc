package aws

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"

	"golang.org/x/sync/errgroup"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/trueup-dev/trueup/drift"
	driftaws "github.com/trueup-dev/trueup/drift/aws"
	"github.com/trueup-dev/trueup/reconciler/kube"
)

// Apply reconciles a target's desired AWS resources into the account and
// prunes what left Git. The steps:
//
//  1. decode every desired object: an invalid object or a duplicate stops
//     the run before anything is read or written;
//  2. check the account's identity (drift/aws CheckIdentity): credentials of
//     another account stop the run;
//  3. read the live state of every desired resource, tags included;
//  4. per resource, at most opts.Concurrency at a time (managed policies
//     first, then the rest): a resource whose
//     live state is unknown (throttling, 5xx, access denied, partial
//     listing) is left alone (ActionFailed); one tagged for another target
//     is refused (kube.ErrOwnedByOtherTarget); a missing one is created; a
//     drifted one has its drifted fields written (and only those); tags
//     are merged, trueup's own always set;
//  5. prune, when opts.Prune.Enabled and no read was unknown: list what
//     carries this target's tag, plan with kube.PlanPrune (empty desired set,
//     Max, MaxPercent), and delete.
//
// Any unknown read skips the prune for the whole run (Result.PruneBlocked
// says so) and makes the returned error match drift/aws ErrUnknown. A
// failed write fails that resource only. With opts.DryRun nothing is
// written; the Result tells what would happen. The Result is returned with
// every error and tells what happened up to it.
//
// The caller must pass the objects of a render that succeeded: an empty
// desired set means "Git wants nothing here", and even then prunes nothing
// unless opts.Prune.AllowEmpty.
func Apply(ctx context.Context, account *driftaws.Account, target string, desired []*unstructured.Unstructured, opts ApplyOptions) (*kube.Result, error) {
	opts = opts.complete()
	res := &kube.Result{Target: target, DryRun: opts.DryRun, Entries: []kube.Entry{}}
	if target == "" {
		return res, errors.New("apply: target name is required")
	}

	// 1. Decode the batch.
	decoded, err := driftaws.DecodeAll(desired)
	if err != nil {
		return res, fmt.Errorf("target %q: %w", target, err)
	}
	for i, r := range opts.Ignore {
		if err := r.Validate(); err != nil {
			return res, fmt.Errorf("target %q: ignore[%d]: %w", target, i, err)
		}
	}

	// 2. Check who we are before reading or writing anything.
	if err := account.CheckIdentity(ctx); err != nil {
		return res, fmt.Errorf("target %q: %w", target, err)
	}

	// 3. Read the live state.
	obs, _ := account.Observe(ctx, decoded, driftaws.ObserveOptions{Tags: true}) // errors are in obs

	// 4. Create and update, managed policies first: roles attach them.
	ap := &applier{account: account, target: target, opts: opts}
	entries := make([]kube.Entry, len(obs))
	errs := make([]error, len(obs))
	for _, stage := range applyStages {
		g, gctx := errgroup.WithContext(ctx)
		g.SetLimit(opts.Concurrency)
		for i := range obs {
			if !slices.Contains(stage, obs[i].Desired.Ref.Kind) {
				continue
			}
			g.Go(func() error {
				entries[i], errs[i] = ap.reconcile(gctx, obs[i])
				return nil
			})
		}
		_ = g.Wait() // reconcile records its errors
	}
	res.Entries = append(res.Entries, entries...)

	// 5. Prune, unless a read was unknown.
	var unknown int
	for _, o := range obs {
		if o.Err != nil {
			unknown++
		}
	}
	refs := make([]drift.ObjectRef, len(decoded))
	for i, d := range decoded {
		refs[i] = d.Ref
	}
	if err := ap.prune(ctx, slices.Concat(refs, opts.Retain), unknown, res); err != nil {
		errs = append(errs, err)
	}
	return res, errors.Join(errs...)
}

// applyStages orders writes: managed policies before the roles that attach
// them.
var applyStages = [][]string{
	{driftaws.KindIAMPolicy},
	{driftaws.KindIAMRole, driftaws.KindSecurityGroup, driftaws.KindS3Bucket},
}

// applier holds one Apply's state.
type applier struct {
	account *driftaws.Account
	target  string
	opts    ApplyOptions
}

// reconcile decides what one resource needs and does it.
func (a *applier) reconcile(ctx context.Context, o driftaws.Observed) (kube.Entry, error) {
	ref := o.Desired.Ref
	entry := kube.Entry{Ref: ref}
	fail := func(op string, err error) (kube.Entry, error) {
		err = objectErr(a.target, ref, op, err)
		entry.Action, entry.Message = kube.ActionFailed, err.Error()
		return entry, err
	}
	switch owner := o.Tags[driftaws.TagTarget]; {
	case o.Err != nil: // the read error starts with the identity
		err := fmt.Errorf("target %q: not applied: %w", a.target, o.Err)
		entry.Action, entry.Message = kube.ActionFailed, err.Error()
		return entry, err
	case !o.Exists:
		if a.opts.DryRun {
			entry.Action, entry.Message = kube.ActionCreated, "would be created"
			return entry, nil
		}
		if err := a.create(ctx, o.Desired); err != nil {
			return fail("create", err)
		}
		entry.Action, entry.Message = kube.ActionCreated, "created"
		return entry, nil
	case owner != "" && owner != a.target:
		return fail("update", fmt.Errorf("%w: tagged %s=%q", kube.ErrOwnedByOtherTarget, driftaws.TagTarget, owner))
	}

	report := a.account.ReportOf(o, a.opts.Ignore)
	change := planChange(a.target, o, report)
	if change.empty() {
		entry.Action = kube.ActionUnchanged
		return entry, nil
	}
	entry.Action, entry.Message = kube.ActionConfigured, change.describe(a.opts.DryRun)
	if a.opts.DryRun {
		return entry, nil
	}
	if err := a.update(ctx, o, change); err != nil {
		return fail("update", err)
	}
	return entry, nil
}

// change is what an update writes.
type change struct {
	// fields are the top-level spec fields that drifted (tags aside).
	fields map[string]bool
	// paths are the drifted paths, for the message.
	paths []string
	// tags is the tag change.
	tags tagChange
}

func planChange(target string, o driftaws.Observed, report drift.ObjectReport) change {
	c := change{fields: map[string]bool{}}
	tagsDrifted := false
	for _, f := range report.Fields {
		tokens, err := drift.SplitPointer(f.Path)
		if err != nil || len(tokens) < 2 || tokens[0] != "spec" {
			continue
		}
		c.paths = append(c.paths, f.Path)
		if tokens[1] == "tags" {
			tagsDrifted = true
		} else {
			c.fields[tokens[1]] = true
		}
	}
	// User tags change only when they drifted (not ignored); trueup's own
	// tags are always set.
	var desiredTags map[string]string
	if tagsDrifted {
		desiredTags = specTags(o.Desired.Spec)
	}
	c.tags = planTags(target, desiredTags, o.Tags)
	return c
}

func (c change) empty() bool { return len(c.fields) == 0 && c.tags.empty() }

func (c change) describe(dryRun bool) string {
	var parts []string
	if len(c.paths) > 0 {
		parts = append(parts, "drifted "+strings.Join(c.paths, ", "))
	}
	if own := c.tags.ownAdded(); len(own) > 0 {
		parts = append(parts, "tagged "+strings.Join(own, ", "))
	}
	verb := "updated: "
	if dryRun {
		verb = "would be updated: "
	}
	return verb + strings.Join(parts, "; ")
}

// create creates a missing resource with trueup's tags.
func (a *applier) create(ctx context.Context, d *driftaws.Desired) error {
	tags := planTags(a.target, specTags(d.Spec), nil).set
	switch spec := d.Spec.(type) {
	case *driftaws.S3BucketSpec:
		return a.createBucket(ctx, d.Ref.Name, spec, tags)
	case *driftaws.IAMRoleSpec:
		return a.createRole(ctx, d.Ref.Name, spec, tags)
	case *driftaws.IAMPolicySpec:
		return a.createPolicy(ctx, d.Ref.Name, spec, tags)
	case *driftaws.SecurityGroupSpec:
		return a.createGroup(ctx, d.Ref.Name, spec, tags)
	}
	return fmt.Errorf("%w: unsupported spec %T", driftaws.ErrInvalidObject, d.Spec)
}

// update writes the drifted fields and the tag change of a resource.
func (a *applier) update(ctx context.Context, o driftaws.Observed, c change) error {
	switch spec := o.Desired.Spec.(type) {
	case *driftaws.S3BucketSpec:
		return a.updateBucket(ctx, o, spec, c)
	case *driftaws.IAMRoleSpec:
		return a.updateRole(ctx, o, spec, c)
	case *driftaws.IAMPolicySpec:
		return a.updatePolicy(ctx, o, spec, c)
	case *driftaws.SecurityGroupSpec:
		return a.updateGroup(ctx, o, spec, c)
	}
	return fmt.Errorf("%w: unsupported spec %T", driftaws.ErrInvalidObject, o.Desired.Spec)
}

// immutable refuses to change a field AWS cannot change in place.
func immutable(fields map[string]bool, names ...string) error {
	var hit []string
	for _, n := range names {
		if fields[n] {
			hit = append(hit, "spec."+n)
		}
	}
	if len(hit) == 0 {
		return nil
	}
	sort.Strings(hit)
	return fmt.Errorf("%w: %s cannot change in place; delete the resource to have it recreated", kube.ErrImmutable, strings.Join(hit, ", "))
}
