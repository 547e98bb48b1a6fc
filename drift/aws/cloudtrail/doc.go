// Package cloudtrail tells who changed an AWS resource, from CloudTrail.
//
// # Events
//
// An EventBridge rule can send an account's CloudTrail management events
// (detail-type "AWS API Call via CloudTrail") to an SQS queue. Queue reads
// it with long polling; ParseEventBridge reads one message (anything else
// is ErrMalformed, whose text never quotes the body); Record.Resources maps
// a successful write to the supported resources it names (the bucket of
// an S3 bucket call, the role of an IAM call naming one, else its managed
// policy, the security groups of an EC2 call, by name or id); Record.Actor
// is its userIdentity: principal ARN, session issuer, source address, call
// and time. Event.InAccount checks the envelope's account and the record's
// recipientAccountId against the configured account.
//
// # Attribution
//
// Store keeps the newest event per resource and is the account's
// driftaws.ActorResolver: a re-delivered or older event changes nothing.
// For a resource no event named it asks its fallback: Lookup
// (LookupEvents by resource name, at CloudTrail's 2 requests per second)
// and LogFiles (a trail's gzip JSON log files in S3, in the documented
// AWSLogs/<account>/CloudTrail/<region>/YYYY/MM/DD/ layout), in a Chain.
// When nothing names the resource the actor stays explicitly unknown.
// Each fallback lookup gets FallbackTimeout, and none starts within
// FallbackReserve of the caller's deadline.
//
// A comparison that finds a resource in sync calls Store.Settled: an event
// or a fallback's write older than that explains no later drift, so a
// change whose event never came (or whose log file has not arrived yet)
// is "unknown", never pinned on the previous writer.
//
// The package reads only; it never logs or decides: reconciler reads the
// queue, logs, counts and wakes targets.
package cloudtrail
