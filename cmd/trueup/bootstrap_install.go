package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	applycorev1 "k8s.io/client-go/applyconfigurations/core/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/trueup-dev/trueup/reconciler"
	"github.com/trueup-dev/trueup/reconciler/config"
	"github.com/trueup-dev/trueup/reconciler/kube"
)

// bootstrapSecretManager owns the Git keys bootstrap writes into the Secret
// trueup-secrets; other keys (a Slack token) are left alone.
const bootstrapSecretManager = "trueup-bootstrap"

// installSelf puts trueup into the cluster of --kubeconfig/--context: the
// Git credentials into the Secret trueup-secrets, then the target
// trueup-system reconciled once from the repository, as the daemon in the
// cluster will (same target, same inventory), so that daemon takes over
// where this run ends. It does not wait for the Deployment to be ready
// (the image may still be pulling).
func installSelf(cmd *commandContext, bo bootstrapOptions) error {
	dataDir, err := os.MkdirTemp("", "trueup-bootstrap-data-")
	if err != nil {
		return fmt.Errorf("bootstrap: install: data folder: %w", err)
	}
	defer os.RemoveAll(dataDir)
	cfg, err := config.Parse([]byte(bo.localConfig(dataDir)))
	if err != nil {
		return fmt.Errorf("bootstrap: install: %w (check --kubeconfig and --context)", err)
	}
	if err := bo.applySecret(cmd.ctx, cfg.Clusters[0]); err != nil {
		return err
	}
	out, err := reconcileOnce(cmd.ctx, cfg, bootstrapName, reconciler.ReconcileOptions{Progress: func(e kube.Event) { printProgress(cmd.errw, e) }})
	if err != nil {
		return err
	}
	printOutcome(cmd.out, cmd.opts, out, false)
	if out.Err != nil {
		return fmt.Errorf("bootstrap: install: %w", out.Err)
	}
	return nil
}

// commandContext is what installSelf needs of the command.
type commandContext struct {
	ctx       context.Context
	opts      *globalOptions
	out, errw interface{ Write([]byte) (int, error) }
}

// localConfig is the config of the install run: the repository with the
// credentials of the flags, the cluster of --kubeconfig, and trueup's own
// target as the config in the repository has it (name, path, inventory).
func (bo bootstrapOptions) localConfig(dataDir string) string {
	var auth string
	switch {
	case bo.username != "":
		auth = fmt.Sprintf("    auth: {username: %s, passwordFrom: {env: %s}}\n", yamlString(bo.username), yamlString(bo.passwordEnv))
	case bo.privateKeyFile != "":
		auth = fmt.Sprintf("    auth: {sshKeyFrom: {file: %s}, knownHostsFile: %s}\n", yamlString(bo.privateKeyFile), yamlString(bo.knownHostsFile))
	}
	kc := "{path: " + yamlString(bo.kubeconfig)
	if bo.context != "" {
		kc += ", context: " + yamlString(bo.context)
	}
	return fmt.Sprintf(`apiVersion: trueup.dev/v1alpha1
kind: Config
dataDir: %[1]s
sources:
  - name: %[2]s
    url: %[3]s
    ref: {branch: %[4]s}
%[5]sclusters:
  - name: %[6]s
    kubeconfig: %[7]s}
    inventoryNamespace: trueup-system
targets:
  - name: %[2]s
    source: %[2]s
    path: %[8]s
    cluster: %[6]s
    wait: false
    prune:
      enabled: true
`, yamlString(dataDir), bootstrapName, yamlString(bo.url), yamlString(bo.branch), auth, yamlString(bo.clusterName), kc, yamlString(bo.dir()))
}

// bootstrapRequestTimeout bounds each request of the install's own
// client (the Secret); the reconcile has the cluster deadlines of a target.
var bootstrapRequestTimeout = 30 * time.Second

// applySecret writes the Git credentials of the flags into the Secret
// trueup-secrets (server-side apply of those keys only), creating the
// namespace first; nothing without credentials.
func (bo bootstrapOptions) applySecret(ctx context.Context, c config.Cluster) error {
	data := map[string][]byte{}
	switch {
	case bo.username != "":
		data["git-password"] = []byte(os.Getenv(bo.passwordEnv))
	case bo.privateKeyFile != "":
		for key, file := range map[string]string{"git-ssh-key": bo.privateKeyFile, "git-known-hosts": bo.knownHostsFile} {
			b, err := os.ReadFile(filepath.Clean(file))
			if err != nil {
				return fmt.Errorf("bootstrap: install: %w", err)
			}
			data[key] = b
		}
	default:
		return nil
	}
	rc, err := restConfig("--kubeconfig", c)
	if err != nil {
		return fmt.Errorf("bootstrap: install: %w", err)
	}
	rc.Timeout = bootstrapRequestTimeout
	cs, err := kubernetes.NewForConfig(rc)
	if err != nil {
		return fmt.Errorf("bootstrap: install: %w", err)
	}
	opts := metav1.ApplyOptions{FieldManager: bootstrapSecretManager, Force: true}
	if _, err := cs.CoreV1().Namespaces().Apply(ctx, applycorev1.Namespace("trueup-system"), opts); err != nil {
		return fmt.Errorf("bootstrap: install: namespace trueup-system: %w (check that the cluster of --kubeconfig answers: kubectl --kubeconfig %s get --raw /readyz)", err, bo.kubeconfig)
	}
	secret := applycorev1.Secret("trueup-secrets", "trueup-system").WithType(corev1.SecretTypeOpaque).WithData(data)
	if _, err := cs.CoreV1().Secrets("trueup-system").Apply(ctx, secret, opts); err != nil {
		return fmt.Errorf("bootstrap: install: Secret trueup-system/trueup-secrets: %w (check that the cluster of --kubeconfig answers and lets you apply Secrets there)", err)
	}
	return nil
}
