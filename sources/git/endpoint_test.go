package git

import (
	"errors"
	"strings"
	"testing"
)

func TestParseEndpoint(t *testing.T) {
	for _, tc := range []struct {
		name    string
		raw     string
		want    endpoint
		wantErr bool
	}{
		{name: "https with user and password", raw: "https://bob:pa55@git.example.com/org/r.git",
			want: endpoint{url: "https://git.example.com/org/r.git", display: "https://git.example.com/org/r.git", protocol: "https", user: "bob", password: "pa55"}},
		{name: "https with a token as user", raw: "https://ghp_token@github.com/org/r.git",
			want: endpoint{url: "https://github.com/org/r.git", display: "https://github.com/org/r.git", protocol: "https", user: "ghp_token"}},
		{name: "http with port", raw: "http://127.0.0.1:8080/r.git",
			want: endpoint{url: "http://127.0.0.1:8080/r.git", display: "http://127.0.0.1:8080/r.git", protocol: "http"}},
		{name: "ssh keeps user, drops password", raw: "ssh://git:pw@host:2222/r.git",
			want: endpoint{url: "ssh://git@host:2222/r.git", display: "ssh://git@host:2222/r.git", protocol: "ssh", user: "git", password: "pw", hostport: "host:2222"}},
		{name: "scp-like", raw: "git@github.com:org/r.git",
			want: endpoint{url: "ssh://git@github.com/org/r.git", display: "ssh://git@github.com/org/r.git", protocol: "ssh", user: "git", hostport: "github.com:22"}},
		{name: "file url", raw: "file:///srv/r.git", want: endpoint{url: "/srv/r.git", display: "/srv/r.git", protocol: "file"}},
		{name: "absolute path", raw: "/srv/r.git", want: endpoint{url: "/srv/r.git", display: "/srv/r.git", protocol: "file"}},
		{name: "empty", raw: " ", wantErr: true},
		{name: "git protocol", raw: "git://example.com/r", wantErr: true},
		{name: "unparsable with password", raw: "https://u:pa55@exa mple.com/%zz", wantErr: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := parseEndpoint(tc.raw)
			if tc.wantErr {
				if !errors.Is(err, ErrInvalidSource) {
					t.Fatalf("error %v, want ErrInvalidSource", err)
				}
				if strings.Contains(err.Error(), "pa55") {
					t.Fatalf("error %q leaks the password", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got != tc.want {
				t.Fatalf("\n got %+v\nwant %+v", got, tc.want)
			}
		})
	}
}
