// Package kube detects drift between desired Kubernetes objects and a live
// cluster.
//
// Drift is what a server-side apply of the desired object would change on
// the live object. A Detector asks the API server for exactly that: it sends
// the desired object as a server-side apply with dryRun=All, force and
// trueup's field manager, and compares the object the server would store
// with the live one. Defaults the server adds (a Deployment's strategy, a
// container's terminationMessagePath), fields other managers own and
// conversions of the server's own making are therefore never drift; a field
// trueup applied and someone changed with kubectl is.
//
// The one exception, which saves the dry-run of an object in sync: when
// the live object already holds every field of the desired one at the same
// value, and trueup's own managedFields entry holds exactly these fields,
// an apply can neither set nor remove anything, and CompareAll reports the
// object InSync without asking the server (drift.ApplyUnchanged). Compare
// itself always dry-runs: its live object may come from a cache that lags. Whatever that check
// cannot prove (a value the server normalises, a field another manager
// took over, a list it cannot match item by item) goes to the dry-run.
//
// Both objects are normalised before the comparison: status, the
// server-managed metadata (managedFields, resourceVersion, generation, uid,
// creationTimestamp, selfLink) and kubectl's last-applied-configuration
// annotation are left out. The field diff itself, ignore rules, masking of
// Secret values and the attribution of each changed field to the field
// manager that wrote it live come from package drift; see drift.DiffFields,
// drift.MaskSecret and drift.Attribute.
//
// A Detector holds one controller-runtime client for one cluster and is safe
// for concurrent use: build it once per cluster and reuse it (a client and
// REST mapper per reconcile is what made one Flux release six times
// slower). It never logs, never notifies and never writes to the cluster;
// it returns reports and errors with the object's identity in front
// (Deployment.apps/shop/web: dry-run apply: ...). A dry-run rejected
// because it would change an immutable field matches ErrImmutable.
package kube
