package main

import (
	"context"
	"fmt"
	"time"

	driftaws "github.com/trueup-dev/trueup/drift/aws"
	"github.com/trueup-dev/trueup/drift/aws/cloudtrail"
	"github.com/trueup-dev/trueup/reconciler"
	"github.com/trueup-dev/trueup/reconciler/config"
)

// newAccounts builds, per account the targets name, one AWS client for the
// account's own identity and one per distinct role its targets assume
// themselves or through their tenant. No call reaches AWS here: the first
// reconcile checks each client's caller identity.
func newAccounts(ctx context.Context, cfg *config.Config, targets []*config.Target) (map[string]*reconciler.AccountDestination, error) {
	out := map[string]*reconciler.AccountDestination{}
	for i, a := range cfg.Accounts {
		if !named(targets, func(t *config.Target) string { return t.Account }, a.Name) {
			continue
		}
		path := fmt.Sprintf("accounts[%d]", i)
		base := driftaws.Config{AccountID: a.AccountID, Region: a.Region, Endpoint: a.Endpoint, Profile: a.Profile,
			CallTimeout: driftaws.CallTimeoutFor(shortestTimeout(targets, a.Name), 0)}
		// With events or CloudTrail, every client of the account
		// attributes drift through one store of the newest event per
		// resource.
		var store *cloudtrail.Store
		var opts []driftaws.Option
		if a.Events != nil || a.CloudTrail != nil {
			store = cloudtrail.NewStore()
			opts = append(opts, driftaws.WithActorResolver(store))
		}
		acct, err := newRoleAccount(ctx, base, a.AssumeRole, "", opts...)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		d := &reconciler.AccountDestination{Account: acct, Roles: map[string]*driftaws.Account{}}
		if store != nil {
			d.Events = accountEvents(a, acct, store)
		}
		if u := a.Unmanaged; u != nil {
			d.Unmanaged = &driftaws.Filter{NamePrefixes: u.NamePrefixes, Tags: u.Tags}
			d.UnmanagedKinds = u.Kinds
		}
		for _, t := range targets {
			ar := cfg.ActingRoleOf(t)
			if t.Account != a.Name || !ar.Own || d.Roles[ar.Role.Key()] != nil {
				continue
			}
			if ar.Role.Key() == a.AssumeRole.Key() {
				d.Roles[ar.Role.Key()] = acct
				continue
			}
			c, err := newRoleAccount(ctx, base, ar.Role, ar.SessionName(), opts...)
			if err != nil {
				return nil, fmt.Errorf("%s (account %q): %w", ar.From, a.Name, err)
			}
			d.Roles[ar.Role.Key()] = c
		}
		out[a.Name] = d
	}
	return out, nil
}

// newRoleAccount builds the client of base that assumes role (none: the
// base credentials) with session (empty: the role's sessionName). The
// external id is read here and kept only in the client's credential
// provider.
func newRoleAccount(ctx context.Context, base driftaws.Config, role *config.AssumeRole, session string, opts ...driftaws.Option) (*driftaws.Account, error) {
	ac := base
	if role != nil {
		if session == "" {
			session = role.SessionName
		}
		ac.AssumeRole = &driftaws.AssumeRole{RoleARN: role.RoleARN, SessionName: session, Duration: time.Hour}
		if role.ExternalIDFrom != nil {
			id, err := role.ExternalIDFrom.Resolve()
			if err != nil {
				return nil, fmt.Errorf("assumeRole.externalIDFrom: %w", err)
			}
			ac.AssumeRole.ExternalID = id.Reveal()
		}
	}
	return driftaws.NewAccount(ctx, ac, opts...)
}

// accountEvents sets the store's fallback (CloudTrail LookupEvents, then
// the trail's log files) and returns the account's events: its queue, if
// it has one, and the store.
func accountEvents(a config.Account, acct *driftaws.Account, store *cloudtrail.Store) *reconciler.AccountEvents {
	if ct := a.CloudTrail; ct != nil {
		var chain cloudtrail.Chain
		if ct.Lookup() {
			chain = append(chain, cloudtrail.NewLookupClient(acct.SDKConfig()))
		}
		if ct.S3Bucket != "" {
			regions := []string{a.Region}
			if a.Region != "us-east-1" {
				regions = append(regions, "us-east-1") // IAM's global events
			}
			chain = append(chain, cloudtrail.NewLogFiles(acct.SDKConfig(), cloudtrail.LogFilesConfig{
				Bucket: ct.S3Bucket, Prefix: ct.Prefix, AccountID: a.AccountID, Regions: regions, Days: ct.Days}, nil))
		}
		store.SetFallback(chain)
	}
	ev := &reconciler.AccountEvents{Actors: store}
	if a.Events != nil {
		ev.Queue = cloudtrail.NewQueue(acct.SDKConfig(), a.Events.SQSQueueURL, a.Events.Wait())
	}
	return ev
}

// named reports whether a target names want through field.
func named(targets []*config.Target, field func(*config.Target) string, want string) bool {
	for _, t := range targets {
		if field(t) == want {
			return true
		}
	}
	return false
}

// shortestTimeout is the shortest timeout of the targets in account: each
// bounds a whole read of the account, so its calls must fit in it.
func shortestTimeout(targets []*config.Target, account string) time.Duration {
	shortest := config.DefaultTargetTimeout
	for _, t := range targets {
		if t.Account == account && t.Timeout.Duration > 0 {
			shortest = min(shortest, t.Timeout.Duration)
		}
	}
	return shortest
}
