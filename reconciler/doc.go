// Package reconciler is trueup's orchestrator: the only package that ties
// sources, drift and notifications together.
//
// Every reconcile of a target runs the same pipeline: load the desired state
// (fetch the source, read the target's path at the commit from the object
// store, render it), prepare the objects for the destination (target label,
// default namespace), compare them with live state, then decide per target
// policy: apply new commits (auto or manual), heal or report live drift,
// prune what left Git within the safety limits, and record what happened.
//
// Library packages below it return results; the reconciler logs, records
// and notifies. Subpackages hold the parts with their own state: config
// (trueup.yaml), kube (one client, mapper and watch per cluster; inventory
// and prune).
package reconciler
