// Package health evaluates custom health checks: CEL expressions per
// object kind (like Flux's healthCheckExprs) that say whether a live
// object is current, failed or in progress. They stand beside kstatus: a
// kind with a check is judged by it, every other kind by kstatus.
//
// An expression sees the object's top-level fields as variables
// (apiVersion, kind, metadata, spec, status, and data for ConfigMaps and
// Secrets); a field the object lacks is an empty map, so has(status.x)
// works before the object's controller wrote a status. The expressions are
// tried in the order inProgress, failed, current; the first that is true
// decides. None true: in progress. An expression that does not evaluate
// (a missing key, a wrong type) makes the object's status unknown with the
// error, so a wait ends unhealthy at its timeout and its error says why.
package health
