// Command trueup-image builds trueup's OCI image without Docker: from
// scratch, a base layer made here (a non-root user, CA certificates, a
// writable data folder) and a layer with the static trueup binary. It
// writes an OCI image layout folder and a tarball that `docker load`,
// `podman load` and `crane push` read. `make image` runs it.
package main

import (
	"archive/tar"
	"bytes"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"runtime"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// The image's user: distroless's "nonroot".
const (
	uid     = 65532
	binPath = "usr/local/bin/trueup"
	dataDir = "var/lib/trueup"
)

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "trueup-image:", err)
		os.Exit(1)
	}
}

type options struct {
	binary, version, revision, source, layoutDir, tarPath, tag, caFile string
}

func run(args []string) error {
	var o options
	fl := flag.NewFlagSet("trueup-image", flag.ContinueOnError)
	fl.StringVar(&o.binary, "binary", "bin/trueup", "the static trueup binary (make build)")
	fl.StringVar(&o.version, "version", "dev", "the image's version label and tag")
	fl.StringVar(&o.revision, "revision", "", "the source revision label (git commit)")
	fl.StringVar(&o.source, "source", "https://github.com/trueup-dev/trueup", "the source label")
	fl.StringVar(&o.layoutDir, "layout", "bin/image", "write an OCI image layout to this folder")
	fl.StringVar(&o.tarPath, "tar", "bin/trueup-image.tar", "write a docker/podman-loadable tarball to this file")
	fl.StringVar(&o.tag, "tag", "trueup", "the repository name in the tarball (tagged with -version)")
	fl.StringVar(&o.caFile, "ca-certificates", "/etc/ssl/certs/ca-certificates.crt", "CA bundle for the image (\"\" for none)")
	if err := fl.Parse(args); err != nil {
		return err
	}
	img, err := build(o)
	if err != nil {
		return err
	}
	if err := os.RemoveAll(o.layoutDir); err != nil {
		return err
	}
	p, err := layout.Write(o.layoutDir, empty.Index)
	if err != nil {
		return fmt.Errorf("write %s: %w", o.layoutDir, err)
	}
	if err := p.AppendImage(img, layout.WithAnnotations(map[string]string{"org.opencontainers.image.ref.name": o.version})); err != nil {
		return fmt.Errorf("write %s: %w", o.layoutDir, err)
	}
	ref, err := name.NewTag(o.tag + ":" + o.version)
	if err != nil {
		return fmt.Errorf("-tag/-version: %w", err)
	}
	if err := tarball.WriteToFile(o.tarPath, ref, img); err != nil {
		return fmt.Errorf("write %s: %w", o.tarPath, err)
	}
	d, _ := img.Digest()
	fmt.Printf("image %s (%s): OCI layout %s, tarball %s\n", ref, d, o.layoutDir, o.tarPath)
	return nil
}

// build assembles the image: base layer, binary layer, config.
func build(o options) (v1.Image, error) {
	bin, err := os.ReadFile(o.binary)
	if err != nil {
		return nil, fmt.Errorf("read the binary: %w (run make build)", err)
	}
	if !bytes.HasPrefix(bin, []byte("\x7fELF")) {
		return nil, errors.New(o.binary + " is not an ELF binary")
	}
	var ca []byte
	if o.caFile != "" {
		if ca, err = os.ReadFile(o.caFile); err != nil {
			return nil, fmt.Errorf("read the CA bundle: %w (install ca-certificates or pass -ca-certificates '')", err)
		}
	}
	base, err := layer(func(w *tarWriter) {
		w.dir("etc", 0o755, 0)
		w.file("etc/passwd", []byte(fmt.Sprintf("root:x:0:0:root:/root:/sbin/nologin\nnonroot:x:%d:%d:nonroot:/home/nonroot:/sbin/nologin\n", uid, uid)), 0o644, 0)
		w.file("etc/group", []byte(fmt.Sprintf("root:x:0:\nnonroot:x:%d:\n", uid)), 0o644, 0)
		if ca != nil {
			w.dir("etc/ssl", 0o755, 0)
			w.dir("etc/ssl/certs", 0o755, 0)
			w.file("etc/ssl/certs/ca-certificates.crt", ca, 0o644, 0)
		}
		w.dir("etc/trueup", 0o755, 0)
		w.dir("home", 0o755, 0)
		w.dir("home/nonroot", 0o700, uid)
		w.dir("tmp", 0o1777, 0)
		w.dir("var", 0o755, 0)
		w.dir("var/lib", 0o755, 0)
		w.dir(dataDir, 0o700, uid)
	})
	if err != nil {
		return nil, err
	}
	app, err := layer(func(w *tarWriter) {
		w.dir("usr", 0o755, 0)
		w.dir("usr/local", 0o755, 0)
		w.dir("usr/local/bin", 0o755, 0)
		w.file(binPath, bin, 0o755, 0)
	})
	if err != nil {
		return nil, err
	}
	img, err := mutate.AppendLayers(mutate.MediaType(empty.Image, types.OCIManifestSchema1), base, app)
	if err != nil {
		return nil, err
	}
	img = mutate.ConfigMediaType(img, types.OCIConfigJSON)
	cf, err := img.ConfigFile()
	if err != nil {
		return nil, err
	}
	cf = cf.DeepCopy()
	cf.OS, cf.Architecture = "linux", runtime.GOARCH
	cf.Created = v1.Time{Time: time.Unix(0, 0).UTC()}
	cf.Config.Entrypoint = []string{"/" + binPath}
	cf.Config.Cmd = []string{"serve", "-c", "/etc/trueup/trueup.yaml"}
	cf.Config.User = fmt.Sprintf("%d:%d", uid, uid)
	cf.Config.WorkingDir = "/" + dataDir
	cf.Config.Env = []string{"PATH=/usr/local/bin", "SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt", "HOME=/home/nonroot"}
	cf.Config.ExposedPorts = map[string]struct{}{"8080/tcp": {}}
	cf.Config.Labels = map[string]string{
		"org.opencontainers.image.title":    "trueup",
		"org.opencontainers.image.version":  o.version,
		"org.opencontainers.image.source":   o.source,
		"org.opencontainers.image.revision": o.revision,
		"org.opencontainers.image.licenses": "Apache-2.0",
	}
	return mutate.ConfigFile(img, cf)
}

// tarWriter writes a layer's entries, reproducibly (no times, no names of
// the build machine's users).
type tarWriter struct {
	tw  *tar.Writer
	err error
}

func (w *tarWriter) header(h *tar.Header) {
	if w.err == nil {
		h.ModTime, h.Format = time.Unix(0, 0), tar.FormatPAX
		w.err = w.tw.WriteHeader(h)
	}
}

func (w *tarWriter) dir(p string, mode int64, owner int) {
	w.header(&tar.Header{Typeflag: tar.TypeDir, Name: p + "/", Mode: mode, Uid: owner, Gid: owner})
}

func (w *tarWriter) file(p string, data []byte, mode int64, owner int) {
	w.header(&tar.Header{Typeflag: tar.TypeReg, Name: p, Mode: mode, Size: int64(len(data)), Uid: owner, Gid: owner})
	if w.err == nil {
		_, w.err = w.tw.Write(data)
	}
}

// layer builds an uncompressed tar with fill and makes it a gzip layer.
func layer(fill func(*tarWriter)) (v1.Layer, error) {
	var buf bytes.Buffer
	w := &tarWriter{tw: tar.NewWriter(&buf)}
	fill(w)
	if w.err == nil {
		w.err = w.tw.Close()
	}
	if w.err != nil {
		return nil, w.err
	}
	data := buf.Bytes()
	return tarball.LayerFromOpener(func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(data)), nil },
		tarball.WithMediaType(types.OCILayer))
}
