package aws

import (
	"context"
	"strings"
	"testing"

	awssdk "github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"

	"github.com/trueup-dev/trueup/fixtures/motoenv"
)

// TestSecurityGroupName: a group known by id (from a CloudTrail event) is
// named; an id no group has is an error naming it.
func TestSecurityGroupName(t *testing.T) {
	env := motoenv.Shared(t)
	a := newAccount(t, testConfig(env, env.Endpoint))
	sg := motoenv.Must(env.Clients().EC2.CreateSecurityGroup(context.Background(), &ec2.CreateSecurityGroupInput{
		GroupName: awssdk.String("trueup-web"), Description: awssdk.String("Web servers")}))(t)
	name, err := a.SecurityGroupName(context.Background(), awssdk.ToString(sg.GroupId))
	if err != nil || name != "trueup-web" {
		t.Fatalf("name = %q, %v", name, err)
	}
	if _, err := a.SecurityGroupName(context.Background(), "sg-0000000000000dead"); err == nil || !strings.HasPrefix(err.Error(), "SecurityGroup/sg-0000000000000dead: ") {
		t.Fatalf("unknown id: %v", err)
	}
}
