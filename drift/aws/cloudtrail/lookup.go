package cloudtrail

import (
	"context"
	"encoding/json"
	"fmt"

	awssdk "github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudtrail"
	cttypes "github.com/aws/aws-sdk-go-v2/service/cloudtrail/types"
	"golang.org/x/time/rate"

	"github.com/trueup-dev/trueup/drift"
	driftaws "github.com/trueup-dev/trueup/drift/aws"
)

// LookupEventsPerSecond is CloudTrail's LookupEvents quota per account and
// region.
const LookupEventsPerSecond = 2

// LookupAPI is the CloudTrail call Lookup makes (*cloudtrail.Client).
type LookupAPI interface {
	LookupEvents(ctx context.Context, in *cloudtrail.LookupEventsInput, opts ...func(*cloudtrail.Options)) (*cloudtrail.LookupEventsOutput, error)
}

var _ LookupAPI = (*cloudtrail.Client)(nil)

// Lookup attributes a drifted resource with CloudTrail's LookupEvents: the
// newest successful write event whose resources name it (by name, then by
// ARN or security group id), read from at most three pages of 50
// events. Its requests share one limiter at LookupEventsPerSecond, so
// drift found on many resources at once waits rather than being throttled.
type Lookup struct {
	api      LookupAPI
	limiter  *rate.Limiter
	maxPages int
}

// NewLookup returns a Lookup over api (a CloudTrail client of the account).
func NewLookup(api LookupAPI) *Lookup {
	return &Lookup{api: api, limiter: rate.NewLimiter(LookupEventsPerSecond, 1), maxPages: 3}
}

// NewLookupClient returns a Lookup with a CloudTrail client built from an
// account's SDK config.
func NewLookupClient(cfg awssdk.Config) *Lookup { return NewLookup(cloudtrail.NewFromConfig(cfg)) }

// ResolveActor returns the newest write's actor, or an unknown actor
// saying CloudTrail had none. An error (throttled, denied) leaves the
// actor unknown too; Compare says so on the fields.
func (l *Lookup) ResolveActor(ctx context.Context, ref drift.ObjectRef, arn string) (*drift.Actor, error) {
	names := []string{ref.Name}
	if arn != "" && arn != ref.Name {
		names = append(names, arn)
	}
	for _, name := range names {
		a, err := l.newestWrite(ctx, name)
		if err != nil {
			return nil, fmt.Errorf("%s: cloudtrail lookup: %w", driftaws.ID(ref), err)
		}
		if a != nil {
			return a, nil
		}
	}
	return &drift.Actor{Unknown: driftaws.ActorUnknown}, nil
}

// newestWrite pages through the events naming resource, newest first,
// and returns the actor of the first successful write.
func (l *Lookup) newestWrite(ctx context.Context, resource string) (*drift.Actor, error) {
	in := &cloudtrail.LookupEventsInput{
		LookupAttributes: []cttypes.LookupAttribute{{AttributeKey: cttypes.LookupAttributeKeyResourceName, AttributeValue: awssdk.String(resource)}},
		MaxResults:       awssdk.Int32(50),
	}
	for page := 0; page < l.maxPages; page++ {
		if err := l.limiter.Wait(ctx); err != nil {
			return nil, err
		}
		out, err := l.api.LookupEvents(ctx, in)
		if err != nil {
			return nil, err
		}
		if a := newestWriteOf(out.Events); a != nil {
			return a, nil
		}
		if out.NextToken == nil {
			return nil, nil
		}
		in.NextToken = out.NextToken
	}
	return nil, nil
}

// newestWriteOf returns the actor of the newest successful write among
// events (LookupEvents lists newest first, but this does not rely on it).
func newestWriteOf(events []cttypes.Event) *drift.Actor {
	var best *Record
	for _, e := range events {
		if awssdk.ToString(e.ReadOnly) == "true" {
			continue
		}
		var rec Record
		if err := json.Unmarshal([]byte(awssdk.ToString(e.CloudTrailEvent)), &rec); err != nil || rec.check() != nil || !rec.Writes() {
			continue
		}
		if best == nil || rec.EventTime.After(best.EventTime) {
			best = &rec
		}
	}
	if best == nil {
		return nil
	}
	a := best.Actor()
	return &a
}

var _ driftaws.ActorResolver = (*Lookup)(nil)
