package policy

import (
	"slices"
	"testing"
)

type starterCase struct {
	name   string
	object string
	want   []string // messages of the policy under test, in validation order
}

func runStarter(t *testing.T, policy string, cases []starterCase) {
	t.Helper()
	s := starterSet(t)
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := messages(t, s.Evaluate(object(t, tc.object), nil, now), policy)
			if !slices.Equal(got, tc.want) {
				t.Errorf("messages:\n got  %q\n want %q", got, tc.want)
			}
		})
	}
}

func TestStarterNoPrivilegedContainers(t *testing.T) {
	runStarter(t, "no-privileged-containers", []starterCase{
		{name: "pod without securityContext", object: `
apiVersion: v1
kind: Pod
metadata: {name: web, namespace: shop}
spec: {containers: [{name: app, image: registry.example.com/app}]}`},
		{name: "pod with privileged false", object: `
apiVersion: v1
kind: Pod
metadata: {name: web, namespace: shop}
spec: {containers: [{name: app, image: x, securityContext: {privileged: false}}]}`},
		{name: "privileged pod container", object: `
apiVersion: v1
kind: Pod
metadata: {name: web, namespace: shop}
spec: {containers: [{name: app, image: x, securityContext: {privileged: true}}]}`,
			want: []string{"Pod web runs privileged containers: app"}},
		{name: "privileged ephemeral container of a pod", object: `
apiVersion: v1
kind: Pod
metadata: {name: web, namespace: shop}
spec:
  containers: [{name: app, image: x}]
  ephemeralContainers: [{name: debugger, image: x, securityContext: {privileged: true}}]`,
			want: []string{"Pod web runs privileged containers: debugger"}},
		{name: "deployment with a privileged container and init container", object: `
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: shop}
spec:
  template:
    spec:
      containers:
        - {name: app, image: x}
        - {name: agent, image: x, securityContext: {privileged: true}}
      initContainers:
        - {name: setup, image: x, securityContext: {privileged: true}}`,
			want: []string{"Deployment web runs privileged containers: agent, setup"}},
		{name: "statefulset init container", object: `
apiVersion: apps/v1
kind: StatefulSet
metadata: {name: db, namespace: shop}
spec:
  template:
    spec:
      containers: [{name: db, image: x}]
      initContainers: [{name: sysctl, image: x, securityContext: {privileged: true}}]`,
			want: []string{"StatefulSet db runs privileged containers: sysctl"}},
		{name: "daemonset", object: `
apiVersion: apps/v1
kind: DaemonSet
metadata: {name: node-agent, namespace: ops}
spec:
  template:
    spec:
      containers: [{name: agent, image: x, securityContext: {privileged: true}}]`,
			want: []string{"DaemonSet node-agent runs privileged containers: agent"}},
		{name: "job", object: `
apiVersion: batch/v1
kind: Job
metadata: {name: migrate, namespace: shop}
spec:
  template:
    spec:
      containers: [{name: migrate, image: x, securityContext: {privileged: true}}]`,
			want: []string{"Job migrate runs privileged containers: migrate"}},
		{name: "cronjob template", object: `
apiVersion: batch/v1
kind: CronJob
metadata: {name: backup, namespace: shop}
spec:
  schedule: "@daily"
  jobTemplate:
    spec:
      template:
        spec:
          containers: [{name: backup, image: x, securityContext: {privileged: true}}]`,
			want: []string{"CronJob backup runs privileged containers: backup"}},
		{name: "cronjob without privileged", object: `
apiVersion: batch/v1
kind: CronJob
metadata: {name: backup, namespace: shop}
spec:
  jobTemplate: {spec: {template: {spec: {containers: [{name: backup, image: x}]}}}}`},
		{name: "other kinds are out of scope", object: `
apiVersion: v1
kind: Service
metadata: {name: web, namespace: shop}
spec: {template: {spec: {containers: [{name: app, securityContext: {privileged: true}}]}}}`},
	})
}

func TestStarterRequireResourceLimits(t *testing.T) {
	runStarter(t, "require-resource-limits", []starterCase{
		{name: "all limits set", object: `
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: shop}
spec:
  template:
    spec:
      containers: [{name: app, image: x, resources: {limits: {cpu: 500m, memory: 256Mi}}}]
      initContainers: [{name: init, image: x, resources: {limits: {cpu: 100m, memory: 64Mi}}}]`},
		{name: "memory limit missing", object: `
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: shop}
spec:
  template:
    spec:
      containers: [{name: app, image: x, resources: {limits: {cpu: 500m}}}]`,
			want: []string{"Deployment web: containers without limits: app (memory)"}},
		{name: "requests are not limits", object: `
apiVersion: v1
kind: Pod
metadata: {name: web, namespace: shop}
spec:
  containers:
    - {name: app, image: x, resources: {requests: {cpu: 1, memory: 1Gi}}}
    - {name: sidecar, image: x, resources: {limits: {memory: 1Gi}}}`,
			want: []string{"Pod web: containers without limits: app (cpu, memory), sidecar (cpu)"}},
		{name: "init container of a cronjob", object: `
apiVersion: batch/v1
kind: CronJob
metadata: {name: backup, namespace: shop}
spec:
  jobTemplate:
    spec:
      template:
        spec:
          containers: [{name: backup, image: x, resources: {limits: {cpu: 1, memory: 1Gi}}}]
          initContainers: [{name: wait, image: x}]`,
			want: []string{"CronJob backup: containers without limits: wait (cpu, memory)"}},
	})
}

func TestStarterRequireOwnerLabel(t *testing.T) {
	runStarter(t, "require-owner-label", []starterCase{
		{name: "owner set", object: `
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: shop, labels: {owner: team-shop}}
spec: {template: {spec: {containers: []}}}`},
		{name: "no labels", object: `
apiVersion: apps/v1
kind: StatefulSet
metadata: {name: db, namespace: shop}
spec: {template: {spec: {containers: []}}}`,
			want: []string{"StatefulSet shop/db has no owner label: set metadata.labels.owner to the owning team"}},
		{name: "blank owner", object: `
apiVersion: batch/v1
kind: Job
metadata: {name: migrate, namespace: shop, labels: {owner: "  ", app: shop}}
spec: {template: {spec: {containers: []}}}`,
			want: []string{"Job shop/migrate has no owner label: set metadata.labels.owner to the owning team"}},
		{name: "pods are out of scope", object: `
apiVersion: v1
kind: Pod
metadata: {name: web, namespace: shop}
spec: {containers: []}`},
	})
}

func TestStarterAllowedRegistries(t *testing.T) {
	const prefix = "images not from an allowed registry (registry.example.com/, ghcr.io/example/): "
	runStarter(t, "allowed-registries", []starterCase{
		{name: "allowed registries", object: `
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: shop}
spec:
  template:
    spec:
      containers: [{name: app, image: registry.example.com/shop/web:1.2}]
      initContainers: [{name: init, image: ghcr.io/example/init@sha256:abc}]`},
		{name: "docker hub image", object: `
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: shop}
spec:
  template:
    spec:
      containers:
        - {name: app, image: registry.example.com/shop/web:1.2}
        - {name: cache, image: redis:7}`,
			want: []string{prefix + "redis:7"}},
		{name: "look-alike host", object: `
apiVersion: v1
kind: Pod
metadata: {name: web, namespace: shop}
spec:
  containers: [{name: app, image: registry.example.com.evil.io/web}]
  ephemeralContainers: [{name: debug, image: ghcr.io/other/debug}]`,
			want: []string{prefix + "registry.example.com.evil.io/web, ghcr.io/other/debug"}},
		{name: "cronjob init container", object: `
apiVersion: batch/v1
kind: CronJob
metadata: {name: backup, namespace: shop}
spec:
  jobTemplate:
    spec:
      template:
        spec:
          containers: [{name: backup, image: ghcr.io/example/backup}]
          initContainers: [{name: wait, image: busybox}]`,
			want: []string{prefix + "busybox"}},
	})
}

const secureBucket = `
apiVersion: aws.trueup.dev/v1alpha1
kind: S3Bucket
metadata: {name: shop-assets}
spec:
  versioning: {status: Enabled}
  publicAccessBlock: {blockPublicAcls: true, ignorePublicAcls: true, blockPublicPolicy: true, restrictPublicBuckets: true}
  serverSideEncryptionConfiguration:
    rules: [{applyServerSideEncryptionByDefault: {sseAlgorithm: "aws:kms", kmsMasterKeyID: alias/s3}, bucketKeyEnabled: true}]
  tags: {team: shop}
`

func TestStarterS3BucketSecure(t *testing.T) {
	const enc = "S3 bucket shop-assets has no default encryption: set spec.serverSideEncryptionConfiguration.rules[].applyServerSideEncryptionByDefault.sseAlgorithm"
	runStarter(t, "s3-bucket-secure", []starterCase{
		{name: "blocked and encrypted", object: secureBucket},
		{name: "no public access block and no encryption", object: `
apiVersion: aws.trueup.dev/v1alpha1
kind: S3Bucket
metadata: {name: shop-assets}
spec: {versioning: {status: Enabled}}`,
			want: []string{
				"S3 bucket shop-assets does not block public access: spec.publicAccessBlock.blockPublicAcls, " +
					"spec.publicAccessBlock.ignorePublicAcls, spec.publicAccessBlock.blockPublicPolicy, " +
					"spec.publicAccessBlock.restrictPublicBuckets must be true",
				enc,
			}},
		{name: "one flag false, one missing", object: `
apiVersion: aws.trueup.dev/v1alpha1
kind: S3Bucket
metadata: {name: shop-assets}
spec:
  publicAccessBlock: {blockPublicAcls: true, ignorePublicAcls: true, blockPublicPolicy: false}
  serverSideEncryptionConfiguration: {rules: [{applyServerSideEncryptionByDefault: {sseAlgorithm: AES256}}]}`,
			want: []string{"S3 bucket shop-assets does not block public access: spec.publicAccessBlock.blockPublicPolicy, " +
				"spec.publicAccessBlock.restrictPublicBuckets must be true"}},
		{name: "encryption rule without algorithm", object: `
apiVersion: aws.trueup.dev/v1alpha1
kind: S3Bucket
metadata: {name: shop-assets}
spec:
  publicAccessBlock: {blockPublicAcls: true, ignorePublicAcls: true, blockPublicPolicy: true, restrictPublicBuckets: true}
  serverSideEncryptionConfiguration: {rules: [{bucketKeyEnabled: true}]}`,
			want: []string{enc}},
		{name: "other aws kinds are out of scope", object: `
apiVersion: aws.trueup.dev/v1alpha1
kind: IAMRole
metadata: {name: app}
spec: {description: x}`},
	})
}

func TestStarterSecurityGroupNoPublicSSH(t *testing.T) {
	const prefix = "security group web allows SSH (port 22) from the internet: "
	sg := func(ingress string) string {
		return "apiVersion: aws.trueup.dev/v1alpha1\nkind: SecurityGroup\nmetadata: {name: web}\n" +
			"spec:\n  description: web\n  ingress:\n" + indent(ingress, "    ")
	}
	runStarter(t, "security-group-no-public-ssh", []starterCase{
		{name: "https from anywhere", object: sg(`- {ipProtocol: tcp, fromPort: 443, toPort: 443, ipRanges: [{cidrIp: 0.0.0.0/0}]}`)},
		{name: "ssh from a private range", object: sg(`- {ipProtocol: tcp, fromPort: 22, toPort: 22, ipRanges: [{cidrIp: 10.0.0.0/8}]}`)},
		{name: "udp 22 from anywhere", object: sg(`- {ipProtocol: udp, fromPort: 22, toPort: 22, ipRanges: [{cidrIp: 0.0.0.0/0}]}`)},
		{name: "ssh from 0.0.0.0/0", object: sg(`- {ipProtocol: tcp, fromPort: 22, toPort: 22, ipRanges: [{cidrIp: 10.0.0.0/8}, {cidrIp: 0.0.0.0/0, description: oops}]}`),
			want: []string{prefix + "tcp 22-22"}},
		{name: "port range from ::/0", object: sg(`- {ipProtocol: tcp, fromPort: 0, toPort: 1024, ipv6Ranges: [{cidrIpv6: "::/0"}]}`),
			want: []string{prefix + "tcp 0-1024"}},
		{name: "all traffic, protocol as a number", object: sg(`- {ipProtocol: -1, ipRanges: [{cidrIp: 0.0.0.0/0}]}`),
			want: []string{prefix + "all traffic"}},
		{name: "protocol 6 and tcp together", object: sg(`- {ipProtocol: "6", fromPort: 20, toPort: 30, ipRanges: [{cidrIp: 0.0.0.0/0}]}
- {ipProtocol: tcp, fromPort: 443, toPort: 443, ipRanges: [{cidrIp: 0.0.0.0/0}]}
- {ipProtocol: "-1", ipv6Ranges: [{cidrIpv6: "::/0"}]}`),
			want: []string{prefix + "6 20-30, all traffic"}},
		{name: "no ingress", object: "apiVersion: aws.trueup.dev/v1alpha1\nkind: SecurityGroup\nmetadata: {name: web}\nspec: {description: web}"},
	})
}

// TestStarterLibraryMetadata pins the starter library's settings.
func TestStarterLibraryMetadata(t *testing.T) {
	want := []Info{
		{Name: "allowed-registries", File: "allowed-registries.yaml", Severity: SeverityCritical, Action: ActionEnforce},
		{Name: "no-privileged-containers", File: "no-privileged-containers.yaml", Severity: SeverityCritical, Action: ActionEnforce},
		{Name: "require-owner-label", File: "require-owner-label.yaml", Severity: SeverityInfo, Action: ActionWarn},
		{Name: "require-resource-limits", File: "require-resource-limits.yaml", Severity: SeverityWarning, Action: ActionWarn},
		{Name: "s3-bucket-secure", File: "s3-bucket-secure.yaml", Severity: SeverityCritical, Action: ActionEnforce},
		{Name: "security-group-no-public-ssh", File: "security-group-no-public-ssh.yaml", Severity: SeverityCritical, Action: ActionEnforce},
	}
	if got := starterSet(t).Policies(); !slices.Equal(got, want) {
		t.Errorf("Policies():\n got  %+v\n want %+v", got, want)
	}
}
