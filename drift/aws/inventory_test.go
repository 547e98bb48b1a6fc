package aws

import (
	"context"
	"errors"
	"reflect"
	"testing"

	awssdk "github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/trueup-dev/trueup/drift"
	"github.com/trueup-dev/trueup/fixtures/motoenv"
)

// seedForeign adds resources trueup does not manage: a bucket made by hand,
// one tagged for another target, and a role made by hand.
func seedForeign(t *testing.T, c motoenv.Clients) {
	ctx := context.Background()
	motoenv.Must(c.S3.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: awssdk.String("handmade-bucket")}))(t)
	motoenv.Must(c.S3.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: awssdk.String("other-team-bucket")}))(t)
	motoenv.Must(c.S3.PutBucketTagging(ctx, &s3.PutBucketTaggingInput{Bucket: awssdk.String("other-team-bucket"), Tagging: &s3types.Tagging{TagSet: []s3types.Tag{
		{Key: awssdk.String(TagTarget), Value: awssdk.String("api")}, {Key: awssdk.String(TagManagedBy), Value: awssdk.String(ManagedBy)},
	}}}))(t)
	motoenv.Must(c.IAM.CreateRole(ctx, &iam.CreateRoleInput{RoleName: awssdk.String("handmade-role"),
		AssumeRolePolicyDocument: awssdk.String(`{"Version":"2012-10-17","Statement":[]}`), Tags: tagsOf("owner", "bob")}))(t)
}

func declared(t *testing.T) []drift.ObjectRef {
	ds, err := DecodeAll(stack(t))
	if err != nil {
		t.Fatal(err)
	}
	var refs []drift.ObjectRef
	for _, d := range ds {
		refs = append(refs, d.Ref)
	}
	return refs
}

func TestUnmanaged(t *testing.T) {
	ctx := context.Background()
	env := motoenv.Shared(t)
	c := env.Clients()
	seedStack(t, c)
	seedForeign(t, c)
	a := newAccount(t, testConfig(env, env.Endpoint))

	tests := []struct {
		name   string
		kinds  []string
		filter Filter
		want   []drift.ObjectRef
	}{
		{name: "every kind", want: []drift.ObjectRef{
			Ref(KindS3Bucket, "handmade-bucket"), Ref(KindS3Bucket, "other-team-bucket"), Ref(KindIAMRole, "handmade-role"),
		}},
		{name: "one kind", kinds: []string{KindIAMRole}, want: []drift.ObjectRef{Ref(KindIAMRole, "handmade-role")}},
		{name: "name prefix", filter: Filter{NamePrefixes: []string{"handmade-b"}}, want: []drift.ObjectRef{Ref(KindS3Bucket, "handmade-bucket")}},
		{name: "tag filter", filter: Filter{Tags: map[string][]string{"owner": nil}}, want: []drift.ObjectRef{Ref(KindIAMRole, "handmade-role")}},
		{name: "tag value filter", filter: Filter{Tags: map[string][]string{TagTarget: {"api"}}}, want: []drift.ObjectRef{Ref(KindS3Bucket, "other-team-bucket")}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			reps, err := a.Unmanaged(ctx, tt.kinds, tt.filter, declared(t))
			if err != nil {
				t.Fatalf("Unmanaged: %v", err)
			}
			var got []drift.ObjectRef
			for _, r := range reps {
				if r.Status != drift.Unmanaged {
					t.Errorf("%s: status %s, want unmanaged", ID(r.Ref), r.Status)
				}
				got = append(got, r.Ref)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("unmanaged = %v, want %v (the default security group is AWS's, not unmanaged)", got, tt.want)
			}
		})
	}

	t.Run("a failed listing is unknown, never empty", func(t *testing.T) {
		proxy := motoenv.NewProxy(t, env)
		proxy.Fail("iam", "ListRoles", motoenv.Throttle)
		reps, err := newAccount(t, testConfig(env, proxy.URL)).Unmanaged(ctx, nil, Filter{}, declared(t))
		if !errors.Is(err, ErrUnknown) {
			t.Fatalf("error = %v, want ErrUnknown", err)
		}
		var unknown []string
		for _, r := range reps {
			if r.Status == drift.Unknown {
				unknown = append(unknown, ID(r.Ref))
			}
		}
		if !reflect.DeepEqual(unknown, []string{"IAMRole/*"}) {
			t.Errorf("unknown reports = %v, want [IAMRole/*]", unknown)
		}
	})
	t.Run("unsupported kind", func(t *testing.T) {
		if _, err := a.Unmanaged(ctx, []string{"Lambda"}, Filter{}, nil); err == nil {
			t.Error("no error for an unsupported kind")
		}
	})
}

func TestManaged(t *testing.T) {
	ctx := context.Background()
	env := motoenv.Shared(t)
	c := env.Clients()
	sg := seedStack(t, c)
	seedForeign(t, c)
	a := newAccount(t, testConfig(env, env.Endpoint))

	got, err := a.Managed(ctx, "web")
	if err != nil {
		t.Fatalf("Managed: %v", err)
	}
	want := map[string]string{
		"IAMPolicy/trueup-read-config": "arn:aws:iam::123456789012:policy/trueup-read-config",
		"IAMRole/trueup-app":           "arn:aws:iam::123456789012:role/apps/trueup-app",
		"S3Bucket/trueup-logs":         "arn:aws:s3:::trueup-logs",
		"SecurityGroup/trueup-web":     sg,
	}
	gotIDs := map[string]string{}
	for _, r := range got {
		gotIDs[ID(r.Ref)] = r.ARN
		if r.Tags[TagTarget] != "web" {
			t.Errorf("%s: tags %v", ID(r.Ref), r.Tags)
		}
	}
	if !reflect.DeepEqual(gotIDs, want) {
		t.Errorf("Managed(web) = %v, want %v", gotIDs, want)
	}

	other, err := a.Managed(ctx, "api")
	if err != nil || len(other) != 1 || other[0].Ref.Name != "other-team-bucket" {
		t.Errorf("Managed(api) = %v, %v; want only other-team-bucket", other, err)
	}

	t.Run("a failed tag read fails the listing", func(t *testing.T) {
		proxy := motoenv.NewProxy(t, env)
		proxy.Fail("iam", "ListPolicyTags", motoenv.ServerError)
		if _, err := newAccount(t, testConfig(env, proxy.URL)).Managed(ctx, "web"); !errors.Is(err, ErrUnknown) {
			t.Errorf("Managed error = %v, want ErrUnknown", err)
		}
	})
}
