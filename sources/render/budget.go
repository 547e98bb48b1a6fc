package render

import "github.com/trueup-dev/trueup/sources"

// budget counts what one render has consumed against its Options.
type budget struct {
	opt      Options
	bytes    int64 // raw bytes of the files read
	expanded int64 // bytes of the documents after alias expansion
	objects  int
}

func newBudget(opt Options) *budget {
	return &budget{opt: opt.withDefaults()}
}

// read accounts for reading one file of n bytes.
func (b *budget) read(file string, n int) error {
	b.bytes += int64(n)
	if b.bytes > b.opt.MaxBytes {
		return errorf(ErrLimit, "%s: input exceeds %d bytes", sources.QuotePath(file), b.opt.MaxBytes)
	}
	return nil
}

// expand accounts for a document whose expanded size is n.
func (b *budget) expand(id string, n int64) error {
	b.expanded += n
	if b.expanded > b.opt.MaxBytes {
		return errorf(ErrLimit, "%s: input expands to more than %d bytes", id, b.opt.MaxBytes)
	}
	return nil
}

// add accounts for n more objects.
func (b *budget) add(id string, n int) error {
	b.objects += n
	if b.objects > b.opt.MaxObjects {
		return errorf(ErrLimit, "%s: more than %d objects", id, b.opt.MaxObjects)
	}
	return nil
}
