package aws

import (
	"context"
	"errors"
	"strings"
	"testing"

	driftaws "github.com/trueup-dev/trueup/drift/aws"
	awsfixtures "github.com/trueup-dev/trueup/fixtures/aws"
	"github.com/trueup-dev/trueup/fixtures/motoenv"
	"github.com/trueup-dev/trueup/reconciler/kube"
)

// TestApplyCreatesTheStack: a dry-run says what would be created and
// creates nothing; Apply creates all four kinds, tagged for the target;
// Compare then finds them in sync and a second Apply changes nothing.
func TestApplyCreatesTheStack(t *testing.T) {
	ctx := context.Background()
	env := motoenv.Shared(t)
	c := env.Clients()
	a := newAccount(t, testConfig(env, env.Endpoint))
	want := map[string]kube.Action{
		"IAMPolicy/trueup-read-config": kube.ActionCreated, "IAMRole/trueup-app": kube.ActionCreated,
		"SecurityGroup/trueup-web": kube.ActionCreated, "S3Bucket/trueup-logs": kube.ActionCreated,
	}

	dry := mustApply(t, a, "web", stack(t), ApplyOptions{DryRun: true})
	if got := actions(dry); !equalActions(got, want) || !dry.DryRun {
		t.Fatalf("dry-run actions = %v, want %v", got, want)
	}
	if bucketExists(t, c, "trueup-logs") || roleExists(t, c, "trueup-app") || groupID(t, c, "trueup-web") != "" {
		t.Fatal("a dry-run created resources")
	}

	res := mustApply(t, a, "web", stack(t), DefaultApplyOptions())
	if got := actions(res); !equalActions(got, want) {
		t.Fatalf("actions = %v, want %v\n%s", got, want, dump(res))
	}
	assertInSync(t, compare(t, a, stack(t)))

	managed, err := a.Managed(ctx, "web")
	if err != nil || len(managed) != 4 {
		t.Fatalf("Managed(web) = %v, %v; want the 4 created resources tagged for web", managed, err)
	}
	again := mustApply(t, a, "web", stack(t), DefaultApplyOptions())
	if c := again.Counts(); c[kube.ActionUnchanged] != 4 || again.Changed() {
		t.Errorf("second apply: %s, want 4 unchanged", again.Summary())
	}
}

func equalActions(got, want map[string]kube.Action) bool {
	if len(got) != len(want) {
		return false
	}
	for k, v := range want {
		if got[k] != v {
			return false
		}
	}
	return true
}

// TestApplyRefusesInvalidBatches: one invalid object stops the run before
// anything is written.
func TestApplyRefusesInvalidBatches(t *testing.T) {
	env := motoenv.Shared(t)
	bad := awsfixtures.Load(t, "bad-fields.yaml")
	a := newAccount(t, testConfig(env, env.Endpoint))
	res, err := Apply(context.Background(), a, "web", append(stack(t), bad[0]), DefaultApplyOptions())
	if !errors.Is(err, driftaws.ErrInvalidObject) || !strings.Contains(err.Error(), "spec.versionning: unknown field (did you mean versioning?)") {
		t.Fatalf("Apply error = %v, want ErrInvalidObject naming the field", err)
	}
	if len(res.Entries) != 0 || bucketExists(t, env.Clients(), "trueup-logs") {
		t.Errorf("an invalid batch applied something: %s", dump(res))
	}
}

// TestApplyRefusesAnotherAccount: credentials of another account than the
// configured one write nothing.
func TestApplyRefusesAnotherAccount(t *testing.T) {
	env := motoenv.Shared(t)
	cfg := testConfig(env, env.Endpoint)
	cfg.AccountID = "111111111111"
	res, err := Apply(context.Background(), newAccount(t, cfg), "web", stack(t), ApplyOptions{Prune: PruneOptions{Enabled: true, AllowEmpty: true}})
	if !errors.Is(err, driftaws.ErrWrongAccount) {
		t.Fatalf("Apply error = %v, want ErrWrongAccount", err)
	}
	if len(res.Entries) != 0 || bucketExists(t, env.Clients(), "trueup-logs") {
		t.Errorf("applied to the wrong account: %s", dump(res))
	}
}

// TestApplyOwnership: an untagged resource Git declares is adopted (tagged);
// one tagged for another target is left alone.
func TestApplyOwnership(t *testing.T) {
	env := motoenv.Shared(t)
	c := env.Clients()
	a := newAccount(t, testConfig(env, env.Endpoint))
	mustApply(t, a, "api", stack(t), DefaultApplyOptions())

	res, err := Apply(context.Background(), a, "web", stack(t), DefaultApplyOptions())
	if !errors.Is(err, kube.ErrOwnedByOtherTarget) {
		t.Fatalf("Apply error = %v, want ErrOwnedByOtherTarget", err)
	}
	for _, e := range res.Entries {
		if e.Action != kube.ActionFailed || !strings.Contains(e.Message, `tagged trueup.dev/target="api"`) {
			t.Errorf("%s: %s %q, want failed: owned by api", driftaws.ID(e.Ref), e.Action, e.Message)
		}
	}
	if tags := bucketTags(t, c, "trueup-logs"); tags[driftaws.TagTarget] != "api" {
		t.Errorf("bucket tags = %v, want them still api's", tags)
	}

	// Remove trueup's tags out of band: the next Apply of api adopts the
	// bucket again; without drift, it is the only change.
	putBucketTags(t, c, "trueup-logs", map[string]string{"team": "platform", "env": "prod"})
	assertInSync(t, compare(t, a, stack(t)))
	res = mustApply(t, a, "api", stack(t), DefaultApplyOptions())
	got := actions(res)
	if got["S3Bucket/trueup-logs"] != kube.ActionConfigured || res.Counts()[kube.ActionUnchanged] != 3 {
		t.Errorf("actions = %v, want only the bucket configured", got)
	}
	if tags := bucketTags(t, c, "trueup-logs"); tags[driftaws.TagTarget] != "api" || tags[driftaws.TagManagedBy] != "trueup" || tags["team"] != "platform" {
		t.Errorf("bucket tags after adoption = %v", tags)
	}
	for _, e := range res.Entries {
		if e.Ref.Kind == driftaws.KindS3Bucket && !strings.Contains(e.Message, "tagged trueup.dev/managed-by=trueup, trueup.dev/target=api") {
			t.Errorf("message %q does not say it tagged the bucket", e.Message)
		}
	}
}
