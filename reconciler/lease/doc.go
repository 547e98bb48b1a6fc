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
// A replica reconciles a target only while it holds the target's Lease and
// its own membership Lease is renewed: the membership is the heartbeat of
// every target its holder holds. Acquiring is an update with the Lease's
// resourceVersion (optimistic concurrency: of two replicas racing, the API
// server lets one win) or a create that only one can win; a replica
// acquires nothing before its membership is renewed. A target Lease held by
// another replica is taken over only once that replica's membership Lease
// has expired (or, when the holder has no membership Lease, once the target
// Lease itself has not changed for leaseDuration). As in client-go's
// leaderelection, expiry is judged by the local clock from the moment this
// replica first saw the Lease's current version, never from the other
// replica's clock.
//
// Target Leases are written when they change hands, and otherwise renewed
// only every third of a long duration (40 × leaseDuration, 10 minutes at
// the defaults) that they state, so that a reader judging a target Lease
// alone (kubectl, a replica of an earlier version during a rolling update,
// which renewed every Lease every few seconds) never sees a held target
// expire.
//
// # Giving a target up
//
//   - Assigned elsewhere (a replica joined): the target's loop is stopped
//     and its reconcile in flight finishes while the Lease is still renewed;
//     then the holder is cleared and the new owner takes it at once.
//   - Membership not renewed for renewDeadline (the API server is out of
//     reach), or the target Lease written by another: the loop is stopped
//     at once; its reconcile in flight gets leaseDuration-renewDeadline-
//     retryPeriod to end, before another replica may see the membership
//     expire.
//   - SIGKILL: nothing is released; the Leases expire after leaseDuration
//     and the other replicas take the targets over.
//
// # Cost and metrics
//
// A replica lists the Leases once per retryPeriod, renews its membership
// every renewDeadline/3 (checked each retryPeriod), and each target Lease it
// holds every 200 s: at the defaults about 30 + 15 + 0.3 × held requests a
// minute (65 for 67 targets, where renewing every target Lease every few
// seconds cost about 1,050). Its API client is given a rate limit and a
// burst for the Leases it could take at once (ClientRateLimit). Metrics (NewMetrics, once per process): trueup_ha_replicas,
// trueup_ha_targets_owned, trueup_ha_target_acquired_total{how},
// trueup_ha_target_released_total{reason}, trueup_ha_lease_requests_total.
//
// Why not client-go's leaderelection per target: it runs a goroutine and a
// renew loop per Lease and elects a leader for each, but knows nothing of
// which replica should hold which target, so it cannot rebalance; one loop
// here lists every Lease once per retryPeriod and renews only what it holds.
package lease
