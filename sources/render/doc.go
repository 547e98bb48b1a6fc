// Package render turns the files of one commit into the desired objects of
// a target, each with the file it came from.
//
// # Model
//
// Render takes the whole repository at one commit (a sources.Tree: every
// path relative to the repository root, content read on demand;
// sources.Files is one with every file read) and the target path, and
// returns a Result: the mode used, the objects in a deterministic order,
// and each object's origin. It reads only the files the target uses (its
// manifests, and what its kustomizations refer to), so the read limits of
// a source count those files and nothing else of the repository. It reads
// nothing but the tree: no disk, no network, no processes. It never logs
// and returns every failure as an error; a failed render is "unknown",
// never "nothing desired". The same commit always renders the same way, so
// errors are terminal, not retryable (except ErrRead, which wraps the
// reader's error); use errors.Is with ErrLimit, ErrInvalid, ErrDuplicate,
// ErrNotFound, ErrRemote, ErrUnsupported, ErrKustomize or ErrRead to tell
// them apart. File names that are not plain printable text are quoted in
// errors (sources.QuotePath), and no error carries a raw control
// character.
//
// A target path holding kustomization.yaml, kustomization.yml or
// Kustomization is built with kustomize (ModeKustomize). Any other
// directory is rendered plain (ModePlain): every .yaml, .yml and .json file
// under it, recursively, in lexical path order, each YAML file split into
// documents at lines holding only "---" (as kubectl does), empty and
// comment-only documents skipped, a JSON file read as one object, and list
// documents (a kind ending in "List" with an items array) expanded into
// their items. Files and directories whose name starts with "." (.git,
// .github, tool configuration) are skipped. A subdirectory holding a
// kustomization file is built with kustomize and its objects take the
// place of its files, as Flux does, instead of reading the kustomization
// file as a manifest. A target path naming a file renders that file (a
// kustomization file: its directory).
//
// A YAML mapping that holds a key twice is an error naming the file,
// document, key path and lines, as kustomize refuses it; the conversion to
// JSON would otherwise keep the last value silently. A folder holding a
// Chart.yaml is a Helm chart, which plain mode refuses (a chart is rendered
// with RenderHelm: targets[].render.helm) instead of reading its templates.
//
// Every object needs apiVersion, kind and metadata.name (generateName is
// refused with the reason: trueup finds an object again by its name).
// Two objects with
// the same group, kind, namespace (as written; defaulting happens later)
// and name are an error that names both origins.
//
// # Origins
//
// sources.Origin is the repository file and the zero-based index of the
// YAML document in it (documents are counted as a YAML parser does, empty
// ones included; the items of a list share their document's index). For
// kustomize the file is the resource file the object was read from (a base
// file, not the overlay), found with kustomize's own origin tracking; a
// generated object (configMapGenerator, secretGenerator) has the
// kustomization that configured the generator. Result.Kustomize adds what
// kustomize recorded: the resource file, the generator, and the
// transformers (patches, prefixes, labels, images, ...) with the
// kustomization that configured each, base before overlay, so a later step
// can tell a field set in a base from one set by an overlay's patch.
//
// Origin tracking changes kustomize's build (it adds annotations a patch
// can see), so the objects come from a build of the files exactly as
// committed, identical to `kubectl kustomize`, and the origins from a
// second build of the same files with tracking switched on, matched by
// object identity. Where kustomize lost an object's origin (a patch that
// replaces metadata.annotations drops it) the object is looked up by kind
// and name in the resource files of the build, and failing that its origin
// is the kustomization file.
//
// # Kustomize sandbox
//
// Before kustomize runs, the kustomization and everything it refers to is
// walked: resources, bases and components (recursively), patches,
// replacements, generators and their files, transformers, validators, crds,
// configurations and the OpenAPI schema. The walk refuses remote references
// (URLs, git addresses, GitHub shorthands: no network, no git), absolute
// paths, paths above the repository root, Helm charts, and plugins that are
// not kustomize builtins (no exec, Go or container functions). Only the
// files it admits are put into kustomize's in-memory filesystem, so a file
// the walk did not check cannot be read. Within the repository loading is
// not restricted to the kustomization's directory (LoadRestrictionsNone, as
// Flux does): an overlay may use ../../base and files beside it, but
// nothing outside the repository exists for kustomize. Builds are
// serialised because kustomize keeps process-wide state. One thing this
// package cannot stop: kustomize itself prints deprecation warnings
// (commonLabels, bases, vars, patchesStrategicMerge, patchesJson6902,
// imageTags) to standard error.
//
// # Limits
//
// Options bound a render: objects, total input bytes, bytes of one
// document, nesting depth and YAML aliases per document. Every YAML
// document, in plain mode and every file kustomize will parse (inline
// patches and plugin configurations included), is first parsed into a
// yaml.v3 node tree, which does not expand aliases, and measured with one
// memo entry per anchor: its expanded size, depth and alias count. Only
// then is it converted (sigs.k8s.io/yaml, as kubectl) or handed to
// kustomize. A "billion laughs" alias bomb or a deeply nested document is
// rejected in about the time it takes to read it, naming the file and
// document. Before kustomize runs, the objects and bytes the kustomization
// would build are bounded from the walk (a base listed twice counts twice),
// so kustomizations that include each other to multiply a small input are
// refused before kustomize does the work.
//
// # Helm charts
//
// RenderHelm renders a chart folder of the tree with the Helm library's
// template engine, as `helm template` does, without a cluster, network or
// helm binary: the chart's files (honouring .helmignore) are loaded from the
// tree and count against its read limits; dependencies must be vendored in
// charts/ (folders or .tgz archives), a dependency Chart.yaml lists and
// charts/ lacks is an error that says to run `helm dependency build`.
// Values are values.yaml, then the given values files in order, then the
// set values (strvals syntax, as --set and --set-string); dependency
// conditions, tags and import-values apply; Capabilities are helm
// template's defaults with the given kubeVersion and apiVersions. lookup
// fails with an error naming the call (helm template would return an
// empty object and render something the chart never installs); DNS
// functions return "". values.schema.json is not checked (its $refs may
// point at the network). The output is decoded like plain manifests: CRDs
// from crds/ first (when included), then the templates in path order, each
// object's origin the template file in the repository
// (<chart>/templates/deployment.yaml; a .tgz dependency's templates get
// the folder it would unpack to). NOTES.txt and partials are skipped.
// Objects annotated helm.sh/hook are left out and listed in Result.Hooks,
// unless ApplyHooks. Limits: the chart's files and the output count against
// MaxBytes, every document against the document limits, the template
// execution against HelmOptions.Timeout; Helm itself stops an include
// nested more than 1000 deep. The Helm engine cannot be interrupted: in
// process, after the timeout the render fails and its goroutine is left to
// finish, burning CPU and memory. A program that calls EnableHelmSandbox
// (trueup's main does) runs the templates in a worker process of its own
// executable instead (IsHelmWorker, RunHelmWorker): the worker is killed
// when the timeout passes, when its output passes MaxBytes, or when the
// render's context ends, and exits by itself when its memory passes
// MaxTemplateMemory; each is an ErrLimit error that says the chart recurses
// or bombs its output.
//
// # Helm post-render
//
// HelmOptions.PostRender runs a kustomization over a chart's objects, as
// Flux's postRenderers and Argo CD's Helm-with-kustomize do. The chart's
// objects (hooks already set aside) are written, as one file named
// PostRenderOutput, next to the kustomization file in kustomize's
// in-memory filesystem and put first in its resources; the kustomization
// (which must not list that file) is walked and sandboxed like any other,
// so its patches, images, labels, namespace and replicas apply to the
// chart's objects and its own resources are added; unless ApplyHooks, a
// hook among them is set aside like the chart's. The same budget bounds
// the chart and the post-render: the output replaces the chart's objects
// in the object count, the written chart output counts against MaxBytes.
// A chart object keeps its template as its origin; Result.Kustomize lists
// the transformers of the post-render it went through (kustomize records
// the kustomization file, not a patch file). Origins are found as for
// kustomize targets: a second build marks each chart object with its index
// and tracks origins; an object whose mark a patch dropped is looked up
// among the chart's objects by kind and name.
//
// WriteYAML prints objects the way `kustomize build` does, for `trueup
// render`.
package render
