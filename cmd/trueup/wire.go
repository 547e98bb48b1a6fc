package main

import (
	"fmt"
	"net"
	"net/url"
	"os"
	"path/filepath"

	"github.com/trueup-dev/trueup/reconciler"
	"github.com/trueup-dev/trueup/reconciler/config"
	"github.com/trueup-dev/trueup/sources/git"
	"github.com/trueup-dev/trueup/sources/helmrepo"
)

// loadConfig loads the config file; invalid files exit 1 with every problem.
func loadConfig(opts *globalOptions) (*config.Config, error) {
	cfg, err := config.Load(opts.configPath)
	if err != nil {
		return nil, &exitCodeError{code: exitError, err: fmt.Errorf("%s: %w\nrun 'trueup validate -c %s' for details", opts.configPath, err, opts.configPath)}
	}
	return cfg, nil
}

// gitSources converts the config's sources into git sources, reading the
// secrets they reference. Errors name the field path, never a value.
func gitSources(cfg *config.Config) (map[string]git.Source, error) {
	out := make(map[string]git.Source, len(cfg.Sources))
	for i, s := range cfg.Sources {
		src, err := gitSource(fmt.Sprintf("sources[%d]", i), s)
		if err != nil {
			return nil, err
		}
		out[s.Name] = src
	}
	return out, nil
}

func gitSource(path string, s config.Source) (git.Source, error) {
	src := git.Source{
		Name: s.Name,
		URL:  s.URL,
		Ref:  git.RefSpec{Branch: s.Ref.Branch, Tag: s.Ref.Tag, SemVer: s.Ref.SemVer, Commit: s.Ref.Commit},
		// Every Git network call of the source runs under its timeout.
		Timeout: s.Timeout.Duration,
	}
	if l := s.Limits; l != nil {
		src.Limits = git.Limits{MaxFileBytes: l.MaxFileSize.Bytes, MaxTotalBytes: l.MaxTotalSize.Bytes, MaxFiles: l.MaxFiles}
	}
	if s.Auth != nil {
		auth, err := gitAuth(path+".auth", s.Auth)
		if err != nil {
			return git.Source{}, err
		}
		src.Auth = auth
	}
	if s.Verify != nil {
		v, err := gitVerify(path+".verify", s.Verify)
		if err != nil {
			return git.Source{}, err
		}
		src.Verify = v
	}
	return src, nil
}

func gitAuth(path string, a *config.GitAuth) (git.Auth, error) {
	auth := git.Auth{Username: a.Username, InsecureIgnoreHostKey: a.InsecureIgnoreHostKey}
	secrets := []struct {
		field string
		ref   *config.SecretRef
		set   func(string)
	}{
		{"passwordFrom", a.PasswordFrom, func(v string) { auth.Password = v }},
		{"bearerTokenFrom", a.BearerTokenFrom, func(v string) { auth.BearerToken = v }},
		{"sshKeyFrom", a.SSHKeyFrom, func(v string) { auth.SSHPrivateKey = []byte(v) }},
		{"sshPassphraseFrom", a.SSHPassphraseFrom, func(v string) { auth.SSHPassphrase = v }},
	}
	for _, s := range secrets {
		if s.ref == nil {
			continue
		}
		v, err := s.ref.Resolve()
		if err != nil {
			return git.Auth{}, fmt.Errorf("%s.%s: %w", path, s.field, err)
		}
		s.set(v.Reveal())
	}
	if a.KnownHostsFile != "" {
		b, err := os.ReadFile(a.KnownHostsFile)
		if err != nil {
			return git.Auth{}, fmt.Errorf("%s.knownHostsFile: %w", path, err)
		}
		auth.KnownHosts = b
	}
	return auth, nil
}

func gitVerify(path string, v *config.Verify) (git.Verify, error) {
	out := git.Verify{Mode: git.VerifyMode(v.Mode)}
	for i, f := range v.OpenPGPKeyFiles {
		b, err := os.ReadFile(f)
		if err != nil {
			return git.Verify{}, fmt.Errorf("%s.openpgpKeyFiles[%d]: %w", path, i, err)
		}
		out.OpenPGPKeys = append(out.OpenPGPKeys, b)
	}
	for _, k := range v.SSHAllowedSigners {
		out.SSHKeys = append(out.SSHKeys, []byte(k))
	}
	return out, nil
}

// newDesiredLoader wires the Git cache in dataDir/sources and the renderer.
func newDesiredLoader(cfg *config.Config) (*reconciler.DesiredLoader, error) {
	srcs, err := gitSources(cfg)
	if err != nil {
		return nil, &exitCodeError{code: exitError, err: err}
	}
	cache := filepath.Join(cfg.DataDir, "sources")
	if err := os.MkdirAll(cache, 0o700); err != nil {
		return nil, &exitCodeError{code: exitError, err: fmt.Errorf("data dir: %w (set dataDir in the config to a writable folder)", err)}
	}
	charts := helmrepo.New(filepath.Join(cfg.DataDir, "charts"), helmrepo.WithPlainHTTP(loopbackRegistries(cfg)...))
	keys, err := decryptionKeys(cfg)
	if err != nil {
		return nil, &exitCodeError{code: exitError, err: fmt.Errorf("read decryption keys: %w", err)}
	}
	loader := reconciler.NewDesiredLoader(git.New(cache), srcs).WithChartFetcher(reconciler.HelmRepoFetcher{Client: charts})
	loader.SetDecryption(keys)
	return loader, nil
}

// loopbackRegistries are the hosts of OCI chart registries on this machine,
// spoken to over plain HTTP (as Docker treats localhost registries); every
// other registry needs HTTPS.
func loopbackRegistries(cfg *config.Config) []string {
	var hosts []string
	for _, t := range cfg.Targets {
		if t.Render == nil || t.Render.Helm == nil || t.Render.Helm.Chart.Remote == nil {
			continue
		}
		u, err := url.Parse(t.Render.Helm.Chart.Remote.Repository)
		if err != nil || u.Scheme != "oci" {
			continue
		}
		if ip := net.ParseIP(u.Hostname()); u.Hostname() == "localhost" || (ip != nil && ip.IsLoopback()) {
			hosts = append(hosts, u.Host)
		}
	}
	return hosts
}

// lookupTarget finds a target or lists the ones that exist.
func lookupTarget(cfg *config.Config, name string) (*config.Target, error) {
	t, ok := cfg.Target(name)
	if !ok {
		return nil, &exitCodeError{code: exitError, err: fmt.Errorf("unknown target %q: the config has %v", name, cfg.TargetNames())}
	}
	return t, nil
}
