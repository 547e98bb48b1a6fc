package config

// Decryption names the private keys that decrypt SOPS-encrypted files
// (github.com/getsops/sops) read by a target. The keys are read when the
// daemon starts and live in memory only.
type Decryption struct {
	// AgeKeysFrom holds one or more age identities (AGE-SECRET-KEY-1...),
	// one per line; lines starting with "#" are ignored, as in an age key
	// file.
	AgeKeysFrom *SecretRef `json:"ageKeysFrom,omitempty"`
	// PGPKeysFrom holds one or more ASCII-armored OpenPGP private keys
	// (unprotected by a passphrase).
	PGPKeysFrom *SecretRef `json:"pgpKeysFrom,omitempty"`
}

// DecryptionFor returns the decryption keys of a target: its tenant's
// decryption when the tenant sets one (it replaces the source's, so a
// tenant's targets decrypt with the tenant's keys only), else its source's,
// else nil.
func (c *Config) DecryptionFor(target string) *Decryption {
	if tn := c.TenantOf(target); tn != nil && tn.Decryption != nil {
		return tn.Decryption
	}
	t, ok := c.Target(target)
	if !ok {
		return nil
	}
	for i := range c.Sources {
		if c.Sources[i].Name == t.Source {
			return c.Sources[i].Decryption
		}
	}
	return nil
}
