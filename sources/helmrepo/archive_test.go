package helmrepo_test

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"errors"
	"strings"
	"testing"

	"github.com/trueup-dev/trueup/fixtures/chartrepo"
	"github.com/trueup-dev/trueup/sources/helmrepo"
)

type tarEntry struct {
	name     string
	typeflag byte
	body     string
	link     string
}

func tgz(t testing.TB, entries ...tarEntry) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	tw := tar.NewWriter(zw)
	for _, e := range entries {
		hdr := &tar.Header{Name: e.name, Typeflag: e.typeflag, Mode: 0o644, Size: int64(len(e.body)), Linkname: e.link}
		if e.typeflag != tar.TypeReg {
			hdr.Size = 0
		}
		if err := tw.WriteHeader(hdr); err != nil {
			t.Fatal(err)
		}
		if e.typeflag == tar.TypeReg {
			if _, err := tw.Write([]byte(e.body)); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestCheckArchive(t *testing.T) {
	chartYAML := tarEntry{name: "demo/Chart.yaml", typeflag: tar.TypeReg, body: "name: demo\n"}
	limits := helmrepo.DefaultLimits()
	small := limits
	small.Entries, small.FileSize, small.ChartSize = 3, 100, 150
	tests := []struct {
		name    string
		archive []byte
		limits  helmrepo.Limits
		want    error
	}{
		{"demo chart", chartrepo.Package(t, chartrepo.Demo(), "demo", "1.0.0"), limits, nil},
		{"folder entries", tgz(t, tarEntry{name: "demo/", typeflag: tar.TypeDir}, chartYAML), limits, nil},
		{"symlink", tgz(t, chartYAML, tarEntry{name: "demo/values.yaml", typeflag: tar.TypeSymlink, link: "/etc/passwd"}), limits, helmrepo.ErrInvalid},
		{"hard link", tgz(t, chartYAML, tarEntry{name: "demo/x", typeflag: tar.TypeLink, link: "demo/Chart.yaml"}), limits, helmrepo.ErrInvalid},
		{"device", tgz(t, chartYAML, tarEntry{name: "demo/dev", typeflag: tar.TypeChar}), limits, helmrepo.ErrInvalid},
		{"absolute path", tgz(t, tarEntry{name: "/demo/Chart.yaml", typeflag: tar.TypeReg, body: "x"}), limits, helmrepo.ErrInvalid},
		{"dot-dot", tgz(t, chartYAML, tarEntry{name: "demo/../../evil.yaml", typeflag: tar.TypeReg, body: "x"}), limits, helmrepo.ErrInvalid},
		{"windows dot-dot", tgz(t, chartYAML, tarEntry{name: `demo\..\..\evil.yaml`, typeflag: tar.TypeReg, body: "x"}), limits, helmrepo.ErrInvalid},
		{"not gzip", []byte("<html>error page</html>"), limits, helmrepo.ErrInvalid},
		{"empty archive", tgz(t), limits, helmrepo.ErrInvalid},
		{"too many entries", tgz(t, chartYAML, chartYAML, chartYAML, chartYAML), small, helmrepo.ErrTooLarge},
		{"file too large", tgz(t, tarEntry{name: "demo/big", typeflag: tar.TypeReg, body: strings.Repeat("x", 101)}), small, helmrepo.ErrTooLarge},
		{"chart too large decompressed", tgz(t, tarEntry{name: "demo/a", typeflag: tar.TypeReg, body: strings.Repeat("x", 80)}, tarEntry{name: "demo/b", typeflag: tar.TypeReg, body: strings.Repeat("x", 80)}), small, helmrepo.ErrTooLarge},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := helmrepo.CheckArchive(tt.archive, tt.limits)
			if tt.want == nil && err != nil || tt.want != nil && !errors.Is(err, tt.want) {
				t.Fatalf("CheckArchive = %v, want %v", err, tt.want)
			}
		})
	}
}

// FuzzCheckArchive: CheckArchive never panics on outside input, and what it
// accepts has at least one entry.
func FuzzCheckArchive(f *testing.F) {
	f.Add(chartrepo.Package(f, chartrepo.Demo(), "demo", "1.0.0"))
	f.Add(tgz(f, tarEntry{name: "demo/../x", typeflag: tar.TypeReg, body: "x"}))
	f.Add([]byte{0x1f, 0x8b})
	f.Fuzz(func(t *testing.T, data []byte) {
		_ = helmrepo.CheckArchive(data, helmrepo.DefaultLimits())
	})
}
