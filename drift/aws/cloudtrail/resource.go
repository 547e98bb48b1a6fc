package cloudtrail

import (
	"encoding/json"
	"strings"

	driftaws "github.com/trueup-dev/trueup/drift/aws"
)

// Resource is what a write call changed: a supported kind and its name
// (bucket, role or policy name, security group name), or for a security
// group known only by id, its ID.
type Resource struct {
	Kind string
	Name string
	ID   string
}

// readPrefixes start the names of calls that change nothing.
var readPrefixes = []string{"Get", "List", "Describe", "Head", "Lookup", "Generate", "Simulate", "Search", "Check"}

// Writes reports whether the record is a successful write: calls marked
// readOnly, named like reads, or that failed (errorCode) changed nothing.
func (r Record) Writes() bool {
	if r.ErrorCode != "" || (r.ReadOnly != nil && *r.ReadOnly) {
		return false
	}
	for _, p := range readPrefixes {
		if strings.HasPrefix(r.EventName, p) {
			return false
		}
	}
	return true
}

// Resources maps a write call to the resources of the supported kinds it
// names: the bucket of an S3 bucket call (object calls are data, not
// configuration), the role of an IAM call that names one, else the
// managed policy it names, the security groups of an EC2 call. A read, a
// failed call or a call on anything else names none.
func (r Record) Resources() []Resource {
	if !r.Writes() {
		return nil
	}
	params := map[string]json.RawMessage{}
	_ = json.Unmarshal(r.RequestParameters, &params) // absent or not an object: names nothing
	switch r.EventSource {
	case "s3.amazonaws.com":
		return s3Resources(r.EventName, params)
	case "iam.amazonaws.com":
		return iamResources(params)
	case "ec2.amazonaws.com":
		return sgResources(params, r.ResponseElements)
	}
	return nil
}

func s3Resources(name string, params map[string]json.RawMessage) []Resource {
	if strings.Contains(name, "Object") || !hasAnyPrefix(name, "Put", "Delete", "Create") {
		return nil
	}
	if b := str(params["bucketName"]); b != "" {
		return []Resource{{Kind: driftaws.KindS3Bucket, Name: b}}
	}
	return nil
}

// iamResources: a call naming a role changed the role (its inline or
// attached policies, tags, trust policy); one naming a user or group
// changed neither a role nor a policy; else the managed policy it names.
func iamResources(params map[string]json.RawMessage) []Resource {
	if role := str(params["roleName"]); role != "" {
		return []Resource{{Kind: driftaws.KindIAMRole, Name: role}}
	}
	if str(params["userName"]) != "" || str(params["groupName"]) != "" {
		return nil
	}
	if arn := str(params["policyArn"]); arn != "" {
		return []Resource{{Kind: driftaws.KindIAMPolicy, Name: arn[strings.LastIndex(arn, "/")+1:]}}
	}
	if p := str(params["policyName"]); p != "" {
		return []Resource{{Kind: driftaws.KindIAMPolicy, Name: p}}
	}
	return nil
}

// sgResources reads group ids and names from a security group call's
// parameters (top level, or one request object down, as for
// ModifySecurityGroupRules), the sg- ids of a CreateTags or DeleteTags,
// and the id a CreateSecurityGroup returned.
func sgResources(params map[string]json.RawMessage, response json.RawMessage) []Resource {
	var out []Resource
	add := func(m map[string]json.RawMessage) {
		for _, k := range []string{"groupId", "GroupId"} {
			if id := str(m[k]); strings.HasPrefix(id, "sg-") {
				out = append(out, Resource{Kind: driftaws.KindSecurityGroup, ID: id})
			}
		}
		for _, k := range []string{"groupName", "GroupName"} {
			if n := str(m[k]); n != "" {
				out = append(out, Resource{Kind: driftaws.KindSecurityGroup, Name: n})
			}
		}
	}
	add(params)
	for _, v := range params {
		var inner map[string]json.RawMessage
		if json.Unmarshal(v, &inner) == nil {
			add(inner)
		}
	}
	var set struct {
		Items []struct {
			ResourceID string `json:"resourceId"`
		} `json:"items"`
	}
	if json.Unmarshal(params["resourcesSet"], &set) == nil {
		for _, it := range set.Items {
			if strings.HasPrefix(it.ResourceID, "sg-") {
				out = append(out, Resource{Kind: driftaws.KindSecurityGroup, ID: it.ResourceID})
			}
		}
	}
	if len(out) > 0 && str(params["groupName"]) != "" {
		// CreateSecurityGroup: the name is enough to wake; the id keys
		// the actor for reads that know the group by id.
		var resp map[string]json.RawMessage
		if json.Unmarshal(response, &resp) == nil {
			if id := str(resp["groupId"]); strings.HasPrefix(id, "sg-") {
				out[0].ID = id
			}
		}
	}
	return dedupe(out)
}

func dedupe(in []Resource) []Resource {
	var out []Resource
	seen := map[Resource]bool{}
	for _, r := range in {
		if !seen[r] {
			seen[r] = true
			out = append(out, r)
		}
	}
	return out
}

// str is a JSON string's value, or "" for anything else.
func str(raw json.RawMessage) string {
	var s string
	if json.Unmarshal(raw, &s) != nil {
		return ""
	}
	return s
}

func hasAnyPrefix(s string, prefixes ...string) bool {
	for _, p := range prefixes {
		if strings.HasPrefix(s, p) {
			return true
		}
	}
	return false
}
