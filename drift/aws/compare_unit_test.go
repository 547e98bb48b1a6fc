package aws

import (
	"reflect"
	"testing"

	"github.com/trueup-dev/trueup/drift"
)

func ptr[T any](v T) *T { return &v }

// pureAccount is an Account for the I/O-free parts.
var pureAccount = &Account{cfg: Config{AccountID: "123456789012"}}

func decodeSpec(t *testing.T, kind string, spec map[string]any) *Desired {
	t.Helper()
	d, err := Decode(object(kind, "xyz", spec))
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func TestReportOf(t *testing.T) {
	allow := map[string]any{"Version": "2012-10-17", "Statement": map[string]any{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}}
	tests := []struct {
		name   string
		kind   string
		spec   map[string]any
		live   any
		err    error
		exists bool
		ignore []drift.IgnoreRule
		status drift.Status
		fields []drift.FieldDiff
	}{
		{
			name: "unknown is never drift", kind: KindS3Bucket, spec: map[string]any{"versioning": map[string]any{"status": "Enabled"}},
			err: &ReadError{ID: "S3Bucket/xyz", Op: "read versioning", Cause: ErrThrottled}, status: drift.Unknown,
		},
		{
			name: "missing", kind: KindS3Bucket, spec: map[string]any{"versioning": map[string]any{"status": "Enabled"}}, status: drift.Missing,
		},
		{
			name: "fields the spec does not set are not compared", kind: KindS3Bucket, exists: true,
			spec:   map[string]any{"publicAccessBlock": map[string]any{"blockPublicAcls": true}},
			live:   &S3BucketSpec{Versioning: &Versioning{Status: "Suspended"}, PublicAccessBlock: &PublicAccessBlock{BlockPublicAcls: ptr(true), IgnorePublicAcls: ptr(false)}},
			status: drift.InSync,
		},
		{
			name: "a set field that differs", kind: KindS3Bucket, exists: true,
			spec:   map[string]any{"versioning": map[string]any{"status": "Enabled"}},
			live:   &S3BucketSpec{Versioning: &Versioning{Status: "Suspended"}},
			status: drift.Drifted,
			fields: []drift.FieldDiff{{Path: "/spec/versioning/status", Live: "Suspended", Desired: "Enabled"}},
		},
		{
			name: "a set field absent live", kind: KindS3Bucket, exists: true,
			spec:   map[string]any{"versioning": map[string]any{"status": "Enabled"}},
			live:   &S3BucketSpec{},
			status: drift.Drifted,
			fields: []drift.FieldDiff{{Path: "/spec/versioning", Live: nil, Desired: map[string]any{"status": "Enabled"}}},
		},
		{
			name: "an extra user tag on a managed map is drift; trueup's are not", kind: KindIAMPolicy, exists: true,
			spec:   map[string]any{"policyDocument": allow, "tags": map[string]any{"team": "a"}},
			live:   &IAMPolicySpec{PolicyDocument: mustPolicy(t, `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["s3:*"],"Resource":"*"}]}`), Tags: map[string]string{"team": "a", "owner": "bob"}},
			status: drift.Drifted,
			fields: []drift.FieldDiff{{Path: "/spec/tags/owner", Live: "bob", Desired: nil}},
		},
		{
			name: "tags are not compared when the spec sets none", kind: KindIAMPolicy, exists: true,
			spec:   map[string]any{"policyDocument": allow},
			live:   &IAMPolicySpec{PolicyDocument: mustPolicy(t, `{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"s3:*","Resource":["*"]}}`), Tags: map[string]string{"owner": "bob"}},
			status: drift.InSync,
		},
		{
			name: "ignored path", kind: KindS3Bucket, exists: true,
			spec:   map[string]any{"versioning": map[string]any{"status": "Enabled"}},
			live:   &S3BucketSpec{Versioning: &Versioning{Status: "Suspended"}},
			ignore: []drift.IgnoreRule{{Paths: []string{"/spec/versioning"}, Selector: drift.Selector{Kind: KindS3Bucket}}},
			status: drift.InSync,
		},
		{
			name: "an added rule is reported after the desired ones", kind: KindSecurityGroup, exists: true,
			spec: map[string]any{"description": "d", "ingress": []any{
				map[string]any{"ipProtocol": "tcp", "fromPort": 443, "toPort": 443, "ipRanges": []any{map[string]any{"cidrIp": "0.0.0.0/0"}}},
			}},
			live: &SecurityGroupSpec{Description: ptr("d"), Ingress: []IPPermission{
				{IPProtocol: "tcp", FromPort: ptr[int32](22), ToPort: ptr[int32](22), IPRanges: []IPRange{{CidrIP: "0.0.0.0/0"}}},
				{IPProtocol: "tcp", FromPort: ptr[int32](443), ToPort: ptr[int32](443), IPRanges: []IPRange{{CidrIP: "0.0.0.0/0"}}},
			}},
			status: drift.Drifted,
			fields: []drift.FieldDiff{{Path: "/spec/ingress/1", Live: map[string]any{"ipProtocol": "tcp", "fromPort": int64(22), "toPort": int64(22), "ipRanges": []any{map[string]any{"cidrIp": "0.0.0.0/0"}}}, Desired: nil}},
		},
		{
			name: "a source added to a desired permission", kind: KindSecurityGroup, exists: true,
			spec: map[string]any{"description": "d", "ingress": []any{
				map[string]any{"ipProtocol": "tcp", "fromPort": 443, "toPort": 443, "ipRanges": []any{map[string]any{"cidrIp": "10.0.0.0/8"}}},
			}},
			live: &SecurityGroupSpec{Description: ptr("d"), Ingress: []IPPermission{
				{IPProtocol: "tcp", FromPort: ptr[int32](443), ToPort: ptr[int32](443), IPRanges: []IPRange{{CidrIP: "0.0.0.0/0"}, {CidrIP: "10.0.0.0/8"}}},
			}},
			status: drift.Drifted,
			fields: []drift.FieldDiff{{Path: "/spec/ingress/0/ipRanges/1", Live: map[string]any{"cidrIp": "0.0.0.0/0"}, Desired: nil}},
		},
		{
			name: "a removed rule is reported at its desired index", kind: KindSecurityGroup, exists: true,
			spec: map[string]any{"description": "d", "ingress": []any{
				map[string]any{"ipProtocol": "tcp", "fromPort": 22, "toPort": 22, "ipRanges": []any{map[string]any{"cidrIp": "10.0.0.0/8"}}},
				map[string]any{"ipProtocol": "tcp", "fromPort": 443, "toPort": 443, "ipRanges": []any{map[string]any{"cidrIp": "10.0.0.0/8"}}},
			}},
			live: &SecurityGroupSpec{Description: ptr("d"), Ingress: []IPPermission{
				{IPProtocol: "tcp", FromPort: ptr[int32](443), ToPort: ptr[int32](443), IPRanges: []IPRange{{CidrIP: "10.0.0.0/8"}}},
			}},
			status: drift.Drifted,
			fields: []drift.FieldDiff{{Path: "/spec/ingress/0", Live: nil, Desired: map[string]any{"ipProtocol": "tcp", "fromPort": int64(22), "toPort": int64(22), "ipRanges": []any{map[string]any{"cidrIp": "10.0.0.0/8"}}}}},
		},
		{
			name: "a pair of this account matches one without the account id", kind: KindSecurityGroup, exists: true,
			spec: map[string]any{"description": "d", "ingress": []any{
				map[string]any{"ipProtocol": "tcp", "fromPort": 5432, "toPort": 5432, "userIdGroupPairs": []any{map[string]any{"groupId": "sg-1", "userId": "123456789012"}}},
			}},
			live: &SecurityGroupSpec{Description: ptr("d"), Ingress: []IPPermission{
				{IPProtocol: "tcp", FromPort: ptr[int32](5432), ToPort: ptr[int32](5432), UserIDGroupPairs: []UserIDGroupPair{{GroupID: "sg-1"}}},
			}},
			status: drift.InSync,
		},
		{
			name: "attached policies compare as a set", kind: KindIAMRole, exists: true,
			spec: map[string]any{"assumeRolePolicyDocument": allow, "managedPolicyArns": []any{"arn:aws:iam::aws:policy/B", "arn:aws:iam::aws:policy/A"}},
			live: &IAMRoleSpec{AssumeRolePolicyDocument: mustPolicy(t, `{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"s3:*","Resource":"*"}}`),
				ManagedPolicyArns: []string{"arn:aws:iam::aws:policy/A", "arn:aws:iam::aws:policy/B", "arn:aws:iam::aws:policy/C"}},
			status: drift.Drifted,
			fields: []drift.FieldDiff{{Path: "/spec/managedPolicyArns/2", Live: "arn:aws:iam::aws:policy/C", Desired: nil}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := decodeSpec(t, tt.kind, tt.spec)
			o := Observed{Desired: d, Err: tt.err, Exists: tt.exists, Live: tt.live}
			got := pureAccount.ReportOf(o, tt.ignore)
			if got.Status != tt.status {
				t.Fatalf("status = %s, want %s (fields %s, error %s)", got.Status, tt.status, dumpJSON(got.Fields), got.Error)
			}
			if !reflect.DeepEqual(got.Fields, tt.fields) {
				t.Errorf("fields\n got: %s\nwant: %s", dumpJSON(got.Fields), dumpJSON(tt.fields))
			}
			if tt.status == drift.Unknown && got.Error == "" {
				t.Error("unknown report without an error")
			}
		})
	}
}

func TestAlign(t *testing.T) {
	key := func(v any) string { return v.(string) }
	tests := []struct {
		name          string
		live, desired []any
		want          []any
	}{
		{name: "same set, other order", live: []any{"b", "a"}, desired: []any{"a", "b"}, want: []any{"a", "b"}},
		{name: "extra live at the end", live: []any{"c", "a"}, desired: []any{"a"}, want: []any{"a", "c"}},
		{name: "hole where live lacks", live: []any{"b"}, desired: []any{"a", "b"}, want: []any{nil, "b"}},
		{name: "empty desired", live: []any{"a"}, desired: []any{}, want: []any{"a"}},
		{name: "duplicates match once each", live: []any{"a", "a"}, desired: []any{"a"}, want: []any{"a", "a"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := align(tt.live, tt.desired, key, nil); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("align = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestFlattenAndRuleKeys(t *testing.T) {
	perms := []IPPermission{{
		IPProtocol: "tcp", FromPort: ptr[int32](22), ToPort: ptr[int32](22),
		IPRanges:         []IPRange{{CidrIP: "10.0.0.0/8", Description: "vpn"}, {CidrIP: "0.0.0.0/0"}},
		UserIDGroupPairs: []UserIDGroupPair{{GroupID: "sg-1", UserID: "111122223333"}},
	}, {IPProtocol: "-1", IPv6Ranges: []IPv6Range{{CidrIPv6: "::/0"}}}}
	var got []string
	for _, r := range FlattenRules(perms) {
		got = append(got, RuleKey(r))
	}
	want := []string{"tcp 22-22 10.0.0.0/8 (vpn)", "tcp 22-22 0.0.0.0/0 ()", "tcp 22-22 111122223333/sg-1 ()", "-1 ::/0 ()"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("rule keys = %q, want %q", got, want)
	}
}
