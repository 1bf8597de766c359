package names

import (
	"errors"
	"slices"
	"strings"
)

// classInfo is one error class: its name, the exit code of a command that
// ends with it (0: a span's only) and what it means. The generated table,
// classes, holds them sorted by name: a constant array the linker lays out,
// so no program builds a table when it starts.
type classInfo struct {
	name string
	exit int
	doc  string
}

// lookup returns class c's entry of classes, and whether c is a class.
func lookup(c string) (classInfo, bool) {
	i, ok := slices.BinarySearchFunc(classes[:], c, func(e classInfo, c string) int { return strings.Compare(e.name, c) })
	if !ok {
		return classInfo{}, false
	}
	return classes[i], true
}

// ExitCode is the exit code of a command that ends with an error of class c
// (for ClassInterrupted, 128: the signal's number is added to it); ok is
// false for a class a command never ends with (a drill's phase), and for a
// name that is not a class.
func ExitCode(c string) (code int, ok bool) {
	info, _ := lookup(c)
	return info.exit, info.exit != 0
}

// Doc says what class c means, from the dictionary; "" when c is not a
// class.
func Doc(c string) string {
	info, _ := lookup(c)
	return info.doc
}

// Classes returns every error class, sorted.
func Classes() []string {
	cs := make([]string, len(classes))
	for i, info := range classes {
		cs[i] = info.name
	}
	return cs
}

// IsClass reports whether c is one of the dictionary's error classes.
func IsClass(c string) bool {
	_, ok := lookup(c)
	return ok
}

// A Classed error carries its class: one of the dictionary's error_types,
// which is the error.type of the span it fails and the error of its
// command's command.end record. The class never holds user content.
type Classed interface {
	error
	ErrorClass() string
}

// ClassOf is the class of the first Classed error in err's tree (the
// outermost: a wrapper says more than what it wraps), or ClassError when it
// has none.
func ClassOf(err error) string {
	if c, ok := Find(err); ok {
		return c
	}
	return ClassError
}

// Find is the class of the first Classed error in err's tree, and whether
// there is one.
func Find(err error) (class string, ok bool) {
	var c Classed
	if errors.As(err, &c) {
		return c.ErrorClass(), true
	}
	return "", false
}

// WithClass returns err with class c: ClassOf of it is c, its message is
// err's, and errors.Is and errors.As see err through it.
func WithClass(c string, err error) error { return &classed{c, err} }

type classed struct {
	class string
	err   error
}

func (e *classed) Error() string      { return e.err.Error() }
func (e *classed) Unwrap() error      { return e.err }
func (e *classed) ErrorClass() string { return e.class }
