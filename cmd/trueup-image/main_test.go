package main

import (
	"archive/tar"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
)

// TestImage builds trueup's static binary and its image, loads the image
// back from both outputs (the OCI layout and the tarball), checks its
// entrypoint, user, labels and files, and runs the binary taken out of the
// image's layers.
func TestImage(t *testing.T) {
	dir := t.TempDir()
	bin := filepath.Join(dir, "trueup")
	build := exec.Command("go", "build", "-ldflags", "-s -w -X main.version=9.9.9-test", "-o", bin, "../trueup")
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	layoutDir, tarPath := filepath.Join(dir, "layout"), filepath.Join(dir, "image.tar")
	ca := filepath.Join(dir, "ca.crt")
	if err := os.WriteFile(ca, []byte("-----BEGIN CERTIFICATE-----\ntest\n-----END CERTIFICATE-----\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := run([]string{"-binary", bin, "-version", "9.9.9-test", "-revision", "abc123", "-layout", layoutDir, "-tar", tarPath, "-ca-certificates", ca}); err != nil {
		t.Fatal(err)
	}

	idx, err := layout.ImageIndexFromPath(layoutDir)
	if err != nil {
		t.Fatal(err)
	}
	m, err := idx.IndexManifest()
	if err != nil || len(m.Manifests) != 1 {
		t.Fatalf("layout index: %v, %d manifests", err, len(m.Manifests))
	}
	fromLayout, err := idx.Image(m.Manifests[0].Digest)
	if err != nil {
		t.Fatal(err)
	}
	fromTar, err := tarball.ImageFromPath(tarPath, nil)
	if err != nil {
		t.Fatal(err)
	}
	// The tarball's manifest is docker's, so compare the config (which
	// names the layers' contents) rather than the manifest digest.
	cl, _ := fromLayout.ConfigName()
	ct, _ := fromTar.ConfigName()
	if cl != ct {
		t.Errorf("the layout's config is %s, the tarball's %s: want the same image", cl, ct)
	}

	cf, err := fromLayout.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	c := cf.Config
	if !slices.Equal(c.Entrypoint, []string{"/usr/local/bin/trueup"}) || c.User != "65532:65532" || cf.OS != "linux" {
		t.Errorf("config: entrypoint %v user %q os %q", c.Entrypoint, c.User, cf.OS)
	}
	for k, want := range map[string]string{"org.opencontainers.image.version": "9.9.9-test", "org.opencontainers.image.revision": "abc123"} {
		if c.Labels[k] != want {
			t.Errorf("label %s = %q, want %q", k, c.Labels[k], want)
		}
	}

	// The files, as a container runtime unpacks them.
	layers, err := fromLayout.Layers()
	if err != nil {
		t.Fatal(err)
	}
	files := map[string]*tar.Header{}
	extracted := filepath.Join(dir, "trueup-from-image")
	for _, l := range layers {
		rc, err := l.Uncompressed()
		if err != nil {
			t.Fatal(err)
		}
		tr := tar.NewReader(rc)
		for {
			h, err := tr.Next()
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				t.Fatal(err)
			}
			files[strings.TrimSuffix(h.Name, "/")] = h
			if h.Name == binPath {
				data, _ := io.ReadAll(tr)
				if err := os.WriteFile(extracted, data, 0o755); err != nil {
					t.Fatal(err)
				}
			}
		}
		rc.Close()
	}
	if h := files[binPath]; h == nil || h.Mode&0o111 == 0 || h.Uid != 0 {
		t.Errorf("binary entry %+v: want root-owned and executable", h)
	}
	if h := files[dataDir]; h == nil || h.Uid != uid {
		t.Errorf("%s entry %+v: want owned by the image's user", dataDir, h)
	}
	if h := files["etc/ssl/certs/ca-certificates.crt"]; h == nil {
		t.Error("no CA bundle: the daemon could not reach HTTPS Git hosts")
	}
	if h := files["etc/passwd"]; h == nil {
		t.Error("no /etc/passwd: the user has no name")
	}
	out, err := exec.Command(extracted, "version").CombinedOutput()
	if err != nil || !strings.Contains(string(out), "9.9.9-test") {
		t.Errorf("the image's binary: %v\n%s", err, out)
	}
}
