package cloudtrail

import (
	"context"
	"testing"
	"time"

	"github.com/trueup-dev/trueup/drift"
	driftaws "github.com/trueup-dev/trueup/drift/aws"
	awsfixtures "github.com/trueup-dev/trueup/fixtures/aws"
)

func record(t *testing.T, c awsfixtures.Call) Record {
	t.Helper()
	c.Account, c.Source = account, "s3.amazonaws.com"
	if c.Name == "" {
		c.Name = "PutBucketPolicy"
	}
	c.Params = map[string]any{"bucketName": "logs"}
	ev, err := ParseEventBridge(c.EventBridge())
	if err != nil {
		t.Fatal(err)
	}
	return ev.Record
}

// TestStoreKeepsNewest: a re-delivered or older event changes nothing; a
// newer one replaces the actor.
func TestStoreKeepsNewest(t *testing.T) {
	s := NewStore()
	bucket := Resource{Kind: driftaws.KindS3Bucket, Name: "logs"}
	alice := record(t, awsfixtures.Call{ID: "a", Time: t0, PrincipalARN: "arn:aws:iam::123456789012:user/alice"})
	bob := record(t, awsfixtures.Call{ID: "b", Time: t0.Add(time.Minute), PrincipalARN: "arn:aws:iam::123456789012:user/bob"})
	steps := []struct {
		name      string
		rec       Record
		wantNewer bool
		wantActor string
	}{
		{"first", alice, true, "arn:aws:iam::123456789012:user/alice"},
		{"re-delivered", alice, false, "arn:aws:iam::123456789012:user/alice"},
		{"newer", bob, true, "arn:aws:iam::123456789012:user/bob"},
		{"older arrives late", alice, false, "arn:aws:iam::123456789012:user/bob"},
		{"newer re-delivered", bob, false, "arn:aws:iam::123456789012:user/bob"},
	}
	for _, st := range steps {
		if got := s.Record(st.rec, bucket); got != st.wantNewer {
			t.Fatalf("%s: Record = %v, want %v", st.name, got, st.wantNewer)
		}
		a, err := s.ResolveActor(context.Background(), driftaws.Ref(driftaws.KindS3Bucket, "logs"), "arn:aws:s3:::logs")
		if err != nil || a.Principal != st.wantActor {
			t.Fatalf("%s: actor = %+v, %v; want %s", st.name, a, err, st.wantActor)
		}
	}
}

// TestStoreFallback: a resource no event names is asked of the fallback;
// without one the actor is explicitly unknown.
func TestStoreFallback(t *testing.T) {
	s := NewStore()
	ref := driftaws.Ref(driftaws.KindIAMRole, "app")
	a, err := s.ResolveActor(context.Background(), ref, "arn:aws:iam::123456789012:role/app")
	if err != nil || a.Principal != "" || a.Unknown != ActorNoEvent {
		t.Fatalf("without fallback: %+v, %v", a, err)
	}
	fb := &recordingResolver{actor: &drift.Actor{Principal: "arn:aws:iam::123456789012:user/carol"}}
	s.SetFallback(fb)
	a, err = s.ResolveActor(context.Background(), ref, "arn:aws:iam::123456789012:role/app")
	if err != nil || a.Principal != "arn:aws:iam::123456789012:user/carol" || len(fb.asked) != 1 || fb.asked[0] != "IAMRole/app" {
		t.Fatalf("with fallback: %+v, %v, asked %v", a, err, fb.asked)
	}
}

// TestStoreSecurityGroupByID: an event that knows a group only by id
// attributes the group Compare reads by name and id.
func TestStoreSecurityGroupByID(t *testing.T) {
	s := NewStore()
	ev, err := ParseEventBridge(awsfixtures.Call{Account: account, Source: "ec2.amazonaws.com", Name: "AuthorizeSecurityGroupIngress", Time: t0, ID: "1",
		PrincipalARN: "arn:aws:iam::123456789012:user/dave", Params: map[string]any{"groupId": "sg-0abc"}}.EventBridge())
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range ev.Resources() {
		s.Record(ev.Record, r)
	}
	a, err := s.ResolveActor(context.Background(), driftaws.Ref(driftaws.KindSecurityGroup, "web"), "sg-0abc")
	if err != nil || a.Principal != "arn:aws:iam::123456789012:user/dave" || a.Event != "AuthorizeSecurityGroupIngress" {
		t.Fatalf("actor = %+v, %v", a, err)
	}
}

type recordingResolver struct {
	actor *drift.Actor
	asked []string
}

func (r *recordingResolver) ResolveActor(_ context.Context, ref drift.ObjectRef, _ string) (*drift.Actor, error) {
	r.asked = append(r.asked, driftaws.ID(ref))
	return r.actor, nil
}

// TestStoreSettled: once a comparison found the resource in sync, an
// earlier event no longer explains a drift; a later one does.
func TestStoreSettled(t *testing.T) {
	s := NewStore()
	bucket := Resource{Kind: driftaws.KindS3Bucket, Name: "logs"}
	s.Record(record(t, awsfixtures.Call{ID: "a", Time: t0, PrincipalARN: "arn:aws:iam::123456789012:user/alice"}), bucket)
	s.Settled(driftaws.KindS3Bucket, "logs", t0.Add(time.Minute))
	if a, ok := s.Actor(driftaws.KindS3Bucket, "logs", ""); ok {
		t.Fatalf("an event older than the in-sync comparison still names %+v", a)
	}
	s.Settled(driftaws.KindS3Bucket, "logs", t0) // an older comparison changes nothing
	if a, ok := s.Actor(driftaws.KindS3Bucket, "logs", ""); ok {
		t.Fatalf("an older settle brought back %+v", a)
	}
	s.Record(record(t, awsfixtures.Call{ID: "b", Time: t0.Add(2 * time.Minute), PrincipalARN: "arn:aws:iam::123456789012:user/bob"}), bucket)
	if a, ok := s.Actor(driftaws.KindS3Bucket, "logs", ""); !ok || a.Principal != "arn:aws:iam::123456789012:user/bob" {
		t.Fatalf("actor after a newer event = %+v, %v", a, ok)
	}
}

// TestStoreFallbackDeadline: with the caller's deadline near, the fallback
// is not asked and the actor says why.
func TestStoreFallbackDeadline(t *testing.T) {
	s := NewStore()
	fb := &recordingResolver{actor: &drift.Actor{Principal: "arn:aws:iam::123456789012:user/carol"}}
	s.SetFallback(fb)
	ctx, cancel := context.WithTimeout(context.Background(), FallbackReserve/2)
	defer cancel()
	a, err := s.ResolveActor(ctx, driftaws.Ref(driftaws.KindIAMRole, "app"), "")
	if err != nil || a.Unknown != ActorNoTime || len(fb.asked) != 0 {
		t.Fatalf("near the deadline: %+v, %v, asked %v", a, err, fb.asked)
	}
}

// TestStoreFallbackBeforeSettled: a fallback's newest write older than the
// last in-sync comparison explains no drift.
func TestStoreFallbackBeforeSettled(t *testing.T) {
	s := NewStore()
	s.SetFallback(&recordingResolver{actor: &drift.Actor{Principal: "arn:aws:iam::123456789012:user/carol", Time: t0}})
	ref := driftaws.Ref(driftaws.KindIAMRole, "app")
	if a, err := s.ResolveActor(context.Background(), ref, ""); err != nil || a.Principal == "" {
		t.Fatalf("before any settle: %+v, %v", a, err)
	}
	s.Settled(driftaws.KindIAMRole, "app", t0.Add(time.Minute))
	if a, err := s.ResolveActor(context.Background(), ref, ""); err != nil || a.Principal != "" || a.Unknown != driftaws.ActorUnknown {
		t.Fatalf("after a later settle: %+v, %v", a, err)
	}
}
