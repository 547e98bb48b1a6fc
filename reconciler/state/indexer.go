package state

import (
	"fmt"

	"github.com/hashicorp/go-memdb"
)

// stringIndex indexes the string a function reads from a *T, encoded as
// memdb's StringFieldIndex does (the bytes and a NUL), without reflection.
// Unlike StringFieldIndex it indexes empty strings too, so the core group
// "" takes part in the kind index.
type stringIndex[T any] func(*T) string

var (
	_ memdb.SingleIndexer = stringIndex[Object](nil)
	_ memdb.PrefixIndexer = stringIndex[Object](nil)
)

func (x stringIndex[T]) FromObject(obj any) (bool, []byte, error) {
	o, ok := obj.(*T)
	if !ok {
		return false, nil, fmt.Errorf("index: want %T, got %T", (*T)(nil), obj)
	}
	return true, encodeString(x(o), true), nil
}

func (x stringIndex[T]) FromArgs(args ...any) ([]byte, error) {
	s, err := stringArg(args)
	if err != nil {
		return nil, err
	}
	return encodeString(s, true), nil
}

func (x stringIndex[T]) PrefixFromArgs(args ...any) ([]byte, error) {
	s, err := stringArg(args)
	if err != nil {
		return nil, err
	}
	return encodeString(s, false), nil
}

func stringArg(args []any) (string, error) {
	if len(args) != 1 {
		return "", fmt.Errorf("index: want 1 argument, got %d", len(args))
	}
	s, ok := args[0].(string)
	if !ok {
		return "", fmt.Errorf("index: want a string argument, got %T", args[0])
	}
	return s, nil
}

func encodeString(s string, terminate bool) []byte {
	b := make([]byte, len(s), len(s)+1)
	copy(b, s)
	if terminate {
		b = append(b, 0)
	}
	return b
}

// unlessIndex leaves out the objects skip selects (the index schema must
// allow missing values) and indexes the rest as stringIndex does.
type unlessIndex[T any] struct {
	skip func(*T) bool
	stringIndex[T]
}

func (x *unlessIndex[T]) FromObject(obj any) (bool, []byte, error) {
	if o, ok := obj.(*T); ok && x.skip(o) {
		return false, nil, nil
	}
	return x.stringIndex.FromObject(obj)
}

// openIndex indexes an episode by target and object while it is open
// (open or acknowledged), and leaves closed episodes out.
type openIndex struct {
	memdb.CompoundIndex
}

func (x *openIndex) FromObject(obj any) (bool, []byte, error) {
	e, ok := obj.(*Episode)
	if !ok {
		return false, nil, fmt.Errorf("index: want *state.Episode, got %T", obj)
	}
	if !e.Status.IsOpen() {
		return false, nil, nil
	}
	return x.CompoundIndex.FromObject(obj)
}
