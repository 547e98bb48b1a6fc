package aws

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/trueup-dev/trueup/drift"
	driftaws "github.com/trueup-dev/trueup/drift/aws"
	"github.com/trueup-dev/trueup/reconciler/kube"
)

// prune deletes the resources tagged for the target that desired lacks,
// within the limits of opts.Prune, as kube.PlanPrune plans it. It does
// nothing when pruning is off, and refuses entirely when unknown > 0 (a
// desired resource's state could not be read) or the tagged resources
// cannot be listed: an unknown is never read as "not there".
func (a *applier) prune(ctx context.Context, desired []drift.ObjectRef, unknown int, res *kube.Result) error {
	if !a.opts.Prune.Enabled {
		return nil
	}
	if unknown > 0 {
		err := fmt.Errorf("prune skipped: %w for %d desired resources", driftaws.ErrUnknown, unknown)
		res.PruneBlocked = err.Error()
		return fmt.Errorf("target %q: %w", a.target, err)
	}
	managed, err := a.account.Managed(ctx, a.target)
	if err != nil {
		res.PruneBlocked = "prune skipped: cannot list the resources tagged for this target: status unknown"
		return fmt.Errorf("target %q: prune skipped: %w", a.target, err)
	}
	byKey := map[drift.ObjectRef]driftaws.Resource{}
	inventory := make([]drift.ObjectRef, 0, len(managed))
	for _, r := range managed {
		byKey[r.Ref] = r
		inventory = append(inventory, r.Ref)
	}
	plan := kube.PlanPrune(inventory, desired, kube.PruneOptions{
		Enabled: true, AllowEmpty: a.opts.Prune.AllowEmpty,
		Max: a.opts.Prune.Max, MaxPercent: a.opts.Prune.MaxPercent,
	})
	res.PruneBlocked = plan.BlockedReason
	for _, ref := range plan.Blocked {
		res.Entries = append(res.Entries, kube.Entry{Ref: ref, Action: kube.ActionSkipped, Message: kube.BlockedNote})
	}
	var errs []error
	slices.SortStableFunc(plan.Delete, func(x, y drift.ObjectRef) int { return deleteRank[x.Kind] - deleteRank[y.Kind] })
	for _, ref := range plan.Delete {
		if a.opts.DryRun {
			res.Entries = append(res.Entries, kube.Entry{Ref: ref, Action: kube.ActionDeleted, Message: "would be deleted: no longer in Git"})
			continue
		}
		if err := a.delete(ctx, byKey[ref]); err != nil {
			err = objectErr(a.target, ref, "delete", err)
			errs = append(errs, err)
			res.Entries = append(res.Entries, kube.Entry{Ref: ref, Action: kube.ActionFailed, Message: err.Error()})
			continue
		}
		res.Entries = append(res.Entries, kube.Entry{Ref: ref, Action: kube.ActionDeleted, Message: "deleted: no longer in Git"})
	}
	return errors.Join(errs...)
}

// deleteRank orders deletions: roles detach managed policies, so policies
// go last.
var deleteRank = map[string]int{
	driftaws.KindIAMRole: 0, driftaws.KindSecurityGroup: 1, driftaws.KindS3Bucket: 2, driftaws.KindIAMPolicy: 3,
}

// delete deletes one resource the listing found tagged for the target.
func (a *applier) delete(ctx context.Context, r driftaws.Resource) error {
	if r.Tags[driftaws.TagTarget] != a.target {
		return fmt.Errorf("%w: tagged %s=%q", kube.ErrOwnedByOtherTarget, driftaws.TagTarget, r.Tags[driftaws.TagTarget])
	}
	switch r.Ref.Kind {
	case driftaws.KindS3Bucket:
		return a.deleteBucket(ctx, r.Ref.Name)
	case driftaws.KindIAMRole:
		return a.deleteRole(ctx, r.Ref.Name)
	case driftaws.KindIAMPolicy:
		return a.deletePolicy(ctx, r.ARN)
	case driftaws.KindSecurityGroup:
		return a.deleteGroup(ctx, r.ARN)
	}
	return fmt.Errorf("unsupported kind %s", r.Ref.Kind)
}
