package kube

import (
	"fmt"
	"strings"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/trueup-dev/trueup/drift"
)

// AnnotationAdopt set on a live object to a target's name lets that target
// take the object over although it carries no trueup.dev/target label.
const AnnotationAdopt = "trueup.dev/adopt"

// LiveOwner is what a live object says about who may apply over it.
type LiveOwner struct {
	// Exists: there is a live object.
	Exists bool
	// Target is its trueup.dev/target label ("" when it has none).
	Target string
	// Adopt is its trueup.dev/adopt annotation.
	Adopt string
}

// OwnerOf reads the owner of a live object; nil means it does not exist.
func OwnerOf(live *unstructured.Unstructured) LiveOwner {
	if live == nil {
		return LiveOwner{}
	}
	return LiveOwner{Exists: true, Target: live.GetLabels()[LabelTarget], Adopt: live.GetAnnotations()[AnnotationAdopt]}
}

// Adoption is whether a target may apply over a live object.
type Adoption int

const (
	// AdoptionNone: nothing to take over (absent, or already the target's).
	AdoptionNone Adoption = iota
	// AdoptionAllowed: the live object has no trueup label and the target
	// may take it over (the target allows adoption, or the object is
	// annotated trueup.dev/adopt: <target>).
	AdoptionAllowed
	// AdoptionRefused: the live object has no trueup label and nothing
	// allows the target to take it over.
	AdoptionRefused
	// AdoptionOtherTarget: the live object is labelled for another target;
	// never taken over.
	AdoptionOtherTarget
)

// Adopt decides whether target may apply over the live object described by
// owner. allow is the target's own permission to take over unlabelled
// objects (its adopt setting). It is pure: the one place that decides.
func Adopt(target string, owner LiveOwner, allow bool) Adoption {
	switch {
	case !owner.Exists || owner.Target == target:
		return AdoptionNone
	case owner.Target != "":
		return AdoptionOtherTarget
	case allow || owner.Adopt == target:
		return AdoptionAllowed
	}
	return AdoptionRefused
}

// CheckAdoption returns nil when target may apply over the live object, or
// an *ObjectError (op "apply") saying who has it and what to do:
// ErrOwnedByOtherTarget for another target's object, ErrNotAdopted for an
// unlabelled object the target may not take over.
func CheckAdoption(target string, ref drift.ObjectRef, owner LiveOwner, allow bool) error {
	switch Adopt(target, owner, allow) {
	case AdoptionOtherTarget:
		return objectErr(target, ref, "apply", fmt.Errorf("%w: the live object is labelled %s=%s; remove it from one of the two targets", ErrOwnedByOtherTarget, LabelTarget, owner.Target))
	case AdoptionRefused:
		return objectErr(target, ref, "apply", fmt.Errorf("%w: it has no trueup label (%s); to take it over, run `%s` or set adopt: true on the target", ErrNotAdopted, LabelTarget, AnnotateCommand(ref, target)))
	}
	return nil
}

// AnnotateCommand is the kubectl command that lets target adopt ref.
func AnnotateCommand(ref drift.ObjectRef, target string) string {
	kind := strings.ToLower(ref.Kind)
	if ref.Group != "" {
		kind += "." + ref.Group
	}
	ns := ""
	if ref.Namespace != "" {
		ns = " -n " + ref.Namespace
	}
	return fmt.Sprintf("kubectl annotate%s %s %s %s=%s", ns, kind, ref.Name, AnnotationAdopt, target)
}

// AdoptedNote is the result message of an object taken over.
const AdoptedNote = "adopted: the live object had no " + LabelTarget + " label"

// isNamespace reports whether ref is a core Namespace.
func isNamespace(ref drift.ObjectRef) bool {
	return ref.Group == "" && ref.Kind == "Namespace"
}
