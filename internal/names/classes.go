package names

import (
	"errors"
	"slices"
)

type classInfo struct {
	exit int // 0: a span's only
	doc  string
}

// ExitCode is the exit code of a command that ends with an error of class c
// (for ClassInterrupted, 128: the signal's number is added to it); ok is
// false for a class a command never ends with (a drill's phase), and for a
// name that is not a class.
func ExitCode(c string) (code int, ok bool) {
	info := classes[c]
	return info.exit, info.exit != 0
}

// Doc says what class c means, from the dictionary; "" when c is not a
// class.
func Doc(c string) string { return classes[c].doc }

// Classes returns every error class, sorted.
func Classes() []string {
	cs := make([]string, 0, len(classes))
	for c := range classes {
		cs = append(cs, c)
	}
	slices.Sort(cs)
	return cs
}

// IsClass reports whether c is one of the dictionary's error classes.
func IsClass(c string) bool {
	_, ok := classes[c]
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
