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
//
// Tenants (tenant.go): the plan of a tenant's target checks every prepared
// object against the tenant's namespaces, cluster-scoped kinds, denied
// kinds and createNamespaces before any request about them reaches the
// cluster, and fails at stage tenant listing each object, its rule and the
// fix. The target then acts through its ServiceAccount's Destination
// (DestinationKey), which shares the cluster's watch.
//
// A cloud account target acts as its own assumeRole, else its tenant's,
// else its account's (config.ActingRoleOf). Each distinct role has one
// client per process (AccountDestination.Roles); every read and write of
// the target goes through it, after its caller identity proved to be the
// configured account (credentials of another account fail the target
// before anything is read). The account-wide unmanaged report is read with
// the account's own identity.
//
// The audit trail survives crashes and database outages. Each apply keeps a
// write-ahead journal in dataDir/journal (journal.go): the intent lines of a
// stage are synced before any of its changes is sent, so after a SIGKILL the next reconcile
// of the target records every change the cluster accepted (judging an
// unanswered one on the live object) before it applies anything. Records
// reach the history through a queue (spool.go) that one goroutine drains
// in order; no lock is held while the database is called, a reconcile
// waits for its batch at most a few seconds, and what the database does
// not take goes to dataDir/history-spool, one file per batch, appended in
// order when it answers again, also by the next process.
//
// Guardrails and ordering (guard.go). A freeze window (config.FreezeWindow)
// open for a target holds its new revisions: the reconcile compares, applies
// nothing and ends frozen, with one freeze-held record and event per held
// revision; a timer wakes the target when the window ends. Drift heals
// during the window only when every open window allows heal; otherwise it
// is reported as in alert mode. OverrideFreeze lets the held revision
// through once, recorded with the operator and the reason (the record also
// carries it over a restart). A target with dependsOn does not plan at all
// until every dependency's last reconcile left its revision applied without
// error (healthy, when it waits for health; the history's last record when
// this process has not reconciled the dependency); it ends waiting, naming
// them, and a dependency that becomes ready here wakes it. Custom health checks (health.go, package health) judge the
// objects of a kind with CEL instead of kstatus when an apply waits.
//
// Operators act on targets (actions.go): reconcile now (served by the
// target's loop, as the user), suspend and resume, accept a drift episode
// for a while, open the drift's pull request. Each is a history record
// with the user as actor; suspensions and acceptances are read back from
// the history when the loops start and when a replica takes a target over.
// Only the replica owning a target acts on it; another answers
// NotOwnerError naming the owner.
//
// The platform metrics (metrics_platform.go: lead time, provisioning,
// drift episodes, remediation time, change failures, toil, errors, last
// success, notification deliveries) are computed from history records, by
// one tally (metrics_tally.go) that turns records into facts: the records
// this process stored (as the history returned them, so a record it drops
// is not counted), those other processes appended (Metrics.Follow reads
// them), a window replayed at start (Metrics.Restore), and for `trueup
// report` the records of a period (BuildReport). Live, restored and
// reported figures agree because they come from the same records.
package reconciler
