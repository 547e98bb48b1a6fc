package reconciler_test

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/trueup-dev/trueup/drift"
	driftaws "github.com/trueup-dev/trueup/drift/aws"
	"github.com/trueup-dev/trueup/drift/aws/cloudtrail"
	awsfixtures "github.com/trueup-dev/trueup/fixtures/aws"
	"github.com/trueup-dev/trueup/fixtures/gitrepo"
	"github.com/trueup-dev/trueup/fixtures/motoenv"
	"github.com/trueup-dev/trueup/notifications"
	"github.com/trueup-dev/trueup/reconciler"
	"github.com/trueup-dev/trueup/reconciler/config"
	"github.com/trueup-dev/trueup/reconciler/history"
	"github.com/trueup-dev/trueup/reconciler/state"
	"github.com/trueup-dev/trueup/sources/git"
)

// noEvents, as newEventsRig's queueURL, configures no event queue.
const noEvents = "none"

const eventsBucket = `apiVersion: aws.trueup.dev/v1alpha1
kind: S3Bucket
metadata:
  name: trueup-events-logs
spec:
  publicAccessBlock: {blockPublicAcls: true, ignorePublicAcls: true, blockPublicPolicy: true, restrictPublicBuckets: true}
`

// eventsRig is a daemon reconciling one bucket target of a moto account
// whose CloudTrail events arrive on a moto SQS queue.
type eventsRig struct {
	env      *motoenv.Env
	r        *reconciler.Reconciler
	queueURL string
	sqs      *sqs.Client
	s3       *s3.Client
	reg      *prometheus.Registry
	pub      *events
	logs     *syncBuffer
	outcomes *outcomeLog
	hist     history.Store
}

// newEventsRig starts the daemon; interval is the target's polling
// interval, queueURL the queue it reads ("" creates one, noEvents reads
// none: polling only); extra are more desired resources of the target.
func newEventsRig(t testing.TB, interval time.Duration, queueURL string, extra ...string) *eventsRig {
	env := motoenv.Start(t)
	ctx := context.Background()
	dir := t.TempDir()
	repo := gitrepo.Init(t, filepath.Join(dir, "infra.git"))
	files := map[string]gitrepo.Entry{"aws/bucket.yaml": gitrepo.File(eventsBucket)}
	for i, doc := range extra {
		files[fmt.Sprintf("aws/extra-%d.yaml", i)] = gitrepo.File(doc)
	}
	repo.Commit(t, files, gitrepo.CommitOptions{Message: "a private bucket"})
	rig := &eventsRig{env: env, sqs: sqs.NewFromConfig(env.AWSConfig()), reg: prometheus.NewRegistry(), pub: &events{}, logs: &syncBuffer{}, outcomes: &outcomeLog{}}
	rig.s3 = s3.NewFromConfig(env.AWSConfig(), func(o *s3.Options) { o.UsePathStyle = true })
	rig.queueURL = queueURL
	eventsYAML := ""
	if queueURL == "" {
		q := motoenv.Must(rig.sqs.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String("trueup-events")}))(t)
		rig.queueURL = aws.ToString(q.QueueUrl)
	}
	if queueURL != noEvents {
		eventsYAML = fmt.Sprintf("    events: {sqsQueueURL: %q, waitTimeSeconds: 1}\n", rig.queueURL)
	}
	cfg, err := config.Parse(fmt.Appendf(nil, `apiVersion: trueup.dev/v1alpha1
kind: Config
dataDir: %s
sources: [{name: infra, url: %s}]
accounts:
  - name: sandbox
    provider: aws
    accountID: %q
    region: %s
    endpoint: %s
    unmanaged: {kinds: [S3Bucket], namePrefixes: [stray-]}
%stargets:
  - {name: buckets, source: infra, path: aws, account: sandbox, interval: %s, remediation: {drift: alert}}
`, filepath.Join(dir, "data"), repo.URL(), env.AccountID, env.Region, env.Endpoint, eventsYAML, interval))
	if err != nil {
		t.Fatal(err)
	}
	store := cloudtrail.NewStore()
	acct, err := driftaws.NewAccount(ctx, driftaws.Config{AccountID: env.AccountID, Region: env.Region, Endpoint: env.Endpoint,
		Static: &driftaws.StaticCredentials{AccessKeyID: env.AccessKeyID, SecretAccessKey: env.SecretAccessKey}}, driftaws.WithActorResolver(store))
	if err != nil {
		t.Fatal(err)
	}
	ac := cfg.Accounts[0]
	dest := &reconciler.AccountDestination{Account: acct, Unmanaged: &driftaws.Filter{NamePrefixes: ac.Unmanaged.NamePrefixes}, UnmanagedKinds: ac.Unmanaged.Kinds}
	if ac.Events != nil {
		dest.Events = &reconciler.AccountEvents{Queue: cloudtrail.NewQueue(acct.SDKConfig(), rig.queueURL, ac.Events.Wait()), Actors: store,
			RetryMin: 50 * time.Millisecond, RetryMax: 200 * time.Millisecond}
	}
	loader := reconciler.NewDesiredLoader(git.New(filepath.Join(dir, "data", "sources")),
		map[string]git.Source{"infra": {Name: "infra", URL: repo.URL(), Ref: git.RefSpec{Branch: "main"}}})
	rig.hist, err = history.OpenSQLite(filepath.Join(dir, "history.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { rig.hist.Close() })
	st, err := state.New()
	if err != nil {
		t.Fatal(err)
	}
	rig.r, err = reconciler.New(cfg, loader, nil, reconciler.WithAccounts(map[string]*reconciler.AccountDestination{"sandbox": dest}),
		reconciler.WithHistory(rig.hist), reconciler.WithState(st),
		reconciler.WithPublisher(rig.pub), reconciler.WithObserver(rig.outcomes.add), reconciler.WithEventMetrics(reconciler.NewEventMetrics(rig.reg)),
		reconciler.WithLogger(slog.New(slog.NewTextHandler(rig.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))))
	if err != nil {
		t.Fatal(err)
	}
	runCtx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = rig.r.Run(runCtx, reconciler.RunOptions{ResyncPeriod: time.Hour, ShutdownGrace: time.Second})
	}()
	t.Cleanup(func() { cancel(); <-done })
	rig.outcomes.wait(t, "the first reconcile", func(o *reconciler.Outcome) bool { return o.Err == nil })
	return rig
}

// setBlock sets the bucket's public access block, as someone would by hand.
func (rig *eventsRig) setBlock(t testing.TB, block bool) {
	t.Helper()
	motoenv.Must(rig.s3.PutPublicAccessBlock(context.Background(), &s3.PutPublicAccessBlockInput{Bucket: aws.String("trueup-events-logs"),
		PublicAccessBlockConfiguration: &s3types.PublicAccessBlockConfiguration{BlockPublicAcls: aws.Bool(block),
			IgnorePublicAcls: aws.Bool(true), BlockPublicPolicy: aws.Bool(true), RestrictPublicBuckets: aws.Bool(true)}}))(t)
}

// send publishes a message body on the queue, as EventBridge would.
func (rig *eventsRig) send(t testing.TB, body []byte) {
	t.Helper()
	motoenv.Must(rig.sqs.SendMessage(context.Background(), &sqs.SendMessageInput{QueueUrl: aws.String(rig.queueURL), MessageBody: aws.String(string(body))}))(t)
}

// counted waits until trueup_cloud_events_total{result} reaches n.
func (rig *eventsRig) counted(t *testing.T, result string, n float64) {
	t.Helper()
	eventually(t, fmt.Sprintf("%v %s events counted", n, result), func() bool {
		return testutil.ToFloat64(eventsTotal(rig.reg, result)) >= n
	})
}

func blockCall(account, who string, at time.Time, id string) awsfixtures.Call {
	return awsfixtures.Call{Account: account, Source: "s3.amazonaws.com", Name: "PutBucketPublicAccessBlock", Time: at, ID: id,
		PrincipalARN: "arn:aws:sts::" + account + ":assumed-role/Admin/" + who, SessionIssuerARN: "arn:aws:iam::" + account + ":role/Admin",
		SourceIP: "203.0.113.7", Params: map[string]any{"bucketName": "trueup-events-logs"}}
}

// bucketActor is the actor on the bucket's drifted fields in o.
func bucketActor(o *reconciler.Outcome) *drift.Actor {
	for _, obj := range o.Report.Objects {
		if obj.Ref.Name == "trueup-events-logs" && obj.Status == drift.Drifted && len(obj.Fields) > 0 {
			return obj.Fields[0].Actor
		}
	}
	return nil
}

// TestAccountEvents: with the polling interval an hour away, a CloudTrail
// event on the queue wakes the bucket's comparison and names who opened
// it; duplicate, older, forged and malformed events change nothing; an
// event for a bucket no target declares feeds the unmanaged report.
func TestAccountEvents(t *testing.T) {
	rig := newEventsRig(t, time.Hour, "")
	acct := rig.env.AccountID
	t0 := time.Now().UTC().Truncate(time.Second)

	t.Run("event wakes the comparison and names the actor", func(t *testing.T) {
		rig.setBlock(t, false)
		rig.send(t, blockCall(acct, "alice", t0, "e1").EventBridge())
		o := rig.outcomes.wait(t, "a drift woken by the event", func(o *reconciler.Outcome) bool {
			return o.Trigger == reconciler.TriggerCloudEvent && bucketActor(o) != nil
		})
		a := bucketActor(o)
		if a.Principal != "arn:aws:sts::"+acct+":assumed-role/Admin/alice" || a.SessionIssuer != "arn:aws:iam::"+acct+":role/Admin" ||
			a.SourceIP != "203.0.113.7" || a.Event != "PutBucketPublicAccessBlock" || !a.Time.Equal(t0) {
			t.Fatalf("actor = %+v", a)
		}
		opened := rig.pub.take(notifications.KindDriftOpened)
		if len(opened) != 1 || !strings.Contains(opened[0].Actor, "assumed-role/Admin/alice (PutBucketPublicAccessBlock, session of arn:aws:iam::"+acct+":role/Admin, from 203.0.113.7)") {
			t.Fatalf("drift notifications = %+v", opened)
		}
		recs, err := rig.hist.Query(context.Background(), history.Filter{Target: "buckets", Actor: a.Principal})
		if err != nil || len(recs) == 0 {
			t.Fatalf("history records of %s: %d, %v", a.Principal, len(recs), err)
		}
		rig.counted(t, "woke", 1)
	})

	t.Run("duplicate and older events change nothing", func(t *testing.T) {
		rig.send(t, blockCall(acct, "alice", t0, "e1").EventBridge())                   // re-delivered
		rig.send(t, blockCall(acct, "mallory", t0.Add(-time.Hour), "e0").EventBridge()) // out of order
		rig.counted(t, "duplicate", 2)
		rig.assertActor(t, "alice")
	})

	t.Run("an event of another account is ignored", func(t *testing.T) {
		forged := blockCall(acct, "mallory", t0.Add(time.Hour), "f1")
		forged.EnvelopeAccount = "210987654321"
		rig.send(t, forged.EventBridge())
		recipient := blockCall("210987654321", "mallory", t0.Add(time.Hour), "f2")
		recipient.EnvelopeAccount = acct // envelope says ours, the record another's
		rig.send(t, recipient.EventBridge())
		rig.counted(t, "other-account", 2)
		rig.assertActor(t, "alice")
		if !strings.Contains(rig.logs.String(), "event of another account ignored") {
			t.Fatalf("no log line for the forged events:\n%s", rig.logs)
		}
	})

	t.Run("a malformed body is logged and deleted", func(t *testing.T) {
		rig.send(t, []byte(`{"detail-type": "AWS API Call via CloudTrail", "detail": {"eventName": "PutBucketPolicy", "token": "hunter2-secret`))
		rig.counted(t, "malformed", 1)
		if logs := rig.logs.String(); !strings.Contains(logs, "malformed event dropped") || strings.Contains(logs, "hunter2") {
			t.Fatalf("malformed event log (must name it, never quote it):\n%s", logs)
		}
		eventually(t, "the queue empty (every message deleted)", func() bool {
			attrs, err := rig.sqs.GetQueueAttributes(context.Background(), &sqs.GetQueueAttributesInput{QueueUrl: aws.String(rig.queueURL),
				AttributeNames: []sqstypes.QueueAttributeName{sqstypes.QueueAttributeNameApproximateNumberOfMessages, sqstypes.QueueAttributeNameApproximateNumberOfMessagesNotVisible}})
			return err == nil && attrs.Attributes["ApproximateNumberOfMessages"] == "0" && attrs.Attributes["ApproximateNumberOfMessagesNotVisible"] == "0"
		})
	})

	t.Run("an event for an undeclared bucket feeds the unmanaged report", func(t *testing.T) {
		motoenv.Must(rig.s3.CreateBucket(context.Background(), &s3.CreateBucketInput{Bucket: aws.String("stray-uploads")}))(t)
		rig.send(t, awsfixtures.Call{Account: acct, Source: "s3.amazonaws.com", Name: "CreateBucket", Time: t0.Add(time.Minute), ID: "u1",
			PrincipalARN: "arn:aws:iam::" + acct + ":user/bob", Params: map[string]any{"bucketName": "stray-uploads"}}.EventBridge())
		rig.outcomes.wait(t, "the unmanaged bucket reported", func(o *reconciler.Outcome) bool {
			for _, obj := range o.Report.Objects {
				if obj.Ref.Name == "stray-uploads" && obj.Status == drift.Unmanaged {
					return o.Trigger == reconciler.TriggerCloudEvent
				}
			}
			return false
		})
		rig.counted(t, "unmanaged", 1)
	})

	t.Run("a drift no event explains is not pinned on an earlier writer", func(t *testing.T) {
		rig.setBlock(t, true)
		// CloudTrail delivers an event after the call, its time in whole
		// seconds: two seconds back, and after alice's first event.
		time.Sleep(time.Until(t0.Add(4 * time.Second)))
		rig.send(t, blockCall(acct, "alice", time.Now().Add(-2*time.Second), "e2").EventBridge())
		rig.outcomes.wait(t, "the bucket in sync again", func(o *reconciler.Outcome) bool {
			return o.Trigger == reconciler.TriggerCloudEvent && bucketActor(o) == nil && o.Err == nil
		})
		rig.setBlock(t, false) // by hand, and the event never comes
		out := rig.r.Reconcile(context.Background(), "buckets", reconciler.TriggerInterval, reconciler.ReconcileOptions{})
		if a := bucketActor(out); a == nil || a.Principal != "" || a.Unknown != cloudtrail.ActorNoEvent {
			t.Fatalf("actor = %+v, want %q", a, cloudtrail.ActorNoEvent)
		}
	})
}

// assertActor compares now (alert mode: nothing is healed) and checks the bucket's drift is still
// attributed to who.
func (rig *eventsRig) assertActor(t *testing.T, who string) {
	t.Helper()
	out := rig.r.Reconcile(context.Background(), "buckets", reconciler.TriggerInterval, reconciler.ReconcileOptions{})
	if out.Err != nil {
		t.Fatal(out.Err)
	}
	if a := bucketActor(out); a == nil || !strings.HasSuffix(a.Principal, "/"+who) {
		t.Fatalf("actor = %+v, want %s (outcome %s: %s)", a, who, out.Action, eventsJSON(out.Report))
	}
}

const eventsGroup = `apiVersion: aws.trueup.dev/v1alpha1
kind: SecurityGroup
metadata:
  name: trueup-events-web
spec:
  description: Web servers
  ingress:
    - {ipProtocol: tcp, fromPort: 443, toPort: 443, ipRanges: [{cidrIp: 10.0.0.0/8}]}
`

// TestAccountEventsSecurityGroupByID: EC2 events name a group by id; the
// event wakes the target that declares the group by name and attributes
// the added rule.
func TestAccountEventsSecurityGroupByID(t *testing.T) {
	rig := newEventsRig(t, time.Hour, "", eventsGroup)
	ctx := context.Background()
	ec := rig.env.Clients().EC2
	groups := motoenv.Must(ec.DescribeSecurityGroups(ctx, &ec2.DescribeSecurityGroupsInput{
		Filters: []ec2types.Filter{{Name: aws.String("group-name"), Values: []string{"trueup-events-web"}}}}))(t)
	if len(groups.SecurityGroups) != 1 {
		t.Fatalf("the first reconcile did not create the group: %+v", groups.SecurityGroups)
	}
	id := aws.ToString(groups.SecurityGroups[0].GroupId)
	motoenv.Must(ec.AuthorizeSecurityGroupIngress(ctx, &ec2.AuthorizeSecurityGroupIngressInput{GroupId: aws.String(id), IpPermissions: []ec2types.IpPermission{
		{IpProtocol: aws.String("tcp"), FromPort: aws.Int32(22), ToPort: aws.Int32(22), IpRanges: []ec2types.IpRange{{CidrIp: aws.String("0.0.0.0/0")}}}}}))(t)
	rig.send(t, awsfixtures.Call{Account: rig.env.AccountID, Source: "ec2.amazonaws.com", Name: "AuthorizeSecurityGroupIngress", Time: time.Now(), ID: "sg1",
		PrincipalARN: "arn:aws:iam::" + rig.env.AccountID + ":user/judy", SourceIP: "198.51.100.9", Params: map[string]any{"groupId": id}}.EventBridge())
	o := rig.outcomes.wait(t, "the group's drift woken by the event", func(o *reconciler.Outcome) bool {
		if o.Trigger != reconciler.TriggerCloudEvent {
			return false
		}
		return slices.ContainsFunc(o.Report.Objects, func(obj drift.ObjectReport) bool {
			return obj.Ref.Name == "trueup-events-web" && obj.Status == drift.Drifted
		})
	})
	for _, obj := range o.Report.Objects {
		if obj.Ref.Name != "trueup-events-web" {
			continue
		}
		if a := obj.Fields[0].Actor; a == nil || a.Principal != "arn:aws:iam::"+rig.env.AccountID+":user/judy" || a.Event != "AuthorizeSecurityGroupIngress" || a.SourceIP != "198.51.100.9" {
			t.Fatalf("group actor = %+v", a)
		}
	}
}

// TestAccountEventsQueueDown: when the queue cannot be read the account
// says so once (log and metric) and its target is still compared at its
// interval: the drift is found, never reported in sync for want of events.
func TestAccountEventsQueueDown(t *testing.T) {
	rig := newEventsRig(t, 10*time.Second, "")
	motoenv.Must(rig.sqs.DeleteQueue(context.Background(), &sqs.DeleteQueueInput{QueueUrl: aws.String(rig.queueURL)}))(t)
	eventually(t, "the queue reported down", func() bool {
		return testutil.ToFloat64(queueUp(rig.reg)) == 0 && strings.Count(rig.logs.String(), "event queue unreachable") == 1
	})
	rig.setBlock(t, false)
	o := rig.outcomes.wait(t, "the drift found by polling", func(o *reconciler.Outcome) bool {
		return o.Trigger == reconciler.TriggerInterval && bucketActor(o) != nil
	})
	if a := bucketActor(o); a.Principal != "" || a.Unknown != cloudtrail.ActorNoEvent {
		t.Fatalf("actor without an event = %+v, want %q", a, cloudtrail.ActorNoEvent)
	}
	if n := strings.Count(rig.logs.String(), "event queue unreachable"); n != 1 {
		t.Fatalf("the outage was logged %d times, want once:\n%s", n, rig.logs)
	}
}

func eventsTotal(reg *prometheus.Registry, result string) prometheus.Collector {
	return gathered(reg, "trueup_cloud_events_total", "result", result)
}

func queueUp(reg *prometheus.Registry) prometheus.Collector {
	return gathered(reg, "trueup_cloud_event_queue_up", "account", "sandbox")
}

// gathered is a gauge holding the value of metric{label=value} (0 when
// absent), for testutil.ToFloat64.
func gathered(reg *prometheus.Registry, metric, label, value string) prometheus.Collector {
	g := prometheus.NewGauge(prometheus.GaugeOpts{Name: "gathered"})
	mfs, _ := reg.Gather()
	for _, mf := range mfs {
		if mf.GetName() != metric {
			continue
		}
		for _, m := range mf.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == label && l.GetValue() == value {
					if m.Counter != nil {
						g.Set(m.GetCounter().GetValue())
					} else {
						g.Set(m.GetGauge().GetValue())
					}
				}
			}
		}
	}
	return g
}

// eventually polls cond until it holds; the bound only keeps a broken
// test from hanging, it asserts no latency.
func eventually(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(90 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within 90s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// outcomeLog keeps every finished reconcile's outcome.
type outcomeLog struct {
	mu   sync.Mutex
	outs []*reconciler.Outcome
	next int
}

func (l *outcomeLog) add(o *reconciler.Outcome) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.outs = append(l.outs, o)
}

// wait returns the first outcome since the last wait that matches.
func (l *outcomeLog) wait(t testing.TB, what string, match func(*reconciler.Outcome) bool) *reconciler.Outcome {
	t.Helper()
	var found *reconciler.Outcome
	eventually(t, what, func() bool {
		l.mu.Lock()
		defer l.mu.Unlock()
		for ; l.next < len(l.outs); l.next++ {
			if match(l.outs[l.next]) {
				found = l.outs[l.next]
				l.next++
				return true
			}
		}
		return false
	})
	return found
}

func eventsJSON(v any) string {
	b, _ := json.MarshalIndent(v, "", "  ")
	return string(b)
}
