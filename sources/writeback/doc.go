// Package writeback writes the live values of drifted fields back into
// the Git files they came from, for targets whose drift mode is
// pull-request. It is the pure part of "drift to pull request": given the
// files of a target at a commit and a drifted object, Edit returns the
// edited files and, per change, which file and line it touched and how, so
// that the pull request can say so. Committing, pushing and opening the
// pull request are the caller's.
//
// Where a value goes. In a plain target (YAML or JSON manifests, several
// documents to a file, Lists) the value is set in the document that
// defines the object, found by kind, group, name and namespace (a document
// without a namespace is in the target's default namespace). In a
// kustomize target the value goes where it takes effect: the package walks
// the kustomization graph (resources, bases and components by relative
// path; patchesStrategicMerge, patchesJson6902 and patches from files or
// inline; namePrefix, nameSuffix and namespace), and edits what sets the
// field last, searching from the target's kustomization down: a replicas
// or images entry, a strategic-merge patch naming the object (list items
// matched by their merge keys: containers by name, ports by port, ...), a
// JSON 6902 operation on the field or a parent of it (its value is edited),
// and finally the resource file, which may lie in a base other targets
// share (Applied.Shared says so). When nothing sets the field, a patch
// file is added to the target's kustomization and listed under patches:
// strategic-merge when every list on the way has a merge key, JSON 6902
// otherwise. Later changes to the same object go into that same file.
//
// How a value is written. kyaml (yaml.v3) parses each document; its nodes
// give the positions at which the new value is spliced into the text, so
// comments, key order, quoting, indentation, blank lines and the other
// documents of the file stay byte for byte. Re-encoding a document with
// kyaml would lose blank lines and normalise indentation; splicing changes
// only the lines of the field. A scalar keeps its quoting style; new keys
// and items follow the document's indentation and sequence style; a JSON
// file gets JSON. After every edit the document is read back with both
// yaml.v3 and sigs.k8s.io/yaml and must equal the old one with exactly the
// one value changed; otherwise the change fails with ErrUnsupported rather
// than write something unintended.
//
// What is refused. Secret objects and masked values (ErrSecret): live
// Secret values never reach Git. Identity fields, status and the
// last-applied annotation (ErrPath). Paths leaving the repository
// (ErrOutside). Files encrypted with SOPS (ErrEncrypted): decrypted
// values never reach Git. Values made by generators, or labels and annotations a
// kustomization sets on every object (ErrUnsupported). Edit is all or
// nothing, never writes outside the target's files and kustomization
// graph (plus the new patch in the target's directory), and its errors
// name the object, the path and the file, never a value.
package writeback
