// Package sources turns a Git source into desired state.
//
// The model has two steps. sources/git fetches a revision of a repository,
// verifies it and reads the files of one path at that commit straight from
// the object store (never from a worktree), so a malicious repository cannot
// reach outside its tree. sources/render turns those files into Kubernetes-
// style objects, either plain YAML/JSON or through kustomize, each object
// remembering the file and document it came from.
//
// This package holds the plain data types the two steps exchange with the
// rest of trueup: Revision, Files and Object. It talks to no cluster and no
// cloud, and it never logs: callers decide what to do with results.
package sources
