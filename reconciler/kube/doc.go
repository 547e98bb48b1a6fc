// Package kube is the cluster side of trueup: server-side apply in stages,
// the per-target inventory, pruning, and the watch of managed objects.
//
// # One Cluster per cluster
//
// NewCluster builds, once, everything that talks to one API server: an HTTP
// client, a lazily discovering REST mapper, a controller-runtime client, a
// kstatus poller, an ssa.ResourceManager (field manager "trueup") and a
// dynamic client for watches. Every target and every reconcile on that
// cluster shares them; building clients per reconcile is what made one Flux
// release six times slower. Client exposes the controller-runtime client to
// the drift detector.
//
// # Apply
//
// The caller renders a target, calls Prepare (label trueup.dev/target, fill in
// the target's default namespace where the kind is namespaced), then Apply.
// Apply groups the objects like ssa.ApplyAllStaged: definitions (CRDs,
// Namespaces, ClusterRoles), classes (kinds named *Class), then everything
// else. For each stage it first runs a server-side dry-run of every object
// and compares it with the live object (ssa's Diff, honoring ignore rules);
// only when the whole stage passes does it apply the changed objects, and it
// waits for definitions and classes to be ready before the next stage. So a
// stage that fails validation applies nothing, and a failure names every
// object that failed, not just the first.
//
// ssa's own ApplyAll also dry-runs a whole set before applying any of it, but
// this package does not use it (nor ApplyAllStaged): ApplyAll returns no
// change set on error and only the first error, its force path deletes an
// object during the dry-run phase (before the rest of the stage is
// validated), ssa treats every Invalid or Conflict answer as an immutable
// field, and ApplyAllStaged waits without the caller's context.
//
// An immutable-field change fails with ErrImmutable and a hint, unless the
// target sets Force or the object (desired or live) is annotated
// trueup.dev/force=enabled: then the live object is deleted, waited for, and
// created again. Who may apply over a live object is decided in one place,
// Adopt (CheckAdoption for the error): a live object labelled for another
// target is always refused (ErrOwnedByOtherTarget); one with no label is
// taken over only when the caller allows adoption or the object is
// annotated trueup.dev/adopt: <target>, else refused (ErrNotAdopted, with
// the kubectl command that allows it). The reconciler runs the same check
// on the live objects its comparison read before it calls Apply, so a
// refusal applies nothing; Apply repeats it in each stage's dry-run
// (ApplyOptions.AdoptAnnotatedOnly) for objects that appeared since.
//
// After the last stage Apply waits for every object to be healthy (kstatus),
// prunes, and records the inventory. DryRun sends every request as a
// server-side dry-run and writes nothing.
//
// # Inventory and prune
//
// A target's inventory is the ConfigMap trueup-inventory-<target> in the
// inventory namespace (default trueup-system): the sorted list of object
// refs it applied and has not deleted, so a restarted or a second daemon
// knows exactly what the target owns. It is written only after every stage
// applied and the objects became healthy; a failure before that leaves the
// previous inventory as it was. With RecordUnhealthy a failed health wait
// records every applied object too, but keeps the revision annotation
// (trueup.dev/revision) at the last healthy revision and notes the failed
// one as trueup.dev/attempted-revision until an apply comes out healthy
// (Inventory.Applied). Reading it distinguishes "missing" (Found false,
// empty) from "could not read" (an error, never an empty inventory).
//
// Prune is the inventory minus the render, computed by the pure PlanPrune:
// it refuses an empty render unless AllowEmpty, blocks the whole prune when
// it would exceed Max (or MaxPercent of the inventory), and releases objects
// annotated trueup.dev/prune: disabled. Deletions go through ssa with the
// target's label as the inclusion selector, always, so two targets on one
// cluster never delete each other's objects; a Namespace another target's
// inventory uses, or the inventory namespace, is never deleted. Nor is a
// Namespace trueup did not create: the inventory lists the Namespaces whose
// apply the API server answered "created" (data key createdNamespaces,
// within format v1; inventories written before it list none), and a
// Namespace that left the render without that mark is released instead of
// deleted: its trueup.dev/target label is removed and it leaves the
// inventory, with everything in it untouched. The next inventory is the
// render plus every object not deleted (blocked, failed).
//
// The caller must not call Apply when a fetch or a render failed: an empty
// object list means Git wants nothing.
//
// # Watch
//
// Cluster.Watch runs one informer per kind (the kinds of the inventories)
// over objects labelled trueup.dev/target, cluster-wide, and reports every
// change with its target, ref and resourceVersion. Live answers from the
// informers' cache, so a steady-state reconcile needs no API request. Add
// watches more kinds as inventories grow; the watcher stops with its context.
//
// # Acting as a ServiceAccount
//
// Cluster.Impersonate returns the cluster acting as a tenant's
// ServiceAccount: every request a target makes through it (dry-runs,
// applies, health polling, reads and deletions of a prune, journal checks)
// impersonates system:serviceaccount:<namespace>:<name>, so the cluster's
// RBAC has the last word. It shares the REST mapper and the watch client
// with its base, and reads and writes inventories with trueup's own
// identity (a ServiceAccount that could write the inventory namespace
// could rewrite another tenant's inventory). A refusal is a
// *ForbiddenError: the API server's message (verb, resource, namespace),
// the ServiceAccount, and what to grant.
//
// # Errors
//
// Errors start with the target and the object (target "web":
// Deployment.apps/web/web: apply: ...), wrap their cause, and IsRetryable
// tells transient failures (connection, timeouts, throttling, 5xx,
// conflicts) from terminal ones (invalid, forbidden, immutable without force,
// ownership, unhealthy). The package never logs; Progress callbacks and the
// Result tell the caller what happened.
package kube
