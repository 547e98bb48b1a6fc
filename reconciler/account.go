package reconciler

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/trueup-dev/trueup/drift"
	driftaws "github.com/trueup-dev/trueup/drift/aws"
	"github.com/trueup-dev/trueup/reconciler/aws"
	"github.com/trueup-dev/trueup/reconciler/config"
	"github.com/trueup-dev/trueup/reconciler/history"
	"github.com/trueup-dev/trueup/reconciler/kube"
)

// AccountDestination is one cloud account with its clients built once.
type AccountDestination struct {
	// Account acts with the account's own identity (its assumeRole, or the
	// base credentials): for the targets that assume no role of their own
	// or their tenant's, and for the account-wide unmanaged report.
	Account *driftaws.Account
	// Roles are the clients of the roles that targets of the account
	// assume themselves or through their tenant, keyed by
	// config.AssumeRole.Key: one per distinct role, shared by the targets
	// that assume it. New refuses a target whose role has none here.
	Roles map[string]*driftaws.Account
	// Unmanaged selects what unmanaged resources of the account are
	// reported (by tag and name prefix); nil reports none.
	Unmanaged *driftaws.Filter
	// UnmanagedKinds are the kinds scanned for unmanaged resources, whether
	// or not Git declares any of them; empty scans every supported kind.
	UnmanagedKinds []string
	// Events, when set, reads the account's CloudTrail events: a write
	// wakes the targets that declare what it names, at once.
	Events *AccountEvents
}

// WithAccounts sets the cloud accounts, keyed by account name; they must
// cover every account a target names.
func WithAccounts(accounts map[string]*AccountDestination) Option {
	return func(r *Reconciler) { r.accounts = accounts }
}

// actingAccount returns the client target t reads and writes its account
// with: its own or its tenant's role, else the account's identity.
func (r *Reconciler) actingAccount(t *config.Target, a *AccountDestination) *driftaws.Account {
	if ar := r.cfg.ActingRoleOf(t); ar.Own {
		return a.Roles[ar.Role.Key()] // New checked it is there
	}
	return a.Account
}

// checkAccounts makes sure every account target has the client of the
// role it acts as, so none falls back to the account's identity.
func (r *Reconciler) checkAccounts() error {
	for i := range r.cfg.Targets {
		t := &r.cfg.Targets[i]
		if t.Account == "" {
			continue
		}
		a, ok := r.accounts[t.Account]
		if !ok {
			return fmt.Errorf("target %q: no client for account %q", t.Name, t.Account)
		}
		if ar := r.cfg.ActingRoleOf(t); ar.Own && a.Roles[ar.Role.Key()] == nil {
			return fmt.Errorf("target %q: no client for role %s (the assumeRole of %s) in account %q", t.Name, ar.Role.RoleARN, ar.From, t.Account)
		}
	}
	return nil
}

// identityError says which role of the config a refused identity came
// from, when it is the target's or its tenant's.
func (r *Reconciler) identityError(t *config.Target, err error) error {
	if ar := r.cfg.ActingRoleOf(t); ar.Own {
		return fmt.Errorf("assumeRole of %s: %w", ar.From, err)
	}
	return err
}

// appliedRevisions remembers, per account target, the last revision applied.
// A cluster keeps it in the target's inventory; an account has no such
// place, so it comes from the history on first use.
type appliedRevisions struct {
	mu  sync.Mutex
	rev map[string]string
}

func (a *appliedRevisions) get(target string) (string, bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	rev, ok := a.rev[target]
	return rev, ok
}

// forget drops what is remembered of target: the history says again.
func (a *appliedRevisions) forget(target string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	delete(a.rev, target)
}

func (a *appliedRevisions) set(target, rev string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.rev == nil {
		a.rev = map[string]string{}
	}
	a.rev[target] = rev
}

// appliedRevision returns the revision last applied to an account target:
// remembered, or the revision of its newest reconcile in the history that
// did not leave a revision pending or fail. "" when none is known.
func (r *Reconciler) appliedRevision(ctx context.Context, target string) string {
	if rev, ok := r.applied.get(target); ok {
		return rev
	}
	rev := ""
	if r.rec.history != nil {
		recs, err := r.rec.history.Query(ctx, history.Filter{Target: target,
			Types: []string{history.TypeReconcile, history.TypeManual}, Desc: true, Limit: 200})
		if err != nil {
			return "" // unknown: the next reconcile applies the render again, which is safe
		}
		for _, rec := range recs {
			if done := []string{string(ActionApplied), string(ActionHealed), string(ActionInSync), string(ActionDetected), string(ActionUnknown)}; slices.Contains(done, rec.Outcome) {
				rev = rec.Revision
				break
			}
		}
	}
	r.applied.set(target, rev)
	return rev
}

// lastRefs are the objects of a target's last render, when it is loaded
// here.
func (r *Reconciler) lastRefs(target string) ([]drift.ObjectRef, bool) {
	st := r.targetState(target)
	if st == nil || st.lastDesired() == nil {
		return nil, false
	}
	d, err := st.lastDesired().unpack()
	if err != nil {
		return nil, false // read as not loaded: what carries its tag is its own
	}
	refs := make([]drift.ObjectRef, len(d.Objects))
	for i, o := range d.Objects {
		refs[i] = drift.RefOf(o.Object)
	}
	return refs, true
}

// planAccount loads a target's desired cloud resources and compares them
// with the account. Reads that fail come back as unknown reports, never as
// drift; a failed listing of what the target tagged or of unmanaged
// resources is an unknown report too ("Kind/*"), never "nothing to prune"
// or "nothing unmanaged". Every read runs within the target's timeout:
// what a hung call did not read by then is unknown.
func (r *Reconciler) planAccount(ctx context.Context, t *config.Target, st *targetState, a *AccountDestination, po planOptions) (*Plan, error) {
	d, objs, err := r.desired(ctx, t, st, po)
	if err != nil {
		return nil, err
	}
	ctx, cancel := withTargetTimeout(ctx, t)
	defer cancel()
	if _, err := driftaws.DecodeAll(objs); err != nil {
		return nil, &StageError{Stage: StagePrepare, Revision: d.Revision, Err: err}
	}
	acct := r.actingAccount(t, a)
	if err := acct.CheckIdentity(ctx); err != nil {
		return nil, &StageError{Stage: StageCluster, Revision: d.Revision, Err: r.identityError(t, err)}
	}
	// Compare also returns an error when some objects are unknown; their
	// reports say so, and the rest of the report stands.
	compared := r.now()
	rep, err := acct.Compare(ctx, objs, r.ignoreRules(t))
	a.Events.settle(rep, compared)
	if err != nil && (len(rep.Objects) != len(objs) || !errors.Is(err, driftaws.ErrUnknown)) {
		return nil, &StageError{Stage: StageCluster, Revision: d.Revision, Err: err}
	}
	origins := map[drift.ObjectRef]string{}
	for _, o := range d.Objects {
		origins[drift.RefOf(o.Object)] = o.Origin.File
	}
	for i := range rep.Objects {
		rep.Objects[i].Origin = origins[rep.Objects[i].Ref]
	}
	inv := kube.Inventory{Target: t.Name, Revision: r.appliedRevision(ctx, t.Name)}
	inv.Found = inv.Revision != ""
	managed, err := acct.Managed(ctx, t.Name)
	for _, m := range managed {
		inv.Objects = append(inv.Objects, m.Ref)
	}
	pending := pendingPrune(inv, objs)
	rep.Objects = append(rep.Objects, pending...)
	rep.Objects = append(rep.Objects, driftaws.UnknownListings(err, "resources pending prune")...)
	rep.Objects = append(rep.Objects, r.unmanaged(ctx, t, a, objs, pending)...)
	rep.Target, rep.Revision, rep.Time = t.Name, d.Revision.Commit, r.now()
	return &Plan{Target: t.Name, Desired: d, Objects: objs, Report: rep, Inventory: inv}, nil
}

// unmanaged reports resources of the account's unmanaged kinds (every
// supported kind by default) that no target of the account declares, when
// the account asks for them. The listing is account-wide, so it is read
// with the account's own identity, not the target's role (which may see
// only the target's share of the account). What the target tagged and Git
// dropped (pending) is the target's, not unmanaged. A target whose desired
// state is not loaded here counts with what carries its tag. A listing
// that fails is an unknown report.
func (r *Reconciler) unmanaged(ctx context.Context, t *config.Target, a *AccountDestination, objs []*unstructured.Unstructured, pending []drift.ObjectReport) []drift.ObjectReport {
	if a.Unmanaged == nil {
		return nil
	}
	var declared []drift.ObjectRef
	for _, o := range objs {
		declared = append(declared, drift.RefOf(o))
	}
	for _, p := range pending {
		declared = append(declared, p.Ref)
	}
	for _, other := range r.cfg.Targets {
		if other.Account != t.Account || other.Name == t.Name {
			continue
		}
		if refs, ok := r.lastRefs(other.Name); ok {
			declared = append(declared, refs...)
			continue
		}
		// Not loaded here (another daemon, or not reconciled yet): what
		// carries its tag is its own.
		managed, err := a.Account.Managed(ctx, other.Name)
		if err != nil {
			return driftaws.UnknownListings(err, fmt.Sprintf("unmanaged resources (what target %q tagged)", other.Name))
		}
		for _, m := range managed {
			declared = append(declared, m.Ref)
		}
	}
	reps, err := a.Account.Unmanaged(ctx, a.UnmanagedKinds, *a.Unmanaged, declared)
	if err != nil && len(reps) == 0 {
		return driftaws.UnknownListings(err, "unmanaged resources")
	}
	return reps // a kind not listed is an unknown report in reps
}

// withTargetTimeout bounds the live reads and writes of one reconcile of t
// by its timeout.
func withTargetTimeout(ctx context.Context, t *config.Target) (context.Context, context.CancelFunc) {
	if t.Timeout.Duration <= 0 {
		return context.WithCancel(ctx)
	}
	return context.WithTimeout(ctx, t.Timeout.Duration)
}

// applyAccount applies to a cloud account what applyCluster applies to a
// cluster, with the same prune limits.
func (r *Reconciler) applyAccount(ctx context.Context, t *config.Target, a *AccountDestination, objs []*unstructured.Unstructured, retain []drift.ObjectRef, plan *Plan, opts ReconcileOptions, withPrune bool) (*kube.Result, error) {
	ao := aws.DefaultApplyOptions()
	ao.Retain = retain
	ao.DryRun = opts.DryRun
	ao.Ignore = r.ignoreRules(t)
	if t.Concurrency > 0 {
		ao.Concurrency = t.Concurrency
	}
	if withPrune {
		p := prunePolicy(t)
		ao.Prune = aws.PruneOptions{Enabled: p.Enabled, AllowEmpty: p.AllowEmpty, Max: p.Max, MaxPercent: p.MaxPercent}
	}
	ctx, cancel := withTargetTimeout(ctx, t)
	defer cancel()
	res, err := aws.Apply(ctx, r.actingAccount(t, a), t.Name, objs, ao)
	if err == nil && withPrune && !opts.DryRun {
		r.applied.set(t.Name, plan.Desired.Revision.Commit)
	}
	return res, err
}
