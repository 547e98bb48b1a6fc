// Package deploy holds the manifests that run trueup in a cluster: the
// kustomize base (Namespace trueup-system, ServiceAccount, RBAC,
// Deployment, PersistentVolumeClaim, Service, the config as a ConfigMap),
// the components that change it (postgres: the history in PostgreSQL;
// tenancy: impersonating tenants' ServiceAccounts) and the Helm chart
// chart/trueup. They are plain files, embedded here so that
// `trueup bootstrap` writes them into a repository and tests render them.
package deploy

import (
	"embed"
	"io/fs"
)

//go:embed all:kustomize all:chart
var files embed.FS

// Paths of the embedded trees, relative to this folder.
const (
	// KustomizeDir holds base/, components/ and examples/.
	KustomizeDir = "kustomize"
	// ChartDir is the Helm chart of trueup.
	ChartDir = "chart/trueup"
)

// FS returns the embedded files, rooted at this folder (kustomize/...,
// chart/trueup/...).
func FS() fs.FS { return files }
