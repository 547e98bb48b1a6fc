package aws

import (
	"context"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	awssdk "github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/trueup-dev/trueup/drift"
	"github.com/trueup-dev/trueup/fixtures/motoenv"
)

// recordingResolver answers a fixed principal and records what it was
// asked.
type recordingResolver struct {
	mu    sync.Mutex
	asked []string
}

func (r *recordingResolver) ResolveActor(_ context.Context, ref drift.ObjectRef, arn string) (*drift.Actor, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.asked = append(r.asked, ID(ref)+" "+arn)
	return &drift.Actor{Principal: "arn:aws:iam::123456789012:user/mallory", Time: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)}, nil
}

// TestCompareAttributesDrift: the ActorResolver seam is asked about drifted
// resources only, and its principal lands on every drifted field.
func TestCompareAttributesDrift(t *testing.T) {
	ctx := context.Background()
	env := motoenv.Shared(t)
	c := env.Clients()
	seedStack(t, c)
	motoenv.Must(c.S3.PutBucketVersioning(ctx, &s3.PutBucketVersioningInput{Bucket: awssdk.String("trueup-logs"),
		VersioningConfiguration: &s3types.VersioningConfiguration{Status: s3types.BucketVersioningStatusSuspended}}))(t)

	r := &recordingResolver{}
	now := time.Date(2026, 5, 6, 7, 8, 9, 0, time.UTC)
	a := newAccount(t, testConfig(env, env.Endpoint), WithActorResolver(r), WithClock(func() time.Time { return now }))
	rep, err := a.Compare(ctx, stack(t), nil)
	if err != nil {
		t.Fatal(err)
	}
	if !rep.Time.Equal(now) {
		t.Errorf("report time %v, want %v", rep.Time, now)
	}
	if len(r.asked) != 1 || r.asked[0] != "S3Bucket/trueup-logs arn:aws:s3:::trueup-logs" {
		t.Errorf("resolver asked %v, want only the drifted bucket", r.asked)
	}
	for _, o := range rep.Objects {
		for _, f := range o.Fields {
			if f.Actor == nil || f.Actor.Principal != "arn:aws:iam::123456789012:user/mallory" {
				t.Errorf("%s %s: actor %+v", ID(o.Ref), f.Path, f.Actor)
			}
		}
	}
}

// TestCloudDriftWithoutCloudTrailSaysActorUnknown: with no CloudTrail
// lookup (the default resolver) or one that finds nothing, every drifted
// field says its actor is unknown and why, instead of naming nobody.
func TestCloudDriftWithoutCloudTrailSaysActorUnknown(t *testing.T) {
	ctx := context.Background()
	env := motoenv.Shared(t)
	c := env.Clients()
	seedStack(t, c)
	motoenv.Must(c.S3.PutBucketVersioning(ctx, &s3.PutBucketVersioningInput{Bucket: awssdk.String("trueup-logs"),
		VersioningConfiguration: &s3types.VersioningConfiguration{Status: s3types.BucketVersioningStatusSuspended}}))(t)
	tests := []struct {
		name string
		opts []Option
		want string
	}{
		{name: "no CloudTrail", want: "actor unknown (no CloudTrail)"},
		{name: "CloudTrail finds nothing", opts: []Option{WithActorResolver(nothingFound{})}, want: "actor unknown (not found in CloudTrail)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rep, err := newAccount(t, testConfig(env, env.Endpoint), tt.opts...).Compare(ctx, stack(t), nil)
			if err != nil {
				t.Fatal(err)
			}
			fields := 0
			for _, o := range rep.Objects {
				for _, f := range o.Fields {
					fields++
					if f.Actor == nil || f.Actor.Name() != tt.want || f.Actor.Principal != "" {
						t.Errorf("%s %s: actor %+v, want %q", ID(o.Ref), f.Path, f.Actor, tt.want)
					}
				}
			}
			if fields == 0 {
				t.Fatalf("no drifted field in %s", dumpJSON(rep))
			}
		})
	}
}

// nothingFound is a CloudTrail lookup that finds no event.
type nothingFound struct{}

func (nothingFound) ResolveActor(context.Context, drift.ObjectRef, string) (*drift.Actor, error) {
	return nil, nil
}

// blockingClient counts requests in flight and never answers until
// released.
type blockingClient struct {
	inFlight, peak atomic.Int64
	release        chan struct{}
}

func (c *blockingClient) Do(r *http.Request) (*http.Response, error) {
	n := c.inFlight.Add(1)
	defer c.inFlight.Add(-1)
	for {
		p := c.peak.Load()
		if n <= p || c.peak.CompareAndSwap(p, n) {
			break
		}
	}
	<-c.release
	return nil, http.ErrHandlerTimeout
}

func TestLimitedClientBoundsRequestsInFlight(t *testing.T) {
	next := &blockingClient{release: make(chan struct{})}
	lc := &limitedClient{next: next, inFlight: make(chan struct{}, 3)}
	var wg sync.WaitGroup
	for range 10 {
		wg.Go(func() {
			req, _ := http.NewRequest(http.MethodGet, "http://127.0.0.1/", nil)
			_, _ = lc.Do(req)
		})
	}
	for next.inFlight.Load() < 3 {
		time.Sleep(time.Millisecond)
	}
	close(next.release)
	wg.Wait()
	if p := next.peak.Load(); p != 3 {
		t.Errorf("peak requests in flight = %d, want 3", p)
	}

	ctx, cancel := context.WithCancel(context.Background())
	full := &limitedClient{next: next, inFlight: make(chan struct{}, 1)}
	full.inFlight <- struct{}{}
	cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, "http://127.0.0.1/", nil)
	if _, err := full.Do(req); err == nil {
		t.Error("a request waiting for a slot ignored its canceled context")
	}
}
