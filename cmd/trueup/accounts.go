package main

import (
	"context"
	"fmt"
	"time"

	driftaws "github.com/trueup-dev/trueup/drift/aws"
	"github.com/trueup-dev/trueup/reconciler"
	"github.com/trueup-dev/trueup/reconciler/config"
)

// newAccounts builds one AWS client per account the targets name. No call
// reaches AWS here: the first reconcile checks the caller's identity.
func newAccounts(ctx context.Context, cfg *config.Config, targets []*config.Target) (map[string]*reconciler.AccountDestination, error) {
	out := map[string]*reconciler.AccountDestination{}
	for i, a := range cfg.Accounts {
		if !named(targets, func(t *config.Target) string { return t.Account }, a.Name) {
			continue
		}
		path := fmt.Sprintf("accounts[%d]", i)
		ac := driftaws.Config{AccountID: a.AccountID, Region: a.Region, Endpoint: a.Endpoint, Profile: a.Profile,
			CallTimeout: driftaws.CallTimeoutFor(shortestTimeout(targets, a.Name), 0)}
		if ar := a.AssumeRole; ar != nil {
			ac.AssumeRole = &driftaws.AssumeRole{RoleARN: ar.RoleARN, SessionName: ar.SessionName, Duration: time.Hour}
			if ar.ExternalIDFrom != nil {
				id, err := ar.ExternalIDFrom.Resolve()
				if err != nil {
					return nil, fmt.Errorf("%s.assumeRole.externalIDFrom: %w", path, err)
				}
				ac.AssumeRole.ExternalID = id.Reveal()
			}
		}
		acct, err := driftaws.NewAccount(ctx, ac)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		d := &reconciler.AccountDestination{Account: acct}
		if u := a.Unmanaged; u != nil {
			d.Unmanaged = &driftaws.Filter{NamePrefixes: u.NamePrefixes, Tags: u.Tags}
			d.UnmanagedKinds = u.Kinds
		}
		out[a.Name] = d
	}
	return out, nil
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
