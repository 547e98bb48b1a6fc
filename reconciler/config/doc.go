// Package config defines trueup.yaml: the one file a platform team writes to
// describe its Git sources, clusters, cloud accounts, targets, notifiers,
// history backend and HTTP server.
//
// Loading is strict and complete. The YAML is converted to JSON (duplicate
// keys are errors), its shape is checked against the Go types field by field
// so that every unknown field and every wrong type is reported with its field
// path (targets[2].prune.max) and a "did you mean" hint, then the semantic
// rules run: unique names, references that resolve, durations within bounds,
// exactly-one-of choices. All problems come back at once as Errors.
//
// Secrets are never written in the file. A field that needs one takes a
// SecretRef naming an environment variable or a file; the value is read only
// when the daemon wires its clients, and a resolved Secret prints as
// <redacted> in every format.
package config
