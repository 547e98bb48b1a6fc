package config

import (
	"net"
	"slices"
)

// Auth modes.
const (
	// AuthRequired: every page and API path needs a user with a role.
	AuthRequired = "required"
	// AuthNone: anyone who reaches the listener reads everything.
	AuthNone = "none"
)

// validateServerAuth checks server.webhookListen, server.metricsListen and
// server.auth.
func validateServerAuth(e *errs, c *Config) {
	p, s := "server", &c.Server
	listens := map[string]string{"listen": s.Listen}
	for _, l := range []struct{ name, addr string }{{"webhookListen", s.WebhookListen}, {"metricsListen", s.MetricsListen}} {
		if l.addr == "" {
			continue
		}
		_, port, err := net.SplitHostPort(l.addr)
		if err != nil || port == "" {
			e.add(field(p, l.name), "want host:port like \":9090\" or \"127.0.0.1:9090\", got %q", l.addr)
			continue
		}
		for other, addr := range listens {
			if addr == l.addr && port != "0" { // port 0: any free port, each its own
				e.add(field(p, l.name), "%q is also server.%s: give each listener its own address", l.addr, other)
			}
		}
		listens[l.name] = l.addr
	}
	if s.Auth != nil {
		validateAuth(e, field(p, "auth"), s.Auth, c)
	}
}

func validateAuth(e *errs, p string, a *ServerAuth, c *Config) {
	oneOf(e, field(p, "mode"), a.Mode, AuthRequired, AuthNone)
	if a.Mode == AuthNone {
		if a.TokenReview != nil || a.OIDC != nil || len(a.Roles) > 0 {
			e.add(field(p, "mode"), "mode none serves every page and API path to anyone, so tokenReview, oidc and roles would do nothing: remove them, or use mode: required")
		}
		return
	}
	if a.TokenReview == nil && a.OIDC == nil {
		e.add(p, "no way to log in: set tokenReview (bearer tokens checked by a cluster) and/or oidc (browser login), or mode: none for an open listener")
	}
	if tr := a.TokenReview; tr != nil {
		var clusters []string
		for _, cl := range c.Clusters {
			clusters = append(clusters, cl.Name)
		}
		reference(e, field(field(p, "tokenReview"), "cluster"), "cluster", tr.Cluster, clusters)
		for i, aud := range tr.Audiences {
			if aud == "" {
				e.add(index(field(field(p, "tokenReview"), "audiences"), i), "empty audience: remove it")
			}
		}
	}
	if a.OIDC != nil {
		validateOIDC(e, field(p, "oidc"), &c.Server)
	}
	secretRef(e, field(p, "sessionKeyFrom"), a.SessionKeyFrom)
	if len(a.Roles) == 0 {
		e.add(field(p, "roles"), "required: with no role binding no one can read anything (bind users or groups to viewer, operator, auditor or admin)")
	}
	var tenants []string
	for _, t := range c.Tenants {
		tenants = append(tenants, t.Name)
	}
	for i := range a.Roles {
		validateRoleBinding(e, index(field(p, "roles"), i), &a.Roles[i], tenants)
	}
}

func validateRoleBinding(e *errs, p string, b *RoleBinding, tenants []string) {
	if b.Role == "" {
		e.add(field(p, "role"), "required: one of viewer, operator, auditor, admin")
	} else {
		oneOf(e, field(p, "role"), b.Role, RoleViewer, RoleOperator, RoleAuditor, RoleAdmin)
	}
	if len(b.Users) == 0 && len(b.Groups) == 0 {
		e.add(p, "binds no one: set users and/or groups")
	}
	for _, l := range []struct {
		name string
		vals []string
	}{{"users", b.Users}, {"groups", b.Groups}} {
		for i, v := range l.vals {
			if v == "" {
				e.add(index(field(p, l.name), i), "empty name: remove it")
			}
		}
	}
	switch b.Role {
	case RoleViewer, RoleOperator:
		if len(b.Tenants) == 0 {
			e.add(field(p, "tenants"), "required for role %s: name the tenants it sees, or \"*\" for every tenant", b.Role)
		}
		for i, t := range b.Tenants {
			if t != "*" && !slices.Contains(tenants, t) {
				e.add(index(field(p, "tenants"), i), "unknown tenant %q%s (or \"*\" for every tenant)", t, suggest(t, tenants))
			}
		}
	case RoleAuditor, RoleAdmin:
		if len(b.Tenants) > 0 {
			e.add(field(p, "tenants"), "role %s covers every tenant: remove tenants (or use role viewer or operator)", b.Role)
		}
	}
}

// isLoopbackHost reports whether host is localhost or a loopback IP.
func isLoopbackHost(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// IsLoopbackListen reports whether a listen address (host:port) accepts
// connections from this machine only. ":8080" and "0.0.0.0:8080" do not.
func IsLoopbackListen(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	return err == nil && isLoopbackHost(host)
}
