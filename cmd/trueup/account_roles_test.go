package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials/stscreds"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	driftaws "github.com/trueup-dev/trueup/drift/aws"
	"github.com/trueup-dev/trueup/fixtures/gitrepo"
	"github.com/trueup-dev/trueup/fixtures/motoenv"
	"github.com/trueup-dev/trueup/reconciler"
	"github.com/trueup-dev/trueup/reconciler/config"
)

// teamExternalID is team-a's external id; it must never be printed.
const teamExternalID = "ext-4711-do-not-print"

func bucketYAML(name string) string {
	return fmt.Sprintf("apiVersion: aws.trueup.dev/v1alpha1\nkind: S3Bucket\nmetadata:\n  name: %s\nspec:\n  tags:\n    team: %s\n", name, strings.Split(name, "-")[1])
}

// rolesConfig writes a config with one account on endpoint, no role of its
// own, and two targets: team-a assumes its own role (with an external id),
// team-b its tenant's (blue, with the default session name). The default
// credential chain holds keys.
func rolesConfig(t *testing.T, env *motoenv.Env, endpoint string, repo *gitrepo.Repo, accessKey, secretKey string) string {
	t.Helper()
	dir := t.TempDir()
	cfg := fmt.Sprintf(`apiVersion: trueup.dev/v1alpha1
kind: Config
dataDir: %s
sources:
  - name: infra
    url: %s
accounts:
  - name: shared
    provider: aws
    accountID: %q
    region: %s
    endpoint: %s
targets:
  - name: team-a
    source: infra
    path: a
    account: shared
    assumeRole:
      roleARN: arn:aws:iam::%[3]s:role/team-a
      sessionName: trueup-team-a
      externalIDFrom: {env: TEAM_A_EXTERNAL_ID}
  - name: team-b
    source: infra
    path: b
    account: shared
tenants:
  - name: blue
    targets: [team-b]
    assumeRole:
      roleARN: arn:aws:iam::%[3]s:role/team-b
`, filepath.Join(dir, "data"), repo.URL(), env.AccountID, env.Region, endpoint)
	path := filepath.Join(dir, "trueup.yaml")
	if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("AWS_ACCESS_KEY_ID", accessKey)
	t.Setenv("AWS_SECRET_ACCESS_KEY", secretKey)
	t.Setenv("AWS_CONFIG_FILE", filepath.Join(dir, "no-aws-config"))
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", filepath.Join(dir, "no-aws-credentials"))
	t.Setenv("AWS_EC2_METADATA_DISABLED", "true")
	t.Setenv("TEAM_A_EXTERNAL_ID", teamExternalID)
	return path
}

// seedTeamRoles makes, with moto's admin keys, an IAM user "trueup" that
// may only assume roles, and roles team-a and team-b that it may assume
// (team-a only with teamExternalID) and that may read everything but write
// only the buckets named after their team. It returns the user's keys.
func seedTeamRoles(t *testing.T, env *motoenv.Env) (accessKey, secretKey string) {
	t.Helper()
	ctx := context.Background()
	c := env.Clients().IAM
	user := motoenv.Must(c.CreateUser(ctx, &iam.CreateUserInput{UserName: aws.String("trueup")}))(t).User
	motoenv.Must(c.PutUserPolicy(ctx, &iam.PutUserPolicyInput{UserName: user.UserName, PolicyName: aws.String("assume-only"),
		PolicyDocument: aws.String(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"sts:AssumeRole","Resource":"*"}]}`)}))(t)
	key := motoenv.Must(c.CreateAccessKey(ctx, &iam.CreateAccessKeyInput{UserName: user.UserName}))(t).AccessKey
	for _, team := range []string{"a", "b"} {
		trust := map[string]any{"Effect": "Allow", "Principal": map[string]any{"AWS": aws.ToString(user.Arn)}, "Action": "sts:AssumeRole"}
		if team == "a" {
			trust["Condition"] = map[string]any{"StringEquals": map[string]any{"sts:ExternalId": teamExternalID}}
		}
		perms := []map[string]any{
			{"Effect": "Allow", "Action": []string{"s3:Get*", "s3:List*", "iam:Get*", "iam:List*", "ec2:Describe*"}, "Resource": "*"},
			{"Effect": "Allow", "Action": "s3:*", "Resource": []string{"arn:aws:s3:::team-" + team + "-*", "arn:aws:s3:::team-" + team + "-*/*"}},
		}
		motoenv.Must(c.CreateRole(ctx, &iam.CreateRoleInput{RoleName: aws.String("team-" + team),
			AssumeRolePolicyDocument: aws.String(policyJSON(t, trust))}))(t)
		motoenv.Must(c.PutRolePolicy(ctx, &iam.PutRolePolicyInput{RoleName: aws.String("team-" + team), PolicyName: aws.String("own-buckets"),
			PolicyDocument: aws.String(policyJSON(t, perms...))}))(t)
	}
	return aws.ToString(key.AccessKeyId), aws.ToString(key.SecretAccessKey)
}

func policyJSON(t *testing.T, statements ...map[string]any) string {
	t.Helper()
	b, err := json.Marshal(map[string]any{"Version": "2012-10-17", "Statement": statements})
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// motoAuth turns moto's IAM enforcement on (every request must come from
// known credentials whose policies allow it) or off.
func motoAuth(t *testing.T, env *motoenv.Env, on bool) {
	t.Helper()
	count := "inf"
	if on {
		count = "0"
	}
	resp, err := http.Post(env.Endpoint+"/moto-api/reset-auth", "text/plain", strings.NewReader(count))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("moto reset-auth: %s", resp.Status)
	}
}

// buckets lists moto's buckets with the admin keys (IAM enforcement must
// be off).
func buckets(t *testing.T, env *motoenv.Env) []string {
	t.Helper()
	cli := s3.NewFromConfig(env.AWSConfig(), func(o *s3.Options) { o.UsePathStyle = true })
	out := motoenv.Must(cli.ListBuckets(context.Background(), &s3.ListBucketsInput{}))(t)
	var names []string
	for _, b := range out.Buckets {
		names = append(names, aws.ToString(b.Name))
	}
	return names
}

// TestAccountTargetsActAsTheirRoles: two targets on one account act as two
// roles, team-a's own and team-b's tenant's. moto enforces IAM: the
// daemon's own user may only assume roles, and each role may only write
// its team's buckets. So each apply succeeds only with its own role, a
// bucket of the other team in team-a's folder is refused by AWS, and the
// external id never shows.
func TestAccountTargetsActAsTheirRoles(t *testing.T) {
	env := motoenv.Start(t) // IAM enforcement is server-wide
	repo := gitrepo.Init(t, filepath.Join(t.TempDir(), "infra.git"))
	repo.Commit(t, map[string]gitrepo.Entry{"a/logs.yaml": gitrepo.File(bucketYAML("team-a-logs")), "b/logs.yaml": gitrepo.File(bucketYAML("team-b-logs"))},
		gitrepo.CommitOptions{Message: "a bucket per team"})
	ak, sk := seedTeamRoles(t, env)
	cfg := rolesConfig(t, env, env.Endpoint, repo, ak, sk)
	motoAuth(t, env, true)

	var printed strings.Builder
	run := func(args ...string) (string, int) {
		t.Helper()
		out, errOut, code := trueup(t, append(args, "-c", cfg)...)
		printed.WriteString(out + errOut)
		return out + errOut, code
	}
	// As the daemon does: one reconciler for every target, each acting
	// with its own client.
	loaded, err := config.Load(cfg)
	if err != nil {
		t.Fatal(err)
	}
	targets, err := selectTargets(loaded, nil)
	if err != nil {
		t.Fatal(err)
	}
	r, err := newReconciler(loaded, targets)
	if err != nil {
		t.Fatal(err)
	}
	reconcile := func(target string) *reconciler.Outcome {
		out := r.Reconcile(context.Background(), target, reconciler.TriggerInterval, reconciler.ReconcileOptions{})
		printed.WriteString(fmt.Sprintf("%v %+v\n", out.Err, out))
		return out
	}
	for _, team := range []string{"team-a", "team-b"} {
		if out := reconcile(team); out.Err != nil || out.Action != reconciler.ActionApplied {
			t.Fatalf("reconcile %s: %s, %v", team, out.Action, out.Err)
		}
	}
	if out, code := run("diff"); code != 0 {
		t.Fatalf("diff after apply: exit %d, want 0 (in sync)\n%s", code, out)
	}
	motoAuth(t, env, false)
	if got := strings.Join(buckets(t, env), ","); got != "team-a-logs,team-b-logs" {
		t.Fatalf("buckets = %s, want team-a-logs,team-b-logs", got)
	}
	motoAuth(t, env, true)

	// team-a's folder declares a bucket of team-b's: team-a's role may not
	// create it, whatever team-b's role could.
	repo.Commit(t, map[string]gitrepo.Entry{"a/logs.yaml": gitrepo.File(bucketYAML("team-a-logs")), "a/steal.yaml": gitrepo.File(bucketYAML("team-b-stolen"))},
		gitrepo.CommitOptions{Message: "a bucket of team b"})
	if out := reconcile("team-a"); out.Err == nil || !strings.Contains(out.Err.Error(), "team-b-stolen") || !strings.Contains(out.Err.Error(), "AccessDenied") {
		t.Fatalf("reconcile of team-b's bucket as team-a: %s, %v, want a failure naming AccessDenied", out.Action, out.Err)
	}
	if out, code := run("apply", "team-a"); code == 0 || !strings.Contains(out, "team-b-stolen") || !strings.Contains(out, "AccessDenied") {
		t.Fatalf("apply of team-b's bucket as team-a: exit %d, want a failure naming AccessDenied\n%s", code, out)
	}
	motoAuth(t, env, false)
	if got := strings.Join(buckets(t, env), ","); got != "team-a-logs,team-b-logs" {
		t.Fatalf("buckets = %s, want no team-b-stolen", got)
	}
	motoAuth(t, env, true)
	if out, code := run("history", "--target", "team-a", "-o", "json"); code != 0 {
		t.Fatalf("history: exit %d\n%s", code, out)
	}
	if strings.Contains(printed.String(), teamExternalID) {
		t.Error("the external id was printed")
	}
}

// TestAccountRoleOfAnotherAccountIsRefused: a role in another account than
// the account's accountID is a config error; and when credentials turn out
// to be another account's at run time (here: accountID changed after
// validation), each target fails naming its role, both accounts and the
// fix, and nothing but STS is called.
func TestAccountRoleOfAnotherAccountIsRefused(t *testing.T) {
	env := motoenv.Start(t)
	repo := gitrepo.Init(t, filepath.Join(t.TempDir(), "infra.git"))
	repo.Commit(t, map[string]gitrepo.Entry{"a/logs.yaml": gitrepo.File(bucketYAML("team-a-logs")), "b/logs.yaml": gitrepo.File(bucketYAML("team-b-logs"))},
		gitrepo.CommitOptions{Message: "a bucket per team"})
	proxy := motoenv.NewProxy(t, env)
	path := rolesConfig(t, env, proxy.URL, repo, env.AccessKeyID, env.SecretAccessKey)

	t.Run("validate", func(t *testing.T) {
		raw, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		bad := filepath.Join(t.TempDir(), "trueup.yaml")
		if err := os.WriteFile(bad, []byte(strings.Replace(string(raw), "arn:aws:iam::"+env.AccountID+":role/team-b", "arn:aws:iam::999999999999:role/team-b", 1)), 0o600); err != nil {
			t.Fatal(err)
		}
		out, errOut, code := trueup(t, "validate", "-c", bad)
		want := `tenants[0].assumeRole.roleARN: role arn:aws:iam::999999999999:role/team-b is in account 999999999999, but the tenant's target "team-b" acts in account "shared" (accountID ` + env.AccountID + `)`
		if code == 0 || !strings.Contains(out+errOut, want) {
			t.Fatalf("validate: exit %d, want an error containing %q\n%s%s", code, want, out, errOut)
		}
	})

	t.Run("run time", func(t *testing.T) {
		cfg, err := config.Load(path)
		if err != nil {
			t.Fatal(err)
		}
		cfg.Accounts[0].AccountID = "111111111111" // the roles are in moto's account
		targets, err := selectTargets(cfg, nil)
		if err != nil {
			t.Fatal(err)
		}
		r, err := newReconciler(cfg, targets)
		if err != nil {
			t.Fatal(err)
		}
		for _, tc := range []struct{ target, role, from, session string }{
			{"team-a", "team-a", `target "team-a"`, "trueup-team-a"},
			{"team-b", "team-b", `tenant "blue"`, "trueup-blue"}, // the default session name
		} {
			out := r.Reconcile(context.Background(), tc.target, reconciler.TriggerInterval, reconciler.ReconcileOptions{})
			want := fmt.Sprintf("assumeRole of %s: account 111111111111: role arn:aws:iam::%s:role/%s gave credentials of account %s (arn:aws:sts::%s:assumed-role/%s/%s): refusing to touch it; assume a role of account 111111111111, or correct the account's accountID",
				tc.from, env.AccountID, tc.role, env.AccountID, env.AccountID, tc.role, tc.session)
			if out.Err == nil || out.Err.Error() != want || !errors.Is(out.Err, driftaws.ErrWrongAccount) {
				t.Errorf("%s: error = %v\nwant %s", tc.target, out.Err, want)
			}
			if out.Action != reconciler.ActionFailed || len(out.Report.Objects) > 0 {
				t.Errorf("%s: action %s with report %+v, want failed with nothing read", tc.target, out.Action, out.Report)
			}
			if strings.Contains(fmt.Sprintf("%v %+v", out.Err, out), teamExternalID) {
				t.Errorf("%s: the external id leaks into the outcome", tc.target)
			}
		}
		if n := proxy.Calls("*", "*") - proxy.Calls("sts", "*"); n != 0 {
			t.Errorf("%d calls besides STS reached the account", n)
		}
		if got := buckets(t, env); len(got) != 0 {
			t.Errorf("buckets = %v, want none", got)
		}
	})
}

// TestHubCredentialsActInTheSpokeThroughTargetRoles: the daemon's own
// credentials are of another (hub) account, as when trueup runs in a
// platform account; the targets reach the account only through their
// roles. The target applies into the account through its role; the
// account-wide unmanaged report is read with the account's own identity
// (here the hub's credentials), so it is unknown, naming the refusal,
// never "nothing unmanaged".
func TestHubCredentialsActInTheSpokeThroughTargetRoles(t *testing.T) {
	const spoke = "111111111111"
	env := motoenv.Start(t)
	repo := gitrepo.Init(t, filepath.Join(t.TempDir(), "infra.git"))
	repo.Commit(t, map[string]gitrepo.Entry{"a/logs.yaml": gitrepo.File(bucketYAML("team-a-logs")), "b/logs.yaml": gitrepo.File(bucketYAML("team-b-logs"))},
		gitrepo.CommitOptions{Message: "a bucket per team"})
	path := rolesConfig(t, env, env.Endpoint, repo, env.AccessKeyID, env.SecretAccessKey)
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	// The account is the spoke; moto's credentials are the hub's.
	if err := os.WriteFile(path, []byte(strings.ReplaceAll(string(raw), env.AccountID, spoke)), 0o600); err != nil {
		t.Fatal(err)
	}

	if out, errOut, code := trueup(t, "apply", "team-a", "-c", path); code != 0 || !strings.Contains(out, "1 created") {
		t.Fatalf("apply team-a: exit %d\n%s%s", code, out, errOut)
	}
	ctx := context.Background()
	inSpoke := env.AWSConfig()
	inSpoke.Credentials = aws.NewCredentialsCache(stscreds.NewAssumeRoleProvider(sts.NewFromConfig(inSpoke), "arn:aws:iam::"+spoke+":role/check"))
	for _, tc := range []struct {
		account string
		cfg     aws.Config
		want    string
	}{{spoke, inSpoke, "team-a-logs"}, {env.AccountID, env.AWSConfig(), ""}} {
		cli := s3.NewFromConfig(tc.cfg, func(o *s3.Options) { o.UsePathStyle = true })
		out := motoenv.Must(cli.ListBuckets(ctx, &s3.ListBucketsInput{}))(t)
		var names []string
		for _, b := range out.Buckets {
			names = append(names, aws.ToString(b.Name))
		}
		if got := strings.Join(names, ","); got != tc.want {
			t.Errorf("buckets of account %s = %q, want %q", tc.account, got, tc.want)
		}
	}

	// With the unmanaged report on, the account's own identity (the hub's
	// credentials) is refused: the report is unknown, the target's own
	// resources still compare.
	withUnmanaged := strings.Replace(strings.ReplaceAll(string(raw), env.AccountID, spoke), "    endpoint: "+env.Endpoint+"\n",
		"    endpoint: "+env.Endpoint+"\n    unmanaged: {namePrefixes: [team-]}\n", 1)
	if err := os.WriteFile(path, []byte(withUnmanaged), 0o600); err != nil {
		t.Fatal(err)
	}
	out, errOut, code := trueup(t, "diff", "team-a", "-c", path)
	if code != exitError || !strings.Contains(out, "unmanaged resources unknown") ||
		!strings.Contains(out, "account "+spoke+": the credentials belong to account "+env.AccountID) || !strings.Contains(out, "1 in sync, 0 drifted") {
		t.Fatalf("diff with the unmanaged report: exit %d, want 2 naming the refused account identity\n%s%s", code, out, errOut)
	}
}
