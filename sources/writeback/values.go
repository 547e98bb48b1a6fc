package writeback

import (
	"fmt"

	"github.com/trueup-dev/trueup/drift"
	"github.com/trueup-dev/trueup/sources"
)

// Where a Helm target's drifted field is written: the values key that
// renders it, in the values file that sets it.
const (
	// SetInValues: the value was set on the line of the values file that
	// sets it.
	SetInValues Action = "set-in-values"
	// AddedToValues: only the chart's defaults set the value; the key was
	// added to the target's values file.
	AddedToValues Action = "added-to-values"
)

// ValuesEdit is one drifted field of an object rendered by a Helm chart,
// traced to the values key that renders it (by the caller, which can
// render the chart).
type ValuesEdit struct {
	// Change is the drifted field of the object (its Path is recorded).
	Change Change
	// File is the values file to write, from the repository root.
	File string
	// Key is the value's path in the values: [replicaCount], [image tag].
	Key []string
	// Value is what the key must hold for the chart to render the live
	// field (a part of it when the template builds the field from
	// several values, as image: repository:tag).
	Value any
	// Added says File does not set Key yet: the key is added to it.
	Added bool
}

// EditValues writes each edit's value at its key in its values file,
// keeping every other byte of the file (comments, order, quoting), as
// EditWithOptions does for manifests. It is all or nothing, refuses
// Secrets, masked values and SOPS-encrypted files, and its errors name the
// object, the field and the file, never a value.
func EditValues(files sources.Files, obj drift.ObjectRef, edits []ValuesEdit) (Result, error) {
	if obj.Kind == "Secret" {
		return Result{}, &Error{Object: obj, Err: fmt.Errorf("a Secret: %w", ErrSecret)}
	}
	w := newWork(files)
	for _, e := range edits {
		if _, _, err := checkChange(e.Change); err != nil {
			return Result{}, wrapErr(obj, e.Change.Path, err)
		}
		v, err := normalizeLive(e.Value)
		if err != nil {
			return Result{}, wrapErr(obj, e.Change.Path, inFile(e.File, err))
		}
		if v == nil || len(e.Key) == 0 {
			return Result{}, wrapErr(obj, e.Change.Path, inFile(e.File, fmt.Errorf("removing a Helm value: %w", ErrUnsupported)))
		}
		if _, ok := w.files[e.File]; !ok {
			return Result{}, wrapErr(obj, e.Change.Path, inFile(e.File, ErrNotFound))
		}
		writes := w.writes
		line, err := w.editFile(docEdit{file: e.File, tokens: e.Key, value: v})
		if err != nil {
			return Result{}, wrapErr(obj, e.Change.Path, err)
		}
		a := Applied{Path: e.Change.Path, File: e.File, Line: line, Action: SetInValues, Unchanged: w.writes == writes}
		if e.Added {
			a.Action = AddedToValues
		}
		w.applied = append(w.applied, a)
	}
	return w.result(), nil
}
