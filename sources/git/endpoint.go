package git

import (
	"fmt"
	"net"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/go-git/go-git/v5/plumbing/transport"
)

// endpoint is a parsed remote URL split into what go-git receives, what an
// error may show, and the credentials it carried.
type endpoint struct {
	// url is handed to go-git: no password, and no user for http(s).
	url string
	// display is safe to print: no userinfo for http(s), no password for ssh.
	display string
	// protocol is "file", "http", "https" or "ssh".
	protocol string
	// user and password come from the URL's userinfo.
	user, password string
	// hostport is "host:port" of an ssh endpoint, as the host key check sees it.
	hostport string
}

// parseEndpoint parses a remote URL. Its errors never contain the URL,
// which may hold a password.
func parseEndpoint(raw string) (endpoint, error) {
	if strings.TrimSpace(raw) == "" {
		return endpoint{}, fmt.Errorf("%w: url is empty", ErrInvalidSource)
	}
	ep, err := transport.NewEndpoint(raw)
	if err != nil {
		return endpoint{}, fmt.Errorf("%w: url cannot be parsed", ErrInvalidSource)
	}
	out := endpoint{protocol: ep.Protocol, user: ep.User, password: ep.Password}
	ep.Password = ""
	switch ep.Protocol {
	case "file":
		return localEndpoint(raw, ep)
	case "http", "https":
		ep.User = ""
	case "ssh":
		port := ep.Port
		if port == 0 {
			port = 22
		}
		out.hostport = net.JoinHostPort(ep.Host, strconv.Itoa(port))
	default:
		return endpoint{}, fmt.Errorf("%w: url scheme %q is not supported (use a path, file, http, https or ssh)",
			ErrInvalidSource, ep.Protocol)
	}
	if ep.Host == "" {
		return endpoint{}, fmt.Errorf("%w: url has no host", ErrInvalidSource)
	}
	out.url = ep.String()
	out.display = out.url
	return out, nil
}

func localEndpoint(raw string, ep *transport.Endpoint) (endpoint, error) {
	if ep.User != "" || ep.Host != "" {
		return endpoint{}, fmt.Errorf("%w: file url must not name a host", ErrInvalidSource)
	}
	p := ep.Path
	if !strings.HasPrefix(raw, "file://") {
		abs, err := filepath.Abs(raw)
		if err != nil {
			return endpoint{}, fmt.Errorf("%w: local path: %w", ErrInvalidSource, err)
		}
		p = abs
	}
	return endpoint{url: p, display: p, protocol: "file"}, nil
}
