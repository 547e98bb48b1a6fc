package hostapi

import (
	"fmt"
	"net/url"
	"strings"
)

// BaseURL parses the root URL of a host: http or https, a host, no
// credentials, query or fragment. It returns the URL with a path ending
// in "/" and the form used in messages (no trailing "/").
func BaseURL(raw string) (u *url.URL, display string, err error) {
	u, err = url.Parse(strings.TrimSpace(raw))
	switch {
	case err != nil:
		return nil, "", fmt.Errorf("invalid base URL: %w", err)
	case u.Scheme != "http" && u.Scheme != "https":
		return nil, "", fmt.Errorf("invalid base URL %q: want an http or https URL", u.Redacted())
	case u.Host == "":
		return nil, "", fmt.Errorf("invalid base URL %q: no host", u.Redacted())
	case u.User != nil:
		return nil, "", fmt.Errorf("invalid base URL %q: credentials belong in the token, not the URL", u.Redacted())
	case u.RawQuery != "" || u.Fragment != "":
		return nil, "", fmt.Errorf("invalid base URL %q: no query or fragment allowed", u.Redacted())
	}
	if !strings.HasSuffix(u.Path, "/") {
		u.Path += "/"
		if u.RawPath != "" {
			u.RawPath += "/"
		}
	}
	display = strings.TrimSuffix(u.String(), "/")
	return u, display, nil
}
