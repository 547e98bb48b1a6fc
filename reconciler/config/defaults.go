package config

import (
	"fmt"
	"net/url"
	"strings"
	"time"
)

// Defaults applied after validation.
const (
	DefaultDataDir            = ".trueup"
	DefaultSourceInterval     = time.Minute
	DefaultSourceTimeout      = time.Minute
	DefaultTargetInterval     = 5 * time.Minute
	DefaultTargetTimeout      = 5 * time.Minute
	DefaultInventoryNamespace = "trueup-system"
	DefaultConcurrency        = 4
	DefaultRepeatInterval     = 4 * time.Hour
	DefaultListen             = "127.0.0.1:8080"
	DefaultAuthorName         = "trueup"
	DefaultAuthorEmail        = "trueup@localhost"
	DefaultBranchPrefix       = "trueup/drift"
	DefaultBranch             = "main"
)

func (c *Config) setDefaults() {
	if c.DataDir == "" {
		c.DataDir = DefaultDataDir
	}
	for i := range c.Sources {
		s := &c.Sources[i]
		orDuration(&s.Interval, DefaultSourceInterval)
		orDuration(&s.Timeout, DefaultSourceTimeout)
		if countSet(s.Ref.Branch, s.Ref.Tag, s.Ref.SemVer, s.Ref.Commit) == 0 {
			s.Ref.Branch = DefaultBranch
		}
	}
	for i := range c.Clusters {
		if c.Clusters[i].InventoryNamespace == "" {
			c.Clusters[i].InventoryNamespace = DefaultInventoryNamespace
		}
	}
	for i := range c.Targets {
		c.Targets[i].setDefaults()
	}
	for i := range c.Notifiers {
		if s := c.Notifiers[i].Slack; s != nil {
			orDuration(&s.RepeatInterval, DefaultRepeatInterval)
		}
	}
	for i := range c.Routes {
		if c.Routes[i].Severity == "" {
			c.Routes[i].Severity = "warning"
		}
	}
	if c.PullRequests.AuthorName == "" {
		c.PullRequests.AuthorName = DefaultAuthorName
	}
	if c.PullRequests.AuthorEmail == "" {
		c.PullRequests.AuthorEmail = DefaultAuthorEmail
	}
	if c.PullRequests.BranchPrefix == "" {
		c.PullRequests.BranchPrefix = DefaultBranchPrefix
	}
	for i := range c.Sources {
		if p := c.Sources[i].Provider; p != nil && p.Preview == nil {
			p.Preview = &Preview{}
		}
	}
	if c.History.Backend == "" {
		c.History.Backend = "sqlite"
	}
	if c.Server.Listen == "" {
		c.Server.Listen = DefaultListen
	}
	c.HA.setDefaults(c)
}

func (t *Target) setDefaults() {
	orDuration(&t.Interval, DefaultTargetInterval)
	orDuration(&t.Timeout, DefaultTargetTimeout)
	if t.Path == "" {
		t.Path = "."
	}
	if t.Remediation.Apply == "" {
		t.Remediation.Apply = "auto"
	}
	if t.Remediation.Drift == "" {
		t.Remediation.Drift = "heal"
	}
	if t.Wait == nil {
		wait := true
		t.Wait = &wait
	}
	if t.Concurrency == 0 {
		t.Concurrency = DefaultConcurrency
	}
	if t.Policies.OnViolation == "" {
		t.Policies.OnViolation = "skip-object"
	}
	if t.Render != nil && t.Render.Helm != nil {
		t.Render.Helm.setDefaults(t)
	}
}

func orDuration(d *Duration, def time.Duration) {
	if d.Duration == 0 {
		d.Duration = def
	}
}

// Target returns the target with the given name.
func (c *Config) Target(name string) (*Target, bool) {
	for i := range c.Targets {
		if c.Targets[i].Name == name {
			return &c.Targets[i], true
		}
	}
	return nil, false
}

// Source returns the source with the given name.
func (c *Config) Source(name string) (*Source, bool) {
	for i := range c.Sources {
		if c.Sources[i].Name == name {
			return &c.Sources[i], true
		}
	}
	return nil, false
}

// TargetNames lists the target names in config order.
func (c *Config) TargetNames() []string {
	out := make([]string, len(c.Targets))
	for i, t := range c.Targets {
		out[i] = t.Name
	}
	return out
}

// ProviderRepository is the owner and name of a source's repository on its
// Git host: Provider.Repository, or the last two segments of the source
// URL's path (without .git).
func ProviderRepository(p *Provider, sourceURL string) (owner, name string, err error) {
	full := p.Repository
	if full == "" {
		u, perr := url.Parse(sourceURL)
		if perr != nil || u.Path == "" {
			return "", "", fmt.Errorf("set it as owner/name: the source URL does not name the repository")
		}
		segs := strings.Split(strings.Trim(strings.TrimSuffix(u.Path, ".git"), "/"), "/")
		if len(segs) < 2 {
			return "", "", fmt.Errorf("set it as owner/name: the source URL path %q does not end in owner/name", u.Path)
		}
		full = segs[len(segs)-2] + "/" + segs[len(segs)-1]
	}
	owner, name, ok := strings.Cut(full, "/")
	if !ok || owner == "" || name == "" || strings.Contains(name, "/") {
		return "", "", fmt.Errorf("%q: want owner/name", full)
	}
	return owner, name, nil
}
