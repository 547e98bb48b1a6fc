package config

// validateDecryption checks sources[].decryption and tenants[].decryption:
// each names at least one key reference, and each reference is a valid
// SecretRef.
func validateDecryption(e *errs, c *Config) {
	for i := range c.Sources {
		decryption(e, field(index("sources", i), "decryption"), c.Sources[i].Decryption)
	}
	for i := range c.Tenants {
		decryption(e, field(index("tenants", i), "decryption"), c.Tenants[i].Decryption)
	}
}

func decryption(e *errs, p string, d *Decryption) {
	if d == nil {
		return
	}
	if d.AgeKeysFrom == nil && d.PGPKeysFrom == nil {
		e.add(p, "set ageKeysFrom or pgpKeysFrom (or remove decryption)")
		return
	}
	secretRef(e, field(p, "ageKeysFrom"), d.AgeKeysFrom)
	secretRef(e, field(p, "pgpKeysFrom"), d.PGPKeysFrom)
}
