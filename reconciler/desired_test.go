package reconciler_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/trueup-dev/trueup/fixtures/gitrepo"
	"github.com/trueup-dev/trueup/reconciler"
	"github.com/trueup-dev/trueup/reconciler/config"
	"github.com/trueup-dev/trueup/sources/git"
	"github.com/trueup-dev/trueup/sources/render"
)

// desiredRepo is one commit of a real Git repository, served over file://,
// and a DesiredLoader over a fresh cache of it.
type desiredRepo struct {
	loader *reconciler.DesiredLoader
}

func newDesiredRepo(t *testing.T, files map[string]gitrepo.Entry, limits git.Limits) *desiredRepo {
	t.Helper()
	dir := t.TempDir()
	repo := gitrepo.Init(t, filepath.Join(dir, "repo.git"))
	repo.Commit(t, files, gitrepo.CommitOptions{})
	src := git.Source{Name: "platform", URL: repo.URL(), Ref: git.RefSpec{Branch: gitrepo.DefaultBranch}, Limits: limits}
	return &desiredRepo{loader: reconciler.NewDesiredLoader(git.New(filepath.Join(dir, "cache")), map[string]git.Source{"platform": src})}
}

func (r *desiredRepo) load(t *testing.T, path string) (*reconciler.Desired, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	return r.loader.Load(ctx, &config.Target{Name: "web", Source: "platform", Path: path})
}

func yamlFile(s string) gitrepo.Entry { return gitrepo.File(s) }

func namedConfigMap(name string) string {
	return fmt.Sprintf("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: %s\n", name)
}

// TestReadLimitsCountWholeRepositoryNotTargetPath: a big PNG in docs/, more
// files than the limit in vendor/ and more bytes than the limit elsewhere
// failed every target of the source. The limits count what a target
// renders, kustomize's bases and generator files included, and nothing else.
func TestReadLimitsCountWholeRepositoryNotTargetPath(t *testing.T) {
	limits := git.Limits{MaxFileBytes: 64 << 10, MaxFiles: 50, MaxTotalBytes: 256 << 10}
	files := map[string]gitrepo.Entry{
		"docs/diagram.png":                gitrepo.File(string(bytes.Repeat([]byte{0x89, 'P', 'N', 'G'}, 25<<10))), // 100 KiB
		"apps/web/deploy.yaml":            yamlFile(namedConfigMap("web")),
		"apps/overlay/kustomization.yaml": yamlFile("resources: [../../base]\n"),
		"base/kustomization.yaml":         yamlFile("resources: [cm.yaml]\n"),
		"base/cm.yaml":                    yamlFile(namedConfigMap("base")),
		"apps/png/kustomization.yaml":     yamlFile("configMapGenerator:\n- name: png\n  files: [../../docs/diagram.png]\n"),
	}
	for i := range 60 { // more files than MaxFiles, none of them YAML
		files[fmt.Sprintf("vendor/lib/f%02d.go", i)] = gitrepo.File("package lib\n")
	}
	for i := range 3 { // 180 KiB: with the PNG, more than MaxTotalBytes
		files[fmt.Sprintf("assets/a%d.bin", i)] = gitrepo.File(strings.Repeat("x", 60<<10))
	}
	for i := range 51 { // a target that itself reads more files than MaxFiles
		files[fmt.Sprintf("apps/many/cm%02d.yaml", i)] = yamlFile(namedConfigMap(fmt.Sprintf("cm%02d", i)))
	}
	r := newDesiredRepo(t, files, limits)

	for _, tc := range []struct {
		name, path string
		objects    int
		wantErr    string // empty: the render succeeds
	}{
		{name: "plain target beside big and many files", path: "apps/web", objects: 1},
		{name: "kustomize base outside the target path", path: "apps/overlay", objects: 1},
		{name: "a target reading more files than maxFiles", path: "apps/many", wantErr: "more than 50 files"},
		{name: "a file kustomize pulls in counts", path: "apps/png", wantErr: `file "docs/diagram.png" is larger than 65536 bytes`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d, err := r.load(t, tc.path)
			if tc.wantErr != "" {
				if !errors.Is(err, git.ErrLimitExceeded) || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("error %v, want a read limit error with %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("load %s: %v", tc.path, err)
			}
			if len(d.Objects) != tc.objects {
				t.Fatalf("%d objects, want %d", len(d.Objects), tc.objects)
			}
		})
	}
}

// TestDuplicateKeysInPlainYAMLAreRejected: `metadata: {name: first}` then
// `metadata: {name: second}` applied "second" without a word. A duplicate
// key is an error naming the file, document and key path, as kustomize does.
func TestDuplicateKeysInPlainYAMLAreRejected(t *testing.T) {
	r := newDesiredRepo(t, map[string]gitrepo.Entry{
		"top/cm.yaml":             yamlFile(namedConfigMap("ok") + "---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: first}\nmetadata: {name: second}\n"),
		"nested/cm.yaml":          yamlFile("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\n  labels:\n    app.kubernetes.io/name: x\n    app.kubernetes.io/name: y\n"),
		"list/cm.yaml":            yamlFile("apiVersion: v1\nkind: List\nitems:\n- apiVersion: v1\n  kind: ConfigMap\n  metadata: {name: a}\n  data: {k: 1, k: 2}\n"),
		"kust/kustomization.yaml": yamlFile("resources: [cm.yaml]\n"),
		"kust/cm.yaml":            yamlFile("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\n  name: b\n"),
		"json/cm.json":            yamlFile(`{"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "first", "name": "second"}}`),
	}, git.Limits{})
	for _, tc := range []struct{ path, want string }{
		{"top", `top/cm.yaml[1]: duplicate key "metadata" (lines 8 and 9)`},
		{"nested", `nested/cm.yaml[0]: duplicate key "metadata.labels[\"app.kubernetes.io/name\"]" (lines 6 and 7)`},
		{"list", `list/cm.yaml[0]: duplicate key "items[0].data.k"`},
		{"kust", `kust/cm.yaml[0]: duplicate key "metadata.name"`},
		{"json", `json/cm.json[0]: duplicate key "metadata.name"`},
	} {
		t.Run(tc.path, func(t *testing.T) {
			_, err := r.load(t, tc.path)
			if !errors.Is(err, render.ErrInvalid) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want an invalid-manifest error with %q", err, tc.want)
			}
		})
	}
}

// TestEscapeCodesInFileNamesReachTerminalRaw: a file named with terminal
// escape codes was printed raw in render errors. File names are quoted.
func TestEscapeCodesInFileNamesReachTerminalRaw(t *testing.T) {
	const evil = "apps/\x1b[2J\x1b[31mred\a.yaml"
	r := newDesiredRepo(t, map[string]gitrepo.Entry{
		evil:                            yamlFile("apiVersion: v1\nkind: ConfigMap\n"),
		"kust/kustomization.yaml":       yamlFile("resources: [\"cm\\x1b[31m.yaml\"]\n"),
		"dup/\x1b]0;title\a/cm.yaml":    yamlFile(namedConfigMap("a")),
		"dup/\x1b]0;title\a/again.yaml": yamlFile(namedConfigMap("a")),
	}, git.Limits{})
	for _, tc := range []struct{ path, want string }{
		{"apps", `"apps/\x1b[2J\x1b[31mred\a.yaml"[0]: missing metadata.name`},
		{"kust", `"cm\x1b[31m.yaml"`},
		{"dup", `"dup/\x1b]0;title\a/cm.yaml"[0]`},
	} {
		t.Run(tc.path, func(t *testing.T) {
			_, err := r.load(t, tc.path)
			if err == nil {
				t.Fatal("render succeeded")
			}
			if strings.ContainsAny(err.Error(), "\x1b\a") {
				t.Fatalf("error holds raw control characters: %q", err.Error())
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %q does not quote the name as %s", err.Error(), tc.want)
			}
		})
	}
}

// TestGenerateNameAndHelmChartSayWhatTrueupNeeds: a generateName object
// said only "missing metadata.name", a Helm chart folder "missing kind".
// Both say what trueup needs and why.
func TestGenerateNameAndHelmChartSayWhatTrueupNeeds(t *testing.T) {
	r := newDesiredRepo(t, map[string]gitrepo.Entry{
		"jobs/job.yaml":                 yamlFile("apiVersion: batch/v1\nkind: Job\nmetadata:\n  generateName: migrate-\n"),
		"chart/Chart.yaml":              yamlFile("apiVersion: v2\nname: web\nversion: 1.0.0\n"),
		"chart/values.yaml":             yamlFile("replicas: 2\n"),
		"chart/templates/deploy.yaml":   yamlFile("apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: {{ .Release.Name }}\n"),
		"apps/web/cm.yaml":              yamlFile(namedConfigMap("web")),
		"apps/web/charts/db/Chart.yaml": yamlFile("apiVersion: v2\nname: db\nversion: 1.0.0\n"),
	}, git.Limits{})
	for _, tc := range []struct {
		path  string
		kind  error
		wants []string
	}{
		{"jobs", render.ErrInvalid, []string{`jobs/job.yaml[0]: metadata.generateName "migrate-" without metadata.name`,
			"trueup needs metadata.name", "set metadata.name"}},
		{"chart", render.ErrUnsupported, []string{"chart/Chart.yaml: chart is a Helm chart", "targets[].render.helm",
			"(chart: chart)"}},
		{"apps/web", render.ErrUnsupported, []string{"apps/web/charts/db is a Helm chart", "targets[].render.helm"}},
	} {
		t.Run(tc.path, func(t *testing.T) {
			_, err := r.load(t, tc.path)
			if !errors.Is(err, tc.kind) {
				t.Fatalf("error %v, want %v", err, tc.kind)
			}
			for _, w := range tc.wants {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not say %q", err, w)
				}
			}
			if strings.Contains(err.Error(), "missing kind") {
				t.Errorf("error %q still says missing kind", err)
			}
		})
	}
}
