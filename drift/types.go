package drift

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// ObjectRef identifies a desired or live object (Kubernetes or cloud).
type ObjectRef struct {
	Group     string `json:"group,omitempty"`
	Version   string `json:"version"`
	Kind      string `json:"kind"`
	Namespace string `json:"namespace,omitempty"`
	Name      string `json:"name"`
}

// String formats the ref as Kind/namespace/name, with the group after the
// kind when it has one: Deployment.apps/api/web, Namespace//web.
func (r ObjectRef) String() string {
	kind := r.Kind
	if r.Group != "" {
		kind += "." + r.Group
	}
	return fmt.Sprintf("%s/%s/%s", kind, r.Namespace, r.Name)
}

// RefOf returns the identity of a Kubernetes-style object.
func RefOf(obj *unstructured.Unstructured) ObjectRef {
	gvk := obj.GroupVersionKind()
	return ObjectRef{Group: gvk.Group, Version: gvk.Version, Kind: gvk.Kind, Namespace: obj.GetNamespace(), Name: obj.GetName()}
}

// GroupVersionKind returns the ref's Kubernetes GVK.
func (r ObjectRef) GroupVersionKind() schema.GroupVersionKind {
	return schema.GroupVersionKind{Group: r.Group, Version: r.Version, Kind: r.Kind}
}

// Status is the state of one object compared with Git.
type Status string

const (
	// InSync: the live object matches Git (ignoring ignored paths).
	InSync Status = "in-sync"
	// Drifted: a server-side dry-run apply of the desired object would change the live object.
	Drifted Status = "drifted"
	// Missing: the object is in Git but not live (never created, or deleted out of band).
	Missing Status = "missing"
	// PendingPrune: the object is in the inventory but no longer in Git.
	PendingPrune Status = "pending-prune"
	// Unmanaged: a live object of a managed kind that no target declares.
	Unmanaged Status = "unmanaged"
	// Unknown: the live state could not be read (throttling, outage, denied); never drift.
	Unknown Status = "unknown"
)

// Masked values stand in for Secret values on both sides of a diff. Two
// markers on a changed path tell "changed" from "unchanged"; the value itself
// never leaves the point where the diff is computed.
const (
	MaskedValue   = "<masked>"
	MaskedChanged = "<masked: changed>"
	MaskedAdded   = "<masked: added>"
	MaskedRemoved = "<masked: removed>"
)

// Actor is who last wrote a drifted field.
type Actor struct {
	// Manager is the Kubernetes field manager (kubectl-edit, kubectl-client-side-apply, ...).
	Manager string `json:"manager,omitempty"`
	// Operation is Apply or Update.
	Operation string `json:"operation,omitempty"`
	// Time is when the manager last wrote the field set.
	Time time.Time `json:"time,omitempty"`
	// Principal is a cloud identity (an IAM ARN), when known.
	Principal string `json:"principal,omitempty"`
	// SessionIssuer is the role (or user) whose session the cloud
	// principal is, from CloudTrail's sessionContext.sessionIssuer.
	SessionIssuer string `json:"sessionIssuer,omitempty"`
	// SourceIP is where the cloud call came from (CloudTrail's
	// sourceIPAddress; an AWS service name for calls a service made).
	SourceIP string `json:"sourceIP,omitempty"`
	// Event is the cloud API call that wrote the value (CloudTrail's
	// eventName, e.g. PutBucketPublicAccessBlock).
	Event string `json:"event,omitempty"`
	// Unknown, when neither Manager nor Principal can be told, says so and
	// why, for people to read: "actor unknown (no CloudTrail)".
	Unknown string `json:"unknown,omitempty"`
}

// Name is who to show: the field manager, else the cloud principal, else
// why the actor is unknown.
func (a Actor) Name() string {
	switch {
	case a.Manager != "":
		return a.Manager
	case a.Principal != "":
		return a.Principal
	}
	return a.Unknown
}

// Summary is Name with what else is known of a cloud actor: the call, the
// session issuer and the source address, e.g. "arn:aws:sts::1:assumed-role/Admin/alice
// (PutBucketPublicAccessBlock, session of arn:aws:iam::1:role/Admin, from 203.0.113.7)".
func (a Actor) Summary() string {
	var more []string
	if a.Event != "" {
		more = append(more, a.Event)
	}
	if a.SessionIssuer != "" {
		more = append(more, "session of "+a.SessionIssuer)
	}
	if a.SourceIP != "" {
		more = append(more, "from "+a.SourceIP)
	}
	if len(more) == 0 || a.Manager != "" {
		return a.Name()
	}
	return a.Name() + " (" + strings.Join(more, ", ") + ")"
}

// FieldDiff is one drifted field.
type FieldDiff struct {
	// Path is a JSON pointer, e.g. /spec/replicas or /data/password.
	Path string `json:"path"`
	// Desired is the value Git wants (nil when Git removes the field). Its
	// JSON name is "git", and it comes before live, as in every renderer;
	// records written before read back from "desired" (UnmarshalJSON).
	Desired any `json:"git"`
	// Live is the value in the cluster or account (nil when the field is absent live).
	Live any `json:"live"`
	// Masked is true when both values are replaced by masked markers.
	Masked bool `json:"masked,omitempty"`
	// Actor is who owns the live value, when it can be told.
	Actor *Actor `json:"actor,omitempty"`
	// LiveDigest tells one masked live value from another without carrying
	// it: an HMAC-SHA-256 of the value's digest under a key that exists
	// only in this process, set on masked fields only. It is never
	// encoded (no JSON, so never in the history, a page or a message); ""
	// means unknown (a diff read back from the history).
	LiveDigest string `json:"-"`
}

// UnmarshalJSON reads a FieldDiff, and the Git value of one encoded
// before it was named "git" ("desired").
func (f *FieldDiff) UnmarshalJSON(b []byte) error {
	type plain FieldDiff
	var v struct {
		plain
		Legacy any `json:"desired"`
	}
	if err := json.Unmarshal(b, &v); err != nil {
		return err
	}
	if v.Desired == nil {
		v.Desired = v.Legacy
	}
	*f = FieldDiff(v.plain)
	return nil
}

// ObjectReport is the comparison result for one object.
type ObjectReport struct {
	Ref    ObjectRef   `json:"ref"`
	Status Status      `json:"status"`
	Fields []FieldDiff `json:"fields,omitempty"`
	// Origin is the file in the source the desired object came from.
	Origin string `json:"origin,omitempty"`
	// ResourceVersion is the live object's version when it was compared.
	ResourceVersion string `json:"resourceVersion,omitempty"`
	// Error explains an Unknown status.
	Error string `json:"error,omitempty"`
}

// Report is the drift of one target at one revision.
type Report struct {
	Target   string         `json:"target"`
	Revision string         `json:"revision,omitempty"`
	Time     time.Time      `json:"time"`
	Objects  []ObjectReport `json:"objects"`
}

// Counts returns how many objects have each status.
func (r Report) Counts() map[Status]int {
	out := map[Status]int{}
	for _, o := range r.Objects {
		out[o.Status]++
	}
	return out
}

// InSync reports whether every object is in sync (nothing drifted, missing,
// pending prune or unknown).
func (r Report) InSync() bool {
	for _, o := range r.Objects {
		if o.Status != InSync {
			return false
		}
	}
	return true
}
