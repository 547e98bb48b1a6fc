package reconciler

import (
	"fmt"
	"strings"

	"github.com/trueup-dev/trueup/reconciler/kube"
)

// maxChangedListed bounds the objects a failed apply's error lists.
const maxChangedListed = 10

// partialError is a failed apply with what it changed before it failed.
// It unwraps to the failure alone, so IsRetryable and errors.Is/As judge
// the failure as before.
type partialError struct {
	err  error
	note string
}

func (e *partialError) Error() string   { return e.err.Error() + "; " + e.note }
func (e *partialError) Unwrap() []error { return []error{e.err} }

// withChanged completes a failed apply's error with what it changed in the
// cluster or account before it failed: nothing (a dry-run of the first failing stage
// refused it), or the objects created, configured and deleted, so no
// reader takes a partial apply for none or for a whole one.
func withChanged(err error, res *kube.Result, dryRun bool) error {
	if err == nil || res == nil || dryRun {
		return err
	}
	var changed []string
	for _, e := range res.Entries {
		switch e.Action {
		case kube.ActionCreated, kube.ActionConfigured, kube.ActionDeleted:
			changed = append(changed, e.Ref.String()+" "+string(e.Action))
		}
	}
	switch n := len(changed); {
	case n == 0:
		return &partialError{err: err, note: "nothing was changed"}
	case n > maxChangedListed:
		changed = append(changed[:maxChangedListed], fmt.Sprintf("and %d more", n-maxChangedListed))
	}
	return &partialError{err: err, note: "changed before the failure: " + strings.Join(changed, ", ")}
}
