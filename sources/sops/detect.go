package sops

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"path"
	"strings"

	yaml "go.yaml.in/yaml/v3"
)

// Format is how a SOPS file is stored.
type Format string

const (
	FormatYAML   Format = "yaml"
	FormatJSON   Format = "json"
	FormatDotenv Format = "dotenv"
	FormatINI    Format = "ini"
)

// IsEncrypted reports whether data carries SOPS metadata, and in which
// format: a YAML or JSON document whose top level holds a sops mapping with
// a mac (or key groups), a dotenv file with a sops_mac= line, or an INI
// file with a [sops] section. The name only decides between YAML and JSON.
func IsEncrypted(name string, data []byte) (Format, bool) {
	if !bytes.Contains(data, []byte("sops")) {
		return "", false // the cheap test every ordinary file takes
	}
	if yamlHasMetadata(data) {
		if path.Ext(name) == ".json" {
			return FormatJSON, true
		}
		return FormatYAML, true
	}
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(nil, len(data)+1)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		switch {
		case strings.HasPrefix(line, "sops_mac="):
			return FormatDotenv, true
		case line == "[sops]":
			return FormatINI, true
		}
	}
	return "", false
}

// metadataKeys are members only SOPS metadata has.
var metadataKeys = []string{"mac", "key_groups", "age", "pgp", "kms", "gcp_kms", "azure_kv", "hc_vault", "lastmodified"}

// yamlHasMetadata reports whether some YAML (or JSON) document of data has
// a top-level sops mapping with a SOPS metadata member.
func yamlHasMetadata(data []byte) bool {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	for {
		var doc yaml.Node
		err := dec.Decode(&doc)
		if errors.Is(err, io.EOF) || err != nil {
			return false // not YAML: the renderer reports it
		}
		if len(doc.Content) == 0 || doc.Content[0].Kind != yaml.MappingNode {
			continue
		}
		m := doc.Content[0].Content
		for i := 0; i+1 < len(m); i += 2 {
			if m[i].Value != "sops" || m[i+1].Kind != yaml.MappingNode {
				continue
			}
			meta := m[i+1].Content
			for j := 0; j+1 < len(meta); j += 2 {
				for _, k := range metadataKeys {
					if meta[j].Value == k {
						return true
					}
				}
			}
		}
	}
}
