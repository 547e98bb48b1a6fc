// Package git fetches Git sources with go-git, verifies their commits,
// reads the files of a commit from the object store, and pushes commits of
// trueup's own to branches of a source.
//
// # Model
//
// A Source names a repository (local path, file://, http(s) or ssh URL), one
// reference to follow (a branch, a tag, the highest tag matching a semver
// range, or a pinned commit), credentials and a verification policy. A
// Client, made once with New, keeps one bare repository per source under its
// cache directory (<cacheDir>/<source name>) and is shared by every target
// that uses the source. Calls for one source are serialised by a per-source
// lock and, across processes, by a lock file next to the cache; calls for
// different sources run in parallel.
//
// Fetch lists the remote's references first. When the reference still points
// at the commit the cache holds, nothing is fetched; when it moved, go-git
// fetches the missing objects into the existing cache; when it was rewritten
// (the previous commit is not an ancestor of the new one), a forced refspec
// takes the new history and the revision says ForcePushed, with the commit it
// replaces in Previous. A pinned commit already in the cache is served
// without contacting the remote. The resolved commit is verified before it
// is returned: with Verify.Mode "head" it must carry an OpenPGP or SSH
// (sshsig) signature from a trusted key, or Fetch fails with ErrUnverified
// and returns no revision.
//
// ReadTree lists every regular file of a cached commit's tree, keyed by
// repository-relative slash paths, and lets its caller read the files it
// needs, from the object store and never from a worktree; ReadFiles reads
// them all. The per-file, total-size and file-count limits (ReadOptions,
// else the source's Limits, else the defaults) count the files read, and a
// file's size is checked against its object header before it is inflated. Symlinks inside the target path are followed only when they
// resolve inside it; one that points elsewhere is an ErrSymlinkEscape.
// Symlinks outside the target path are left out and submodules are skipped.
//
// A fetch receives its pack through a guard that reads each object's header
// before go-git sees the object: an object larger than the source's total
// size limit fails the fetch with ErrLimitExceeded without being inflated,
// so a huge blob anywhere in the history cannot make go-git, which indexes
// a pack by inflating each object into memory, exhaust the daemon's memory.
// Every call for a source (ls-remote, fetch, push, read) runs under the
// source's Timeout, else the Client's.
//
// # Writing back and pull request heads
//
// Push writes one commit on top of a cached commit and force-pushes it to a
// branch of trueup's own (never the tracked branch), with the source's
// credentials. The commit is built in the cache's object store, not in a
// worktree: blobs for the given files and, on their paths only, trees
// rebuilt from the base commit's trees, so every other entry and file mode
// stays as it was. Paths that leave the tree or go through a file or a
// symlink are refused. Before pushing, Push looks at the remote branch:
// when it already holds a commit with the same tree and parent, no commit
// is made, nothing is pushed and the result says Unchanged, so a reconcile
// that runs again does not make a new commit each time. DeleteBranch removes such a branch;
// one already gone is not an error.
//
// CommitBranch is the one write to the tracked branch, for `trueup
// bootstrap`: a commit on top of the branch's tip (or the first commit of
// an empty repository), pushed without force, so the remote refuses it when
// the branch moved meanwhile (ErrBranchMoved). When the tip already holds
// the files nothing is pushed (Unchanged); IfAbsent files are written only
// where the tip has none. It moves the cache's copy of the branch, as a
// fetch of the pushed commit would.
//
// FetchRef fetches any reference of the remote by its full name (the head
// of a pull request, refs/pull/7/head, or another branch) into the cache
// and verifies its commit as Fetch does, so ReadFiles can read it for a
// preview. Push and FetchRef keep what they touch under private names
// (refs/trueup/push/..., refs/trueup/fetched/...) and never move what Fetch
// follows: the tracked branch, the commit the source last resolved to, and
// so the Previous and ForcePushed of the next revision and LastGood.
//
// # Failures
//
// A failed Fetch changes nothing a caller relies on: LastGood still returns
// the previous revision and ReadFiles can still read it. Every error names
// the source and, where one was involved, the remote URL with credentials
// removed, and wraps a sentinel (ErrUnreachable, ErrAuth, ErrHostKey,
// ErrRefNotFound, ErrUnverified, ErrInvalidRequest, ...) for errors.Is. IsRetryable tells a
// transient failure (network, timeout, server error) from one that needs a
// change of configuration or of the repository. The package never logs and
// never prints a secret: Auth formats without its values.
package git
