// Package auth authenticates the users of the daemon's pages and API and
// decides what each may see and do.
//
// An Authenticator finds the User of a request: a bearer token checked by a
// cluster's TokenReview API, or a browser session started by an OpenID
// Connect login. Roles (viewer, operator, auditor, admin) come from the
// config's role bindings, by user name and group; viewers and operators see
// only the targets of the tenants they are bound to.
package auth
