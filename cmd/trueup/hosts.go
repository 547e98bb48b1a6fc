package main

import (
	"fmt"
	"time"

	"github.com/trueup-dev/trueup/reconciler"
	"github.com/trueup-dev/trueup/reconciler/config"
	"github.com/trueup-dev/trueup/sources/githost"
	"github.com/trueup-dev/trueup/sources/githost/gitea"
	"github.com/trueup-dev/trueup/sources/githost/github"
)

// callTimeout is the deadline of one call to a remote that the matching
// targets share: the smallest of their timeouts, at most max.
func callTimeout(cfg *config.Config, match func(*config.Target) bool, max time.Duration) time.Duration {
	d := max
	for i := range cfg.Targets {
		if t := &cfg.Targets[i]; match(t) && t.Timeout.Duration > 0 {
			d = min(d, t.Timeout.Duration)
		}
	}
	return d
}

// newGitHosts builds the pull-request API client of every source with a
// provider. Errors name the field path, never the token.
func newGitHosts(cfg *config.Config) (map[string]reconciler.GitHost, error) {
	out := map[string]reconciler.GitHost{}
	for i, s := range cfg.Sources {
		p := s.Provider
		if p == nil {
			continue
		}
		path := fmt.Sprintf("sources[%d].provider", i)
		token, err := p.TokenFrom.Resolve()
		if err != nil {
			return nil, fmt.Errorf("%s.tokenFrom: %w", path, err)
		}
		owner, name, err := config.ProviderRepository(p, s.URL)
		if err != nil {
			return nil, fmt.Errorf("%s.repository: %w", path, err)
		}
		var host githost.Host
		switch p.Type {
		case "gitea":
			host, err = gitea.New(p.URL, token.Reveal())
		case "github":
			host, err = github.New(p.URL, token.Reveal())
		default:
			err = fmt.Errorf("unknown type %q: use gitea or github", p.Type)
		}
		if err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		out[s.Name] = reconciler.GitHost{Host: host, Repo: githost.Repo{Owner: owner, Name: name}, Preview: p.Preview.On(), AllowForks: p.Preview != nil && p.Preview.AllowForks,
			Timeout: callTimeout(cfg, func(t *config.Target) bool { return t.Source == s.Name }, reconciler.DefaultHostTimeout)}
	}
	return out, nil
}
