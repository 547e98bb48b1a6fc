package main

import (
	"fmt"

	"github.com/trueup-dev/trueup/reconciler/config"
	"github.com/trueup-dev/trueup/sources/sops"
)

// decryptionKeys reads the SOPS keys of every source and tenant once and
// returns each target's keys (its tenant's decryption, else its source's).
func decryptionKeys(cfg *config.Config) (map[string]*sops.Keys, error) {
	parsed := map[*config.Decryption]*sops.Keys{}
	parse := func(path string, d *config.Decryption) error {
		if d == nil {
			return nil
		}
		var material [2][]byte
		for i, ref := range []*config.SecretRef{d.AgeKeysFrom, d.PGPKeysFrom} {
			if ref == nil {
				continue
			}
			v, err := ref.Resolve()
			if err != nil {
				return fmt.Errorf("%s.%s: %w", path, []string{"ageKeysFrom", "pgpKeysFrom"}[i], err)
			}
			material[i] = []byte(v.Reveal())
		}
		k, err := sops.ParseKeys(material[0], material[1])
		if err != nil {
			return fmt.Errorf("%s: %w", path, err)
		}
		parsed[d] = k
		return nil
	}
	for i := range cfg.Sources {
		if err := parse(fmt.Sprintf("sources[%d].decryption", i), cfg.Sources[i].Decryption); err != nil {
			return nil, err
		}
	}
	for i := range cfg.Tenants {
		if err := parse(fmt.Sprintf("tenants[%d].decryption", i), cfg.Tenants[i].Decryption); err != nil {
			return nil, err
		}
	}
	out := map[string]*sops.Keys{}
	for _, t := range cfg.Targets {
		if d := cfg.DecryptionFor(t.Name); d != nil {
			out[t.Name] = parsed[d]
		}
	}
	return out, nil
}
