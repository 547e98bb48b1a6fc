package sops

import "errors"

var (
	// ErrNoKey: the file is SOPS-encrypted and none of the keys given
	// decrypts it (or no keys were given).
	ErrNoKey = errors.New("no key decrypts the file")
	// ErrIntegrity: the file decrypts but its MAC does not match: it was
	// changed after it was encrypted.
	ErrIntegrity = errors.New("integrity check failed")
	// ErrUnsupported: a SOPS file in a format trueup does not decrypt, or
	// decrypted content trueup does not accept (a non-Secret object).
	ErrUnsupported = errors.New("unsupported SOPS file")
	// ErrInvalid: malformed SOPS metadata or key material.
	ErrInvalid = errors.New("invalid SOPS file or key")
)
