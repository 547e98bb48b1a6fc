// Package sops reads SOPS-encrypted files (github.com/getsops/sops) of a
// source: it finds them, decrypts them in memory with age or OpenPGP keys
// the caller holds in memory, and checks their integrity (the SOPS MAC).
//
// # Model
//
// Keys are parsed once from the key material a config names (ParseKeys):
// age identities, one per line, and ASCII-armored OpenPGP private keys.
// Nothing is read from the environment, the user's sops or gpg folders or
// any key file, and nothing is written: decryption goes through a SOPS key
// service that knows only those keys, and refuses every other key type
// (KMS, Vault, ...) so no cloud is ever called.
//
// NewTree wraps a sources.Tree. Reading a file through it returns the file
// unchanged unless it carries SOPS metadata (IsEncrypted: a YAML or JSON
// document with a top-level sops mapping holding a mac, a dotenv file with
// sops_mac=, an INI file with a [sops] section), in which case it returns
// the plaintext, or an error when no key decrypts it (ErrNoKey, naming the
// recipients the file is encrypted for), the MAC does not match
// (ErrIntegrity), or the format cannot be decrypted here (ErrUnsupported:
// INI and binary files). A renderer reading through the tree so never sees
// ciphertext, and a render of an encrypted file without a key fails instead
// of applying ciphertext. Decrypted lists the files that were decrypted.
//
// Only Kubernetes Secrets may come from decrypted files: every output of
// trueup (diffs, drift reports, history, Slack, pages, previews) masks
// Secret values where the diff is computed, so a decrypted Secret is masked
// everywhere by construction. MarkObjects sets Origin.Decrypted on the
// objects read from decrypted files and refuses any that is not a core
// Secret, and any decrypted file no object was read from (a patch or a
// generator input of a kustomization, whose decrypted values could reach a
// non-Secret object).
//
// No error of this package carries a decrypted value or key material.
package sops
