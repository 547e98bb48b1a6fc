// Package auth authenticates the users of the daemon's pages and API and
// decides what each may see and do.
//
// An Authenticator finds the User of a request: a bearer token checked by a
// cluster's TokenReview API (TokenReview, whose answers are cached briefly
// under the token's SHA-256, never the token), or a browser session started
// by an OpenID Connect login. A Chain asks several in turn.
//
// A Policy maps a user to an Access from the config's role bindings, by
// user name and group. Roles: viewer (view the targets of its bound
// tenants), operator (viewer, and act on them), auditor (view every target
// and all history, never act), admin (everything). Targets outside any
// tenant are for auditors and admins only. Access.Allow answers one
// question (may this user do this verb on a target of that tenant?) and
// says, when not, which role or tenant is missing; a binding with
// maskValues masks every drifted value (MaskFields, MaskJSON) of the
// targets it grants.
//
// The Gate is the HTTP middleware: every request but the open ones needs a
// user with a role (401 without credentials or with bad ones, 503 when they
// cannot be checked, 403 without a role), and handlers read the user's
// Access with FromContext.
package auth
