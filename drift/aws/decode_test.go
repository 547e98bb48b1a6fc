package aws

import (
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	awsfixtures "github.com/trueup-dev/trueup/fixtures/aws"
	"github.com/trueup-dev/trueup/fixtures/golden"
)

func object(kind, name string, spec map[string]any) *unstructured.Unstructured {
	obj := map[string]any{"apiVersion": APIVersion, "kind": kind, "metadata": map[string]any{"name": name}}
	if spec != nil {
		obj["spec"] = spec
	}
	return &unstructured.Unstructured{Object: obj}
}

func TestDecodeStack(t *testing.T) {
	objs := awsfixtures.Load(t, "stack.yaml")
	ds, err := DecodeAll(objs)
	if err != nil {
		t.Fatalf("DecodeAll: %v", err)
	}
	if len(ds) != 4 {
		t.Fatalf("decoded %d objects, want 4", len(ds))
	}
	sg := ds[2].Spec.(*SecurityGroupSpec)
	if len(sg.Ingress) != 2 || sg.Egress[0].IPProtocol != "-1" || sg.Egress[0].FromPort != nil {
		t.Errorf("security group spec = %+v", sg)
	}
	b := ds[3].Spec.(*S3BucketSpec)
	if b.Policy == nil || !strings.Contains(b.Policy.JSON(), `"aws:SecureTransport":["false"]`) {
		t.Errorf("bucket policy not normalized: %v", b.Policy)
	}
}

// TestDecodeErrorsGolden: every problem of an invalid file is reported with
// its object and field path.
func TestDecodeErrorsGolden(t *testing.T) {
	objs := awsfixtures.Load(t, "bad-fields.yaml")
	_, err := DecodeAll(objs)
	if !errors.Is(err, ErrInvalidObject) {
		t.Fatalf("DecodeAll error = %v, want ErrInvalidObject", err)
	}
	golden.Check(t, filepath.Join(fixtures, "golden", "bad-fields.txt"), err.Error()+"\n")
}

func TestDecodeErrors(t *testing.T) {
	tests := []struct {
		name string
		obj  *unstructured.Unstructured
		want string
	}{
		{
			name: "typo suggests the field",
			obj:  object(KindS3Bucket, "logs", map[string]any{"versionning": map[string]any{"status": "Enabled"}}),
			want: "S3Bucket/logs: spec.versionning: unknown field (did you mean versioning?)",
		},
		{
			name: "case typo",
			obj:  object(KindSecurityGroup, "web", map[string]any{"description": "d", "VPCId": "vpc-1"}),
			want: "SecurityGroup/web: spec.VPCId: unknown field (did you mean vpcId?)",
		},
		{
			name: "nothing close lists the known fields",
			obj:  object(KindIAMPolicy, "p", map[string]any{"policyDocument": map[string]any{"Statement": []any{}}, "zzzzzzzzzz": 1}),
			want: "IAMPolicy/p: spec.zzzzzzzzzz: unknown field (known: policyDocument, description, path, tags)",
		},
		{
			name: "wrong type",
			obj:  object(KindIAMRole, "r", map[string]any{"assumeRolePolicyDocument": map[string]any{"Statement": []any{}}, "maxSessionDuration": "1h"}),
			want: "IAMRole/r: spec.maxSessionDuration: must be an integer, not a string",
		},
		{
			name: "bad enum",
			obj:  object(KindS3Bucket, "logs", map[string]any{"versioning": map[string]any{"status": "On"}}),
			want: `S3Bucket/logs: spec.versioning.status: "On" is not one of Enabled, Suspended`,
		},
		{
			name: "required document",
			obj:  object(KindIAMRole, "r", map[string]any{}),
			want: "IAMRole/r: spec.assumeRolePolicyDocument: required",
		},
		{
			name: "policy error has its path",
			obj:  object(KindIAMRole, "r", map[string]any{"assumeRolePolicyDocument": map[string]any{"Statement": []any{}}, "inlinePolicies": map[string]any{"x": map[string]any{"Statement": "no"}}}),
			want: "IAMRole/r: spec.inlinePolicies.x: Statement: must be an object or a list of objects, not a string",
		},
		{
			name: "own tags are refused",
			obj:  object(KindIAMPolicy, "p", map[string]any{"policyDocument": map[string]any{"Statement": []any{}}, "tags": map[string]any{"trueup.dev/target": "x"}}),
			want: `IAMPolicy/p: spec.tags["trueup.dev/target"]: tags under trueup.dev/ are trueup's own and cannot be set`,
		},
		{
			name: "duplicate rule with another description",
			obj: object(KindSecurityGroup, "web", map[string]any{"description": "d", "ingress": []any{
				map[string]any{"ipProtocol": "tcp", "fromPort": 22, "toPort": 22, "ipRanges": []any{map[string]any{"cidrIp": "10.0.0.0/8", "description": "a"}}},
				map[string]any{"ipProtocol": "6", "fromPort": 22, "toPort": 22, "ipRanges": []any{map[string]any{"cidrIp": "10.0.0.0/8", "description": "b"}}},
			}}),
			want: "SecurityGroup/web: spec.ingress[1]: tcp 22-22 10.0.0.0/8 is listed twice with different descriptions",
		},
		{
			name: "namespaced",
			obj: func() *unstructured.Unstructured {
				o := object(KindS3Bucket, "logs", nil)
				o.SetNamespace("prod")
				return o
			}(),
			want: `S3Bucket/logs: metadata.namespace: "prod" set, but AWS resources are not namespaced`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Decode(tt.obj)
			var inv *InvalidError
			if !errors.As(err, &inv) || !errors.Is(err, ErrInvalidObject) {
				t.Fatalf("Decode error = %v, want an *InvalidError", err)
			}
			if err.Error() != tt.want {
				t.Errorf("error\n got: %s\nwant: %s", err, tt.want)
			}
		})
	}
}

func TestDecodeAllRefusesDuplicates(t *testing.T) {
	spec := map[string]any{"versioning": map[string]any{"status": "Enabled"}}
	_, err := DecodeAll([]*unstructured.Unstructured{object(KindS3Bucket, "logs", spec), object(KindS3Bucket, "logs", spec)})
	if err == nil || err.Error() != "S3Bucket/logs: declared twice" {
		t.Errorf("error = %v, want S3Bucket/logs: declared twice", err)
	}
}

func TestDecodeMergesRules(t *testing.T) {
	d, err := Decode(object(KindSecurityGroup, "web", map[string]any{"description": "d", "ingress": []any{
		map[string]any{"ipProtocol": "tcp", "fromPort": 22, "toPort": 22, "ipRanges": []any{map[string]any{"cidrIp": "10.0.0.0/8"}}},
		map[string]any{"ipProtocol": "6", "fromPort": 22, "toPort": 22, "ipRanges": []any{map[string]any{"cidrIp": "10.0.0.0/8"}, map[string]any{"cidrIp": "192.168.0.0/16"}}},
		map[string]any{"ipProtocol": "all", "fromPort": 0, "toPort": 0, "userIdGroupPairs": []any{map[string]any{"groupId": "sg-1"}}},
	}}))
	if err != nil {
		t.Fatal(err)
	}
	in := d.Spec.(*SecurityGroupSpec).Ingress
	if len(in) != 2 || len(in[0].IPRanges) != 2 || in[1].IPProtocol != "-1" || in[1].FromPort != nil {
		t.Errorf("merged ingress = %+v", in)
	}
}
