package main

import (
	"net/http"
	"time"

	"github.com/trueup-dev/trueup/reconciler"
	"github.com/trueup-dev/trueup/reconciler/auth"
	"github.com/trueup-dev/trueup/reconciler/config"
)

// targetActions is what the console shows of a target's operator actions
// (the forms post to the endpoints of actions.go).
type targetActions struct {
	// CanAct: the user may act on the target (role operator of its tenant,
	// or admin); the forms are shown only then.
	CanAct bool
	// Suspension is the target's run-time suspension, or the config's
	// (By "config": only a config change resumes it).
	Suspension *reconciler.Suspension
	// Accepted maps the objects whose drift is accepted to until when.
	Accepted map[string]time.Time
}

// ConfigSuspended says the config suspends the target (no resume button).
func (a targetActions) ConfigSuspended() bool {
	return a.Suspension != nil && a.Suspension.By == configSuspender
}

// configSuspender is the Suspension.By of a target the config suspends.
const configSuspender = "config"

// actionsOf reads a target's suspension and accepted drifts, and whether
// the request's user may act on it.
func (d *daemon) actionsOf(r *http.Request, t config.Target) targetActions {
	rec := d.gen().r
	a := targetActions{
		CanAct:     auth.FromContext(r.Context()).Allow(auth.Act, d.tenantOf(t.Name)).Allowed,
		Suspension: suspensionOf(rec, t),
		Accepted:   rec.Acceptances(t.Name),
	}
	return a
}

// suspensionOf is the target's suspension: the config's, else an
// operator's, nil when it runs.
func suspensionOf(rec *reconciler.Reconciler, t config.Target) *reconciler.Suspension {
	if t.Suspend {
		return &reconciler.Suspension{By: configSuspender, Reason: "suspend: true"}
	}
	return rec.Suspended(t.Name)
}
