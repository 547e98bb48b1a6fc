package cloudtrail

import (
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"path"
	"sync"
	"time"

	awssdk "github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/trueup-dev/trueup/drift"
	driftaws "github.com/trueup-dev/trueup/drift/aws"
)

// MaxLogFileBytes caps one log file once decompressed; CloudTrail writes
// files of a few MiB at most.
const MaxLogFileBytes = 256 << 20

// LogFiles attributes drift from a trail's log files in S3: the documented
// layout <prefix>/AWSLogs/<account>/CloudTrail/<region>/YYYY/MM/DD/*.json.gz,
// each a gzip JSON object {"Records": [...]}. It reads the folders of the
// last Days days (today first) in each of Regions, indexes the newest
// write per resource, and reads each file once: later lookups read only
// files that appeared since.
type LogFiles struct {
	s3      *s3.Client
	bucket  string
	prefix  string
	account string
	regions []string
	days    int
	now     func() time.Time

	mu    sync.Mutex
	seen  map[string]bool
	index *Store
}

// LogFilesConfig says where a trail writes.
type LogFilesConfig struct {
	Bucket, Prefix, AccountID string
	// Regions are the region folders read: the account's region, and
	// us-east-1, where IAM's global events are logged.
	Regions []string
	// Days of folders read back from today (default 1).
	Days int
}

// NewLogFiles reads the trail's files with cfg (an account's SDK config;
// path-style addressing when it sets an endpoint).
func NewLogFiles(cfg awssdk.Config, lc LogFilesConfig, now func() time.Time) *LogFiles {
	cli := s3.NewFromConfig(cfg, func(o *s3.Options) { o.UsePathStyle = cfg.BaseEndpoint != nil })
	if now == nil {
		now = time.Now
	}
	return &LogFiles{s3: cli, bucket: lc.Bucket, prefix: lc.Prefix, account: lc.AccountID, regions: lc.Regions,
		days: max(lc.Days, 1), now: now, seen: map[string]bool{}, index: NewStore()}
}

// ResolveActor reads the log files not read yet and returns the newest
// write's actor for the resource, or an unknown actor when the logs name
// none. A listing or file that cannot be read is an error (the actor stays
// unknown); what was read stays indexed.
func (l *LogFiles) ResolveActor(ctx context.Context, ref drift.ObjectRef, arn string) (*drift.Actor, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	err := l.refresh(ctx)
	if a, ok := l.index.Actor(ref.Kind, ref.Name, arn); ok {
		return &a, nil
	}
	if err != nil {
		return nil, fmt.Errorf("%s: cloudtrail log files in s3://%s: %w", driftaws.ID(ref), l.bucket, err)
	}
	return &drift.Actor{Unknown: driftaws.ActorUnknown}, nil
}

// folders are the day folders to read, today first.
func (l *LogFiles) folders() []string {
	var out []string
	today := l.now().UTC()
	for d := 0; d < l.days; d++ {
		day := today.AddDate(0, 0, -d).Format("2006/01/02")
		for _, region := range l.regions {
			out = append(out, path.Join(l.prefix, "AWSLogs", l.account, "CloudTrail", region, day)+"/")
		}
	}
	return out
}

// refresh indexes the files of every folder not read yet.
func (l *LogFiles) refresh(ctx context.Context) error {
	var errs []error
	for _, folder := range l.folders() {
		p := s3.NewListObjectsV2Paginator(l.s3, &s3.ListObjectsV2Input{Bucket: awssdk.String(l.bucket), Prefix: awssdk.String(folder)})
		for p.HasMorePages() {
			page, err := p.NextPage(ctx)
			if err != nil {
				errs = append(errs, fmt.Errorf("list %s: %w", folder, err))
				break
			}
			for _, obj := range page.Contents {
				key := awssdk.ToString(obj.Key)
				if l.seen[key] {
					continue
				}
				if err := l.read(ctx, key); err != nil {
					errs = append(errs, err)
					continue
				}
				l.seen[key] = true
			}
		}
	}
	return errors.Join(errs...)
}

// read indexes one log file.
func (l *LogFiles) read(ctx context.Context, key string) error {
	out, err := l.s3.GetObject(ctx, &s3.GetObjectInput{Bucket: awssdk.String(l.bucket), Key: awssdk.String(key)})
	if err != nil {
		return fmt.Errorf("get %s: %w", key, err)
	}
	defer out.Body.Close()
	recs, err := ParseLogFile(out.Body)
	if err != nil {
		return fmt.Errorf("%s: %w", key, err)
	}
	for _, rec := range recs {
		if rec.RecipientAccountID != "" && rec.RecipientAccountID != l.account {
			continue
		}
		for _, rs := range rec.Resources() {
			l.index.Record(rec, rs)
		}
	}
	return nil
}

// ParseLogFile reads a CloudTrail log file: gzip JSON {"Records": [...]}.
// Records without a source, name or time are left out.
func ParseLogFile(r io.Reader) ([]Record, error) {
	zr, err := gzip.NewReader(r)
	if err != nil {
		return nil, fmt.Errorf("%w: not gzip: %v", ErrMalformed, err)
	}
	defer zr.Close()
	var file struct {
		Records []Record `json:"Records"`
	}
	lr := &io.LimitedReader{R: zr, N: MaxLogFileBytes + 1}
	if err := json.NewDecoder(lr).Decode(&file); err != nil {
		if lr.N <= 0 {
			return nil, fmt.Errorf("%w: more than %d bytes decompressed", ErrMalformed, MaxLogFileBytes)
		}
		return nil, fmt.Errorf("%w: %s", ErrMalformed, jsonReason(err))
	}
	out := file.Records[:0]
	for _, rec := range file.Records {
		if rec.check() == nil {
			out = append(out, rec)
		}
	}
	return out, nil
}

var _ driftaws.ActorResolver = (*LogFiles)(nil)

// Chain asks each resolver in turn and returns the first actor that names
// someone; when none does, the last unknown actor, or the first error.
type Chain []driftaws.ActorResolver

// ResolveActor implements driftaws.ActorResolver.
func (c Chain) ResolveActor(ctx context.Context, ref drift.ObjectRef, arn string) (*drift.Actor, error) {
	var firstErr error
	last := &drift.Actor{Unknown: driftaws.ActorUnknown}
	for _, r := range c {
		a, err := r.ResolveActor(ctx, ref, arn)
		switch {
		case err != nil:
			firstErr = cmpOr(firstErr, err)
		case a != nil && a.Principal != "":
			return a, nil
		case a != nil:
			last = a
		}
	}
	if firstErr != nil {
		return nil, firstErr
	}
	return last, nil
}

func cmpOr(a, b error) error {
	if a != nil {
		return a
	}
	return b
}
