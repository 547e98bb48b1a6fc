package aws

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"sync"
	"time"

	awssdk "github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/credentials/stscreds"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"golang.org/x/time/rate"
)

// Defaults of Config.
const (
	DefaultMaxAttempts       = 3
	DefaultMaxBackoff        = 20 * time.Second
	DefaultRequestsPerSecond = 20
	DefaultConcurrency       = 8
	DefaultBulkThreshold     = 20
	DefaultCallTimeout       = 30 * time.Second
)

// Config says which account to reach and how. It holds no secret unless
// Static is set (tests); String never prints one.
type Config struct {
	// AccountID is the 12-digit account trueup may touch. CheckIdentity
	// refuses credentials of any other account.
	AccountID string `json:"accountId"`
	// Region is the region of the account's regional resources (security
	// groups, new buckets).
	Region string `json:"region"`
	// Endpoint, when set, replaces every service's endpoint (moto,
	// LocalStack, a private gateway). S3 then uses path-style addressing.
	Endpoint string `json:"endpoint,omitempty"`
	// Profile names a shared-config profile; empty uses the default chain
	// (environment, shared files, SSO, container or instance role).
	Profile string `json:"profile,omitempty"`
	// AssumeRole, when set, assumes a role with the base credentials.
	AssumeRole *AssumeRole `json:"assumeRole,omitempty"`
	// Static credentials, for tests; mutually exclusive with Profile.
	Static *StaticCredentials `json:"-"`
	// MaxAttempts caps the attempts of each call by the SDK's standard
	// retryer (throttling, 5xx, network errors). Default 3.
	MaxAttempts int `json:"maxAttempts,omitempty"`
	// MaxBackoff caps the retryer's jittered backoff. Default 20s.
	MaxBackoff time.Duration `json:"maxBackoff,omitempty"`
	// RequestsPerSecond limits the HTTP requests (retries included) this
	// Account sends; Burst is the bucket size (default: one second's worth).
	// Default 20; negative disables the limit.
	RequestsPerSecond float64 `json:"requestsPerSecond,omitempty"`
	Burst             int     `json:"burst,omitempty"`
	// Concurrency bounds the HTTP requests in flight at once. Default 8.
	Concurrency int `json:"concurrency,omitempty"`
	// CallTimeout bounds each HTTP attempt of every call, from sending the
	// request until its response is read: a gateway that accepts a request
	// and never answers costs at most MaxAttempts*CallTimeout plus backoff,
	// then the read is unknown (ErrTimeout). The caller's context bounds the
	// whole read on top (a target's timeout). Default 30s; see
	// CallTimeoutFor to derive it from a read's deadline.
	CallTimeout time.Duration `json:"callTimeout,omitempty"`
	// BulkThreshold is the number of desired resources of one IAM kind from
	// which reads list the whole account in a few paginated calls instead
	// of describing each resource. Default 20.
	BulkThreshold int `json:"bulkThreshold,omitempty"`
}

// AssumeRole is a role to assume with the base credentials. ExternalID is
// a secret: it is never marshalled, and String and GoString leave it out.
type AssumeRole struct {
	RoleARN     string        `json:"roleArn"`
	ExternalID  string        `json:"-"`
	SessionName string        `json:"sessionName,omitempty"`
	Duration    time.Duration `json:"duration,omitempty"`
}

func (r AssumeRole) String() string {
	s := "role " + r.RoleARN
	if r.SessionName != "" {
		s += " as session " + r.SessionName
	}
	if r.ExternalID != "" {
		s += " with an external id"
	}
	return s
}

func (r AssumeRole) GoString() string { return r.String() }

// StaticCredentials are fixed keys, for tests. String and GoString never
// print the secret.
type StaticCredentials struct {
	AccessKeyID     string
	SecretAccessKey string
	SessionToken    string
}

func (c StaticCredentials) String() string   { return "static credentials (redacted)" }
func (c StaticCredentials) GoString() string { return c.String() }

// String describes the account without credentials.
func (c Config) String() string {
	creds := "default credential chain"
	switch {
	case c.Static != nil:
		creds = "static credentials"
	case c.Profile != "":
		creds = "profile " + c.Profile
	}
	if c.AssumeRole != nil {
		creds += ", assuming " + c.AssumeRole.RoleARN
	}
	s := fmt.Sprintf("account %s in %s (%s)", c.AccountID, c.Region, creds)
	if c.Endpoint != "" {
		s += " at " + c.Endpoint
	}
	return s
}

// GoString is String, so %#v prints no secret either.
func (c Config) GoString() string { return c.String() }

var accountIDRE = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^\d{12}$`) })

// Validate checks the config; errors name the field.
func (c Config) Validate() error {
	var errs []error
	if !accountIDRE().MatchString(c.AccountID) {
		errs = append(errs, fmt.Errorf("accountId: %q is not a 12-digit account id", c.AccountID))
	}
	if c.Region == "" {
		errs = append(errs, errors.New("region: required"))
	}
	if c.Static != nil && c.Profile != "" {
		errs = append(errs, errors.New("profile: cannot be combined with static credentials"))
	}
	if c.AssumeRole != nil && c.AssumeRole.RoleARN == "" {
		errs = append(errs, errors.New("assumeRole.roleArn: required"))
	}
	return errors.Join(errs...)
}

func (c Config) withDefaults() Config {
	if c.MaxAttempts <= 0 {
		c.MaxAttempts = DefaultMaxAttempts
	}
	if c.MaxBackoff <= 0 {
		c.MaxBackoff = DefaultMaxBackoff
	}
	if c.RequestsPerSecond == 0 {
		c.RequestsPerSecond = DefaultRequestsPerSecond
	}
	if c.Burst <= 0 {
		c.Burst = max(1, int(c.RequestsPerSecond))
	}
	if c.Concurrency <= 0 {
		c.Concurrency = DefaultConcurrency
	}
	if c.BulkThreshold <= 0 {
		c.BulkThreshold = DefaultBulkThreshold
	}
	if c.CallTimeout <= 0 {
		c.CallTimeout = DefaultCallTimeout
	}
	return c
}

// CallTimeoutFor returns a CallTimeout that lets a call hang through every
// one of maxAttempts attempts (default DefaultMaxAttempts) and still leave
// half of a read's deadline to the other calls: read/(2*maxAttempts),
// between one second and DefaultCallTimeout.
func CallTimeoutFor(read time.Duration, maxAttempts int) time.Duration {
	if maxAttempts <= 0 {
		maxAttempts = DefaultMaxAttempts
	}
	return min(max(read/time.Duration(2*maxAttempts), time.Second), DefaultCallTimeout)
}

// Option configures an Account.
type Option func(*options)

type options struct {
	httpClient awssdk.HTTPClient
	actors     ActorResolver
	now        func() time.Time
}

// WithHTTPClient sends the Account's requests through c (for tests: a
// counting or failing transport). The rate limit applies in front of it.
func WithHTTPClient(c awssdk.HTTPClient) Option { return func(o *options) { o.httpClient = c } }

// WithActorResolver attributes drifted resources to principals (a
// CloudTrail lookup). The default attributes nothing.
func WithActorResolver(r ActorResolver) Option { return func(o *options) { o.actors = r } }

// WithClock sets the clock of report times.
func WithClock(now func() time.Time) Option { return func(o *options) { o.now = now } }

// Account reads one AWS account in one region. Build it once per account
// and reuse it: it holds the SDK clients, the rate limiter and the
// verified identity, and is safe for concurrent use.
type Account struct {
	cfg    Config
	s3     *s3.Client
	iam    *iam.Client
	ec2    *ec2.Client
	sts    *sts.Client
	sdk    awssdk.Config
	actors ActorResolver
	now    func() time.Time

	mu         sync.Mutex
	verified   bool   // CheckIdentity succeeded
	defaultVPC string // cached id of the region's default VPC
}

// NewAccount builds the SDK clients for cfg. It does not call AWS: call
// CheckIdentity (Compare and the applier do) before trusting it.
func NewAccount(ctx context.Context, cfg Config, opts ...Option) (*Account, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("%s: config: %w", cfg, err)
	}
	cfg = cfg.withDefaults()
	o := options{actors: NopActorResolver{}, now: time.Now}
	for _, opt := range opts {
		opt(&o)
	}
	awsCfg, err := loadConfig(ctx, cfg, o.httpClient)
	if err != nil {
		return nil, fmt.Errorf("%s: load aws config: %w", cfg, err)
	}
	a := &Account{cfg: cfg, sdk: awsCfg, actors: o.actors, now: o.now}
	a.s3 = s3.NewFromConfig(awsCfg, func(so *s3.Options) { so.UsePathStyle = cfg.Endpoint != "" })
	a.iam = iam.NewFromConfig(awsCfg)
	a.ec2 = ec2.NewFromConfig(awsCfg)
	a.sts = sts.NewFromConfig(awsCfg)
	return a, nil
}

// loadConfig builds the SDK configuration: region, credentials, endpoint,
// the standard retryer with capped attempts, and an HTTP client (hc, or
// the SDK's default, which honours AWS_CA_BUNDLE) that bounds the requests
// in flight and rate-limits them, the STS calls of an assumed role included.
func loadConfig(ctx context.Context, cfg Config, hc awssdk.HTTPClient) (awssdk.Config, error) {
	loadOpts := []func(*awsconfig.LoadOptions) error{
		awsconfig.WithRegion(cfg.Region),
		awsconfig.WithRetryer(func() awssdk.Retryer {
			return retry.NewStandard(func(o *retry.StandardOptions) {
				o.MaxAttempts = cfg.MaxAttempts
				o.MaxBackoff = cfg.MaxBackoff
			})
		}),
	}
	if cfg.Endpoint != "" {
		loadOpts = append(loadOpts, awsconfig.WithBaseEndpoint(cfg.Endpoint))
	}
	if cfg.Profile != "" {
		loadOpts = append(loadOpts, awsconfig.WithSharedConfigProfile(cfg.Profile))
	}
	if s := cfg.Static; s != nil {
		loadOpts = append(loadOpts, awsconfig.WithCredentialsProvider(
			credentials.NewStaticCredentialsProvider(s.AccessKeyID, s.SecretAccessKey, s.SessionToken)))
	}
	awsCfg, err := awsconfig.LoadDefaultConfig(ctx, loadOpts...)
	if err != nil {
		return awssdk.Config{}, err
	}
	if hc == nil {
		hc = awsCfg.HTTPClient
	}
	lc := &limitedClient{next: hc, inFlight: make(chan struct{}, cfg.Concurrency), timeout: cfg.CallTimeout}
	if cfg.RequestsPerSecond > 0 {
		lc.limiter = rate.NewLimiter(rate.Limit(cfg.RequestsPerSecond), cfg.Burst)
	}
	awsCfg.HTTPClient = lc
	if ar := cfg.AssumeRole; ar != nil {
		provider := stscreds.NewAssumeRoleProvider(sts.NewFromConfig(awsCfg), ar.RoleARN, func(o *stscreds.AssumeRoleOptions) {
			if ar.ExternalID != "" {
				o.ExternalID = awssdk.String(ar.ExternalID)
			}
			if ar.SessionName != "" {
				o.RoleSessionName = ar.SessionName
			}
			if ar.Duration > 0 {
				o.Duration = ar.Duration
			}
		})
		awsCfg.Credentials = awssdk.NewCredentialsCache(provider)
	}
	return awsCfg, nil
}

// limitedClient bounds the requests in flight, waits for the rate limiter
// (nil: no limit) before each request, and bounds each request by timeout
// (0: none) until its response body is closed.
type limitedClient struct {
	next     awssdk.HTTPClient
	inFlight chan struct{}
	limiter  *rate.Limiter
	timeout  time.Duration
}

func (c *limitedClient) Do(req *http.Request) (*http.Response, error) {
	ctx := req.Context()
	select {
	case c.inFlight <- struct{}{}:
		defer func() { <-c.inFlight }()
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	if c.limiter != nil {
		if err := c.limiter.Wait(ctx); err != nil {
			return nil, fmt.Errorf("rate limit: %w", err)
		}
	}
	if c.timeout <= 0 {
		return c.next.Do(req)
	}
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	resp, err := c.next.Do(req.WithContext(ctx))
	if err != nil {
		cancel()
		return nil, err
	}
	resp.Body = &cancelOnClose{ReadCloser: resp.Body, cancel: cancel}
	return resp, nil
}

// cancelOnClose releases a request's deadline when its body is closed: the
// SDK reads the body after Do returns, under the same deadline.
type cancelOnClose struct {
	io.ReadCloser
	cancel context.CancelFunc
}

func (b *cancelOnClose) Close() error {
	defer b.cancel()
	return b.ReadCloser.Close()
}

// Config returns the account's configuration, defaults filled in.
func (a *Account) Config() Config { return a.cfg }

// S3, IAM and EC2 return the Account's clients, for the applier; they share
// its retryer and rate limit.
func (a *Account) S3() *s3.Client   { return a.s3 }
func (a *Account) IAM() *iam.Client { return a.iam }
func (a *Account) EC2() *ec2.Client { return a.ec2 }

// String describes the account without credentials.
func (a *Account) String() string { return a.cfg.String() }

// WrongAccountError is credentials that belong to another account than the
// configured one. It matches ErrWrongAccount; it is terminal.
type WrongAccountError struct {
	Want, Got string
	// Principal is the caller's ARN.
	Principal string
	// Role is the ARN of the role assumed to get the credentials; "" when
	// none was.
	Role string
}

func (e *WrongAccountError) Error() string {
	if e.Role != "" {
		return fmt.Sprintf("account %s: role %s gave credentials of account %s (%s): refusing to touch it; assume a role of account %s, or correct the account's accountID",
			e.Want, e.Role, e.Got, e.Principal, e.Want)
	}
	return fmt.Sprintf("account %s: the credentials belong to account %s (%s): refusing to touch it; give trueup credentials of account %s (or a role in it to assume), or correct the account's accountID",
		e.Want, e.Got, e.Principal, e.Want)
}

// Is matches ErrWrongAccount.
func (e *WrongAccountError) Is(target error) bool { return target == ErrWrongAccount }

// CheckIdentity asks STS who the credentials are. It returns a
// *WrongAccountError (ErrWrongAccount) when they belong to another account
// than Config.AccountID, and an ErrUnknown error when STS cannot tell. A
// success is remembered: later calls return nil at once.
func (a *Account) CheckIdentity(ctx context.Context) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.verified {
		return nil
	}
	out, err := a.sts.GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	if err != nil {
		return readErr("account "+a.cfg.AccountID, "get caller identity", err)
	}
	if got := awssdk.ToString(out.Account); got != a.cfg.AccountID {
		wrong := &WrongAccountError{Want: a.cfg.AccountID, Got: got, Principal: awssdk.ToString(out.Arn)}
		if a.cfg.AssumeRole != nil {
			wrong.Role = a.cfg.AssumeRole.RoleARN
		}
		return wrong
	}
	a.verified = true
	return nil
}

// SDKConfig is the account's SDK configuration (region, endpoint,
// credentials, retryer, rate-limited HTTP client), for clients of other
// services that read the same account (an event queue, CloudTrail).
func (a *Account) SDKConfig() awssdk.Config { return a.sdk.Copy() }
