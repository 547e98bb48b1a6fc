// Package lease shares a daemon's targets between replicas with
// coordination.k8s.io/v1 Leases, so that several `trueup serve` processes
// reconcile each target exactly once.
//
// # Model
//
// Every replica holds a membership Lease (trueup-member-<id>) that it renews;
// the live members are the membership Leases that are held and not expired.
// Every target has a Lease of its own (trueup-target-<name>-<hash>). A target
// is assigned to one live member by rendezvous hashing (the member with the
// highest hash of member and target), so a member joining or leaving moves
// only its share of targets. A replica tries to acquire only the Leases of
// the targets assigned to it, and gives up the ones assigned elsewhere.
//
// A replica reconciles a target only while it holds the target's Lease.
// Acquiring is an update with the Lease's resourceVersion (optimistic
// concurrency: of two replicas racing, the API server lets one win) or a
// create that only one can win. A Lease held by another replica is taken
// over only once it is expired; as in client-go's leaderelection, expiry is
// judged by the local clock from the moment this replica first saw the
// Lease's current version, never from the other replica's clock.
//
// # Giving a target up
//
//   - Assigned elsewhere (a replica joined): the target's loop is stopped
//     and its reconcile in flight finishes while the Lease is still renewed;
//     then the holder is cleared and the new owner takes it at once.
//   - Not renewed for renewDeadline (the API server is out of reach, or
//     another replica holds it): the loop is stopped at once; its reconcile
//     in flight gets leaseDuration-renewDeadline-retryPeriod to end, before
//     another replica may see the Lease expire.
//   - SIGKILL: nothing is released; the Leases expire after leaseDuration
//     and the other replicas take the targets over.
//
// # Cost and metrics
//
// A replica lists the Leases and renews its membership once per
// retryPeriod, and renews each target Lease it holds every renewDeadline/3:
// at the defaults about 30 + 15 × (1 + held) requests a minute. Its API
// client is given a rate limit for the Leases it could hold
// (ClientRateLimit); client-go's default (5 per second) keeps only about
// 15. Metrics (NewMetrics, once per process): trueup_ha_replicas,
// trueup_ha_targets_owned, trueup_ha_target_acquired_total{how},
// trueup_ha_target_released_total{reason}, trueup_ha_lease_requests_total.
//
// Why not client-go's leaderelection per target: it runs a goroutine and a
// renew loop per Lease and elects a leader for each, but knows nothing of
// which replica should hold which target, so it cannot rebalance; one loop
// here lists every Lease once per retryPeriod and renews only what it holds.
package lease
