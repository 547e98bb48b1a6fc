// Package drift compares desired objects with live state and reports what
// differs, field by field.
//
// A Report lists every object of a target with a Status: in-sync, drifted,
// missing, pending-prune, unmanaged or unknown. A drifted object carries
// FieldDiffs: JSON-pointer paths with the live and desired values and, when
// it can be told, the Actor who wrote the live value. Secret values are
// masked where the diff is computed, never where it is printed.
//
// Ignore rules select objects (group, kind, name, namespace, labels) and name
// JSON-pointer paths that are neither drift nor reverted.
//
// The package never notifies, logs or decides remediation: it returns
// reports. drift/kube compares against a Kubernetes cluster with server-side
// dry-run apply; drift/aws (later) against a cloud account.
package drift
