package aws

import (
	"context"
	"testing"

	awssdk "github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"

	driftaws "github.com/trueup-dev/trueup/drift/aws"
	"github.com/trueup-dev/trueup/fixtures/motoenv"
)

// A create retried after its first attempt already created the group (the
// first answer cut by its deadline) gets InvalidGroup.Duplicate: the apply
// continues with the group when it carries this target's tag, and fails
// when the group is another target's (never taken over).
func TestCreateGroupAfterACutFirstAttempt(t *testing.T) {
	env := motoenv.Shared(t)
	ctx := context.Background()
	a := &applier{account: newAccount(t, testConfig(env, env.Endpoint)), target: "web"}
	spec := &driftaws.SecurityGroupSpec{Description: awssdk.String("web")}
	create := func(name, owner string) {
		t.Helper()
		motoenv.Must(env.Clients().EC2.CreateSecurityGroup(ctx, &ec2.CreateSecurityGroupInput{
			GroupName: awssdk.String(name), Description: awssdk.String("web"),
			TagSpecifications: []ec2types.TagSpecification{{ResourceType: ec2types.ResourceTypeSecurityGroup,
				Tags: []ec2types.Tag{{Key: awssdk.String(driftaws.TagTarget), Value: awssdk.String(owner)}}}},
		}))(t)
	}
	tags := map[string]string{driftaws.TagTarget: "web"}

	create("ours", "web") // the first attempt, whose answer never arrived
	if err := a.createGroup(ctx, "ours", spec, tags); err != nil {
		t.Fatalf("create after our own cut attempt: %v, want the apply to continue with the group", err)
	}
	create("theirs", "api")
	if err := a.createGroup(ctx, "theirs", spec, tags); err == nil || !isDuplicateGroup(err) {
		t.Fatalf("create over another target's group: %v, want InvalidGroup.Duplicate", err)
	}
}
