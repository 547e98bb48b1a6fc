package main

import (
	"fmt"
	"io/fs"
	"os"
	"path"
	"strings"

	"github.com/spf13/cobra"

	"github.com/trueup-dev/trueup/deploy"
	"github.com/trueup-dev/trueup/reconciler/config"
	"github.com/trueup-dev/trueup/sources"
	"github.com/trueup-dev/trueup/sources/git"
)

// Where bootstrap writes, and the names it gives.
const (
	bootstrapDir      = "trueup-system" // under --path, like flux-system
	bootstrapName     = "trueup-system" // the source and the target of trueup itself
	defaultImage      = "ghcr.io/trueup-dev/trueup:latest"
	secretMountPrefix = "/var/run/secrets/trueup/"
)

// bootstrapOptions are the flags of `trueup bootstrap`.
type bootstrapOptions struct {
	url, branch, path, clusterName, image string
	username, passwordEnv                 string
	privateKeyFile, knownHostsFile        string
	authorName, authorEmail               string
	kubeconfig, context                   string
}

func newBootstrapCommand(opts *globalOptions) *cobra.Command {
	var bo bootstrapOptions
	cmd := &cobra.Command{
		Use:   "bootstrap",
		Short: "Write trueup's config and deploy manifests into a Git repository, with a target that manages trueup itself",
		Long: `bootstrap commits into the branch of a Git repository, under PATH/trueup-system/:
the kustomize manifests that run trueup in a cluster (namespace trueup-system,
ServiceAccount, RBAC, Deployment, volume, Service) and trueup.yaml, its
config, with the repository as a source and a target "trueup-system" that
applies that folder: once the manifests are applied (kubectl apply -k), trueup
keeps itself as Git says.

With --kubeconfig (and --context) it also installs: the Git credentials
into the Secret trueup-system/trueup-secrets, then the folder reconciled once
as the target trueup-system (without waiting for the pod), so the trueup it
starts takes over from its inventory. Without it, apply the folder yourself.

It pushes without force and only when something changed: running it again
makes no commit. trueup.yaml is written only when the folder has none, so
later runs update the manifests (a new --image) and keep the config as people
edited it.

Credentials for the push: --username with the password or token in the
environment variable --password-env, or --private-key-file for ssh. The
config then names the same credentials as files of the Secret trueup-secrets
(git-password, or git-ssh-key and git-known-hosts), which trueup reads in the
cluster.`,
		Example: `  trueup bootstrap --url https://git.example.com/platform/fleet.git --branch main --path clusters/prod \
    --username trueup --password-env GIT_TOKEN --image registry.example.com/trueup:v0.4.0
  kubectl apply -k ./fleet/clusters/prod/trueup-system`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runBootstrap(cmd, opts, bo)
		},
	}
	f := cmd.Flags()
	f.StringVar(&bo.url, "url", "", "Git repository URL (https://, ssh://, file:// or a path)")
	f.StringVar(&bo.branch, "branch", "main", "branch to commit to (created in an empty repository)")
	f.StringVar(&bo.path, "path", "", "folder of the repository for this cluster; files go to PATH/trueup-system/")
	f.StringVar(&bo.clusterName, "cluster-name", "in-cluster", "name of the cluster trueup runs in, in the config")
	f.StringVar(&bo.image, "image", defaultImage, "trueup's image (make image builds it; push it to your registry)")
	f.StringVar(&bo.username, "username", "", "Git username for https (with --password-env)")
	f.StringVar(&bo.passwordEnv, "password-env", "GIT_PASSWORD", "environment variable holding the Git password or token")
	f.StringVar(&bo.privateKeyFile, "private-key-file", "", "ssh private key for ssh:// URLs")
	f.StringVar(&bo.knownHostsFile, "known-hosts-file", "", "known_hosts file holding the ssh server's key")
	f.StringVar(&bo.authorName, "author-name", "trueup", "author of the commit")
	f.StringVar(&bo.authorEmail, "author-email", "trueup@localhost", "author email of the commit")
	f.StringVar(&bo.kubeconfig, "kubeconfig", "", "also install into this cluster: the Git credentials as the Secret trueup-secrets, then trueup's manifests")
	f.StringVar(&bo.context, "context", "", "kubeconfig context of the cluster to install into (with --kubeconfig)")
	_ = cmd.MarkFlagRequired("url")
	return cmd
}

func runBootstrap(cmd *cobra.Command, opts *globalOptions, bo bootstrapOptions) error {
	fail := func(err error) error { return &exitCodeError{code: exitError, err: err} }
	src, err := bo.source()
	if err != nil {
		return fail(err)
	}
	files, cfg, err := bootstrapFiles(bo)
	if err != nil {
		return fail(err)
	}
	cache, err := os.MkdirTemp("", "trueup-bootstrap-")
	if err != nil {
		return fail(fmt.Errorf("bootstrap: cache folder: %w", err))
	}
	defer os.RemoveAll(cache)
	res, err := git.New(cache).CommitBranch(cmd.Context(), src, git.CommitRequest{
		Files:    files,
		IfAbsent: map[string][]byte{bo.dir() + "/trueup.yaml": cfg},
		Author:   sources.Person{Name: bo.authorName, Email: bo.authorEmail},
		Message:  "trueup bootstrap: " + bo.dir(),
	})
	if err != nil {
		return fail(fmt.Errorf("bootstrap: %w", err))
	}
	out := cmd.OutOrStdout()
	if res.Unchanged {
		fmt.Fprintf(out, "%s %s already holds %s at %s: nothing to commit\n", opts.paint(out, green, "✔"), bo.branch, bo.dir(), short(res.Commit))
	} else {
		fmt.Fprintf(out, "%s committed %s to %s: %s\n", opts.paint(out, green, "✔"), short(res.Commit), bo.branch, bo.dir())
	}
	if bo.kubeconfig != "" {
		if err := installSelf(&commandContext{ctx: cmd.Context(), opts: opts, out: out, errw: cmd.ErrOrStderr()}, bo); err != nil {
			return fail(err)
		}
		fmt.Fprintf(out, "%s installed: the trueup in the cluster applies %s from now on (target %s)\n", opts.paint(out, green, "✔"), bo.dir(), bootstrapName)
		return nil
	}
	fmt.Fprintf(out, "Next, once per cluster, from a checkout of the repository:\n")
	if s := bo.secretCommand(); s != "" {
		fmt.Fprintf(out, "  kubectl create namespace trueup-system\n  %s\n", s)
	}
	fmt.Fprintf(out, "  kubectl apply -k %s\nThen trueup applies %s itself (target %s).\n", bo.dir(), bo.dir(), bootstrapName)
	return nil
}

// dir is the folder bootstrap writes, from the repository root.
func (bo bootstrapOptions) dir() string {
	return path.Join(strings.Trim(bo.path, "/"), bootstrapDir)
}

// source is the repository to push to, with the credentials of the flags.
func (bo bootstrapOptions) source() (git.Source, error) {
	src := git.Source{Name: bootstrapName, URL: bo.url, Ref: git.RefSpec{Branch: bo.branch}}
	if bo.username != "" {
		pw, ok := os.LookupEnv(bo.passwordEnv)
		if !ok || pw == "" {
			return src, fmt.Errorf("bootstrap: --username %s: environment variable %s (--password-env) is empty: export the password or token", bo.username, bo.passwordEnv)
		}
		src.Auth.Username, src.Auth.Password = bo.username, pw
	}
	if bo.privateKeyFile != "" {
		key, err := os.ReadFile(bo.privateKeyFile)
		if err != nil {
			return src, fmt.Errorf("bootstrap: --private-key-file: %w", err)
		}
		src.Auth.SSHPrivateKey = key
		if bo.knownHostsFile == "" {
			return src, fmt.Errorf("bootstrap: --private-key-file needs --known-hosts-file (ssh-keyscan HOST > known_hosts)")
		}
		if src.Auth.KnownHosts, err = os.ReadFile(bo.knownHostsFile); err != nil {
			return src, fmt.Errorf("bootstrap: --known-hosts-file: %w", err)
		}
	}
	if err := src.Validate(); err != nil {
		return src, fmt.Errorf("bootstrap: %w", err)
	}
	return src, nil
}

// secretCommand is the kubectl command that creates the Secret the config
// names for Git credentials (values left for the user), or "".
func (bo bootstrapOptions) secretCommand() string {
	switch {
	case bo.username != "":
		return `kubectl -n trueup-system create secret generic trueup-secrets --from-literal=git-password="$` + bo.passwordEnv + `"`
	case bo.privateKeyFile != "":
		return "kubectl -n trueup-system create secret generic trueup-secrets --from-file=git-ssh-key=" + bo.privateKeyFile +
			" --from-file=git-known-hosts=" + bo.knownHostsFile
	}
	return ""
}

// bootstrapFiles are the manifests (the kustomize base with the image set)
// by repository path, and the config, checked as `trueup validate` does.
func bootstrapFiles(bo bootstrapOptions) (map[string][]byte, []byte, error) {
	base := path.Join(deploy.KustomizeDir, "base")
	entries, err := fs.ReadDir(deploy.FS(), base)
	if err != nil {
		return nil, nil, fmt.Errorf("bootstrap: read embedded manifests: %w", err)
	}
	files := map[string][]byte{}
	var cfgText []byte
	for _, e := range entries {
		b, err := fs.ReadFile(deploy.FS(), path.Join(base, e.Name()))
		if err != nil {
			return nil, nil, fmt.Errorf("bootstrap: read embedded manifests: %w", err)
		}
		switch e.Name() {
		case "trueup.yaml":
			cfgText = b
			continue
		case "kustomization.yaml":
			if b, err = setImage(b, bo.image); err != nil {
				return nil, nil, err
			}
		}
		files[path.Join(bo.dir(), e.Name())] = b
	}
	cfg, err := bo.config(cfgText)
	if err != nil {
		return nil, nil, err
	}
	return files, cfg, nil
}

// setImage sets the images: entry of the base's kustomization to image
// (name[:tag]).
func setImage(kustomization []byte, image string) ([]byte, error) {
	const entry = "  - name: ghcr.io/trueup-dev/trueup\n    newTag: latest\n"
	if !strings.Contains(string(kustomization), entry) {
		return nil, fmt.Errorf("bootstrap: the embedded kustomization.yaml has no images entry for ghcr.io/trueup-dev/trueup")
	}
	name, tag := image, "latest"
	if i := strings.LastIndex(image, ":"); i > strings.LastIndex(image, "/") {
		name, tag = image[:i], image[i+1:]
	}
	if name == "" || tag == "" || strings.ContainsAny(image, " \n\"'@") {
		return nil, fmt.Errorf("bootstrap: --image %q: want name[:tag], e.g. registry.example.com/trueup:v1", image)
	}
	repl := fmt.Sprintf("  - name: ghcr.io/trueup-dev/trueup\n    newName: %s\n    newTag: %q\n", name, tag)
	return []byte(strings.Replace(string(kustomization), entry, repl, 1)), nil
}

// config is the base config with the cluster renamed, the repository as a
// source and trueup's own target, validated.
func (bo bootstrapOptions) config(base []byte) ([]byte, error) {
	text := strings.Replace(string(base), "  - name: in-cluster\n", "  - name: "+yamlString(bo.clusterName)+"\n", 1)
	text = strings.Replace(text, "      cluster: in-cluster\n", "      cluster: "+yamlString(bo.clusterName)+"\n", 1)
	var auth string
	switch {
	case bo.username != "":
		auth = "    auth:\n      username: " + yamlString(bo.username) + "\n      passwordFrom: {file: " + secretMountPrefix + "git-password}\n"
	case bo.privateKeyFile != "":
		auth = "    auth:\n      sshKeyFrom: {file: " + secretMountPrefix + "git-ssh-key}\n      knownHostsFile: " + secretMountPrefix + "git-known-hosts\n"
	}
	text += fmt.Sprintf(`sources:
  - name: %[1]s
    url: %[2]s
    ref: {branch: %[3]s}
%[4]stargets:
  # trueup itself: the manifests next to this file, applied by the trueup
  # they run (written by trueup bootstrap).
  - name: %[1]s
    source: %[1]s
    path: %[5]s
    cluster: %[6]s
    prune:
      enabled: true
`, bootstrapName, yamlString(bo.url), yamlString(bo.branch), auth, yamlString(bo.dir()), yamlString(bo.clusterName))
	c, err := config.Parse([]byte(text))
	if err == nil {
		err = config.Validate(c)
	}
	if err != nil {
		return nil, fmt.Errorf("bootstrap: the config it would write is invalid (check --url, --branch, --path, --cluster-name): %w", err)
	}
	return []byte(text), nil
}

// yamlString quotes s as a YAML double-quoted scalar.
func yamlString(s string) string { return fmt.Sprintf("%q", s) }
