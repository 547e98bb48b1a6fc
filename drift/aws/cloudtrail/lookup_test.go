package cloudtrail

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	awssdk "github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudtrail"
	cttypes "github.com/aws/aws-sdk-go-v2/service/cloudtrail/types"

	driftaws "github.com/trueup-dev/trueup/drift/aws"
	awsfixtures "github.com/trueup-dev/trueup/fixtures/aws"
)

// fakeLookup plays CloudTrail's LookupEvents, which moto does not
// implement (moto 5.2's CloudTrail has trails, not events): it answers
// from a list of events per resource name and records what was asked.
type fakeLookup struct {
	events map[string][][]cttypes.Event // pages per resource name
	asked  []string
}

func (f *fakeLookup) LookupEvents(_ context.Context, in *cloudtrail.LookupEventsInput, _ ...func(*cloudtrail.Options)) (*cloudtrail.LookupEventsOutput, error) {
	if len(in.LookupAttributes) != 1 || in.LookupAttributes[0].AttributeKey != cttypes.LookupAttributeKeyResourceName {
		return nil, &cttypes.InvalidLookupAttributesException{Message: awssdk.String("want one ResourceName attribute")}
	}
	name := awssdk.ToString(in.LookupAttributes[0].AttributeValue)
	f.asked = append(f.asked, name+"#"+awssdk.ToString(in.NextToken))
	pages := f.events[name]
	page := 0
	if in.NextToken != nil {
		json.Unmarshal([]byte(*in.NextToken), &page)
	}
	if page >= len(pages) {
		return &cloudtrail.LookupEventsOutput{}, nil
	}
	out := &cloudtrail.LookupEventsOutput{Events: pages[page]}
	if page+1 < len(pages) {
		out.NextToken = awssdk.String(string(rune('0' + page + 1)))
	}
	return out, nil
}

func lookupEvent(t *testing.T, c awsfixtures.Call, readOnly bool) cttypes.Event {
	t.Helper()
	b, err := json.Marshal(c.Record())
	if err != nil {
		t.Fatal(err)
	}
	ro := "false"
	if readOnly {
		ro = "true"
	}
	return cttypes.Event{EventName: awssdk.String(c.Name), ReadOnly: awssdk.String(ro), CloudTrailEvent: awssdk.String(string(b))}
}

// TestLookup: the newest write names the actor, past reads and a second
// page; a resource with no write stays explicitly unknown; a policy is
// looked up by name, then by ARN.
func TestLookup(t *testing.T) {
	call := func(name, who string, min int) awsfixtures.Call {
		return awsfixtures.Call{Account: account, Source: "iam.amazonaws.com", Name: name, Time: t0.Add(timeMinutes(min)), ID: name,
			PrincipalARN: "arn:aws:iam::123456789012:user/" + who, SourceIP: "198.51.100.1", Params: map[string]any{"roleName": "app"}}
	}
	f := &fakeLookup{events: map[string][][]cttypes.Event{
		"app": {
			{lookupEvent(t, call("GetRole", "reader", 9), true), lookupEvent(t, call("ListRoleTags", "reader", 8), false)},
			{lookupEvent(t, call("PutRolePolicy", "erin", 5), false), lookupEvent(t, call("TagRole", "frank", 3), false)},
		},
		"arn:aws:iam::123456789012:policy/read": {{lookupEvent(t, call("CreatePolicyVersion", "gina", 1), false)}},
	}}
	l := NewLookup(f)
	a, err := l.ResolveActor(context.Background(), driftaws.Ref(driftaws.KindIAMRole, "app"), "arn:aws:iam::123456789012:role/app")
	if err != nil || a.Principal != "arn:aws:iam::123456789012:user/erin" || a.Event != "PutRolePolicy" || a.SourceIP != "198.51.100.1" {
		t.Fatalf("role actor = %+v, %v (asked %v)", a, err, f.asked)
	}
	a, err = l.ResolveActor(context.Background(), driftaws.Ref(driftaws.KindIAMPolicy, "read"), "arn:aws:iam::123456789012:policy/read")
	if err != nil || a.Principal != "arn:aws:iam::123456789012:user/gina" {
		t.Fatalf("policy actor = %+v, %v (asked %v)", a, err, f.asked)
	}
	a, err = l.ResolveActor(context.Background(), driftaws.Ref(driftaws.KindS3Bucket, "quiet"), "arn:aws:s3:::quiet")
	if err != nil || a.Principal != "" || a.Unknown != driftaws.ActorUnknown {
		t.Fatalf("unknown actor = %+v, %v", a, err)
	}
	if l.limiter.Limit() != LookupEventsPerSecond || l.limiter.Burst() != 1 {
		t.Fatalf("limiter = %v/s burst %d, want CloudTrail's %d/s", l.limiter.Limit(), l.limiter.Burst(), LookupEventsPerSecond)
	}
}

func timeMinutes(n int) time.Duration { return time.Duration(n) * time.Minute }
