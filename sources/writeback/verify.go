package writeback

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"reflect"

	kyaml "sigs.k8s.io/kustomize/kyaml/yaml"
	sigsyaml "sigs.k8s.io/yaml"
)

// errCheck says an edit did not come out as intended: the new text does
// not read back as the old one with exactly the one value changed. The
// edit is dropped; nothing half-done is ever returned.
var errCheck = fmt.Errorf("the edit does not read back as intended: %w", ErrUnsupported)

// checkEdit reads the document before and after an edit with yaml.v3 (as
// kustomize does) and with sigs.k8s.io/yaml (as kubectl and trueup's plain
// renderer do), and checks that the only difference is v at tokens.
func checkEdit(before, after []byte, tokens []string, v any, remove bool) error {
	old, err := decodeV3(before)
	if err != nil {
		return err
	}
	got, err := decodeV3(after)
	if err != nil {
		return errCheck
	}
	if !reflect.DeepEqual(applyValue(old, tokens, v, remove), got) {
		return errCheck
	}
	v3old := old
	old, err = decodeSigs(before)
	if err != nil || !reflect.DeepEqual(old, v3old) {
		// The second reader does not read this document, or reads it
		// differently already (YAML 1.1 booleans such as a key "n"):
		// its view of the path is not the one being edited.
		return nil
	}
	got, err = decodeSigs(after)
	if err != nil || !reflect.DeepEqual(applyValue(old, tokens, v, remove), got) {
		return errCheck
	}
	return nil
}

func decodeV3(b []byte) (any, error) {
	var v any
	err := kyaml.NewDecoder(bytes.NewReader(b)).Decode(&v)
	if err != nil && !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("parse yaml: %w", errors.Join(err, ErrInvalid))
	}
	return canon(v), nil
}

func decodeSigs(b []byte) (any, error) {
	j, err := sigsyaml.YAMLToJSON(b)
	if err != nil {
		return nil, err
	}
	dec := json.NewDecoder(bytes.NewReader(j))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, err
	}
	return canon(v), nil
}

// editDoc sets (or removes) the value at tokens in one document and checks
// the result.
func editDoc(b []byte, json bool, tokens []string, v any, remove bool) ([]byte, bool, error) {
	var out []byte
	found := true
	var err error
	if remove {
		out, found, err = removeIn(b, json, tokens)
	} else {
		out, err = setIn(b, json, tokens, v)
	}
	if err != nil || !found {
		return nil, found, err
	}
	if err := checkEdit(b, out, tokens, v, remove); err != nil {
		return nil, true, err
	}
	return out, true, nil
}
