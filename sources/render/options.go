package render

// Default limits. They are generous for real repositories and small enough
// that a hostile commit cannot exhaust the memory of the daemon.
const (
	DefaultMaxObjects  = 10000
	DefaultMaxBytes    = 64 << 20
	DefaultMaxDocBytes = 4 << 20
	DefaultMaxDepth    = 256
	DefaultMaxAliases  = 1000
)

// Options bounds one render. A zero or negative field means its default;
// there is no way to turn a limit off.
type Options struct {
	// MaxObjects is the most objects a render may produce.
	MaxObjects int
	// MaxBytes is the most bytes of input a render may read, counted once as
	// the raw size of the files read and once as their size after YAML alias
	// expansion.
	MaxBytes int64
	// MaxDocBytes is the largest one YAML or JSON document may be, raw and
	// after YAML alias expansion.
	MaxDocBytes int64
	// MaxDepth is the deepest nesting of maps and lists in one document.
	MaxDepth int
	// MaxAliases is the most YAML aliases (*name) in one document.
	MaxAliases int
	// MaxTemplateMemory is the most memory a Helm template worker may hold
	// (EnableHelmSandbox); templates rendered in process are bounded in
	// time and output only.
	MaxTemplateMemory int64

	// lastKeyWins keeps the last of a mapping's duplicate keys instead of
	// refusing the document: a chart's template output, which Helm itself
	// reads that way (files in Git are refused, as kustomize does).
	lastKeyWins bool
	// helmSandbox, when set, overrides the sandbox EnableHelmSandbox set
	// (an empty Command: templates run in process).
	helmSandbox *HelmSandbox
}

// DefaultOptions returns the default limits.
func DefaultOptions() Options {
	return Options{
		MaxObjects:  DefaultMaxObjects,
		MaxBytes:    DefaultMaxBytes,
		MaxDocBytes: DefaultMaxDocBytes,
		MaxDepth:    DefaultMaxDepth,
		MaxAliases:  DefaultMaxAliases,

		MaxTemplateMemory: DefaultMaxTemplateMemory,
	}
}

// withDefaults replaces every zero or negative limit with its default.
func (o Options) withDefaults() Options {
	d := DefaultOptions()
	if o.MaxObjects <= 0 {
		o.MaxObjects = d.MaxObjects
	}
	if o.MaxBytes <= 0 {
		o.MaxBytes = d.MaxBytes
	}
	if o.MaxDocBytes <= 0 {
		o.MaxDocBytes = d.MaxDocBytes
	}
	if o.MaxDepth <= 0 {
		o.MaxDepth = d.MaxDepth
	}
	if o.MaxAliases <= 0 {
		o.MaxAliases = d.MaxAliases
	}
	if o.MaxTemplateMemory <= 0 {
		o.MaxTemplateMemory = d.MaxTemplateMemory
	}
	return o
}
