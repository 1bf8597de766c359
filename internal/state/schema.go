package state

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strconv"
	"time"

	"github.com/ncruces/go-sqlite3"
)

// migrations returns the schema migrations in order: migration i brings the
// schema from version i to version i+1 (PRAGMA user_version). Released
// migrations are never edited; a schema change is a new one at the end.
func migrations() []string {
	return []string{
		// Version 1: plans, tasks, transitions.
		`PRAGMA application_id = ` + strconv.Itoa(applicationID) + `;
		CREATE TABLE plans (
			id          INTEGER PRIMARY KEY AUTOINCREMENT,
			sha256      TEXT NOT NULL,
			path        TEXT NOT NULL,
			goal_sha256 TEXT NOT NULL,
			created_at  TEXT NOT NULL
		) STRICT;
		CREATE TABLE tasks (
			plan_id         INTEGER NOT NULL REFERENCES plans (id),
			task_id         TEXT NOT NULL,
			position        INTEGER NOT NULL,
			title           TEXT NOT NULL,
			state           TEXT NOT NULL
				CHECK (state IN ('pending', 'running', 'passed', 'failed', 'error')),
			attempts        INTEGER NOT NULL DEFAULT 0 CHECK (attempts >= 0),
			artifact_sha256 TEXT NOT NULL DEFAULT '',
			updated_at      TEXT NOT NULL,
			PRIMARY KEY (plan_id, task_id)
		) STRICT;
		CREATE TABLE transitions (
			id         INTEGER PRIMARY KEY AUTOINCREMENT,
			plan_id    INTEGER NOT NULL,
			task_id    TEXT NOT NULL,
			from_state TEXT NOT NULL,
			to_state   TEXT NOT NULL,
			at         TEXT NOT NULL,
			audit_seq  INTEGER NOT NULL,
			audit_hash TEXT NOT NULL,
			FOREIGN KEY (plan_id, task_id) REFERENCES tasks (plan_id, task_id)
		) STRICT;
		CREATE INDEX transitions_by_plan ON transitions (plan_id, id);`,
	}
}

// migrate brings the schema of conn up to date. It returns ErrSchemaTooNew
// for a database written by a newer program.
func migrate(conn *sqlite3.Conn) error {
	ms := migrations()
	v, err := userVersion(conn)
	if err != nil || v == len(ms) {
		return err
	}
	if err := conn.Exec("BEGIN IMMEDIATE"); err != nil {
		return err
	}
	err = func() error {
		// Another connection may have migrated while this one waited.
		v, err := userVersion(conn)
		switch {
		case err != nil:
			return err
		case v > len(ms):
			return fmt.Errorf("%w (version %d, this program knows up to %d)", ErrSchemaTooNew, v, len(ms))
		}
		for _, m := range ms[v:] {
			if err := conn.Exec(m); err != nil {
				return err
			}
		}
		return conn.Exec("PRAGMA user_version = " + strconv.Itoa(len(ms)))
	}()
	if err != nil {
		return rollback(conn, err)
	}
	if err := conn.Exec("COMMIT"); err != nil {
		return rollback(conn, err)
	}
	return nil
}

// userVersion returns the schema version of conn's database.
func userVersion(conn *sqlite3.Conn) (int, error) {
	var v int
	err := query(conn, "PRAGMA user_version", nil, func(st *sqlite3.Stmt) error {
		v = st.ColumnInt(0)
		return nil
	})
	return v, err
}

// rollback ends conn's open transaction, if any, and returns cause joined
// with any error of the rollback itself.
func rollback(conn *sqlite3.Conn, cause error) error {
	if conn.GetAutocommit() {
		return cause // SQLite already rolled back (as it does on some I/O errors)
	}
	// Roll back even when the connection's context is done.
	old := conn.SetInterrupt(context.Background())
	defer conn.SetInterrupt(old)
	if err := conn.Exec("ROLLBACK"); err != nil {
		return errors.Join(cause, fmt.Errorf("state: rollback failed: %w", err))
	}
	return cause
}

// run runs one SQL statement with args bound in order: string, int64 or int.
func run(conn *sqlite3.Conn, sql string, args ...any) error {
	return query(conn, sql, args, nil)
}

// query runs one SQL statement with args bound in order and calls row, when
// not nil, for each result row.
func query(conn *sqlite3.Conn, sql string, args []any, row func(*sqlite3.Stmt) error) error {
	st, _, err := conn.Prepare(sql)
	if err != nil {
		return err
	}
	defer st.Close()
	if err := bind(st, args...); err != nil {
		return err
	}
	for st.Step() {
		if row != nil {
			if err := row(st); err != nil {
				return err
			}
		}
	}
	return st.Err()
}

// bind binds args to st's parameters in order: string, int64 or int.
func bind(st *sqlite3.Stmt, args ...any) error {
	for i, a := range args {
		var err error
		switch v := a.(type) {
		case string:
			err = st.BindText(i+1, v)
		case int64:
			err = st.BindInt64(i+1, v)
		case int:
			err = st.BindInt64(i+1, int64(v))
		default:
			panic(fmt.Sprintf("state: cannot bind a %T", a)) // a bug in this package
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// formatTime is how times are stored: RFC 3339 in UTC with nanoseconds.
func formatTime(t time.Time) string {
	return t.UTC().Format(time.RFC3339Nano)
}

// parseTime reads a time stored by formatTime.
func parseTime(s string) (time.Time, error) {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Time{}, fmt.Errorf("state: bad stored time %q: %w", s, err)
	}
	return t, nil
}

// lowSpace is the free space under which an I/O error is reported with the
// free space of the database's file system.
const lowSpace = 1 << 20

// explainIOError adds the free space of the file system that holds the
// database at path to an SQLite I/O error when that space is low: SQLite
// reports a write that failed for want of space as a plain I/O error.
func explainIOError(err error, path string) error {
	if !errors.Is(err, sqlite3.IOERR) && !errors.Is(err, sqlite3.FULL) {
		return err
	}
	if free, ok := freeBytes(filepath.Dir(path)); ok && free < lowSpace {
		return fmt.Errorf("%w (the file system of %q is full: %d bytes free)", err, path, free)
	}
	return err
}
