// Package state keeps the orchestrator's state — plans, tasks and their
// transitions — in an SQLite database encrypted at rest.
//
// The database is opened through the "adiantum" VFS of
// github.com/ncruces/go-sqlite3, which encrypts every 4 KiB block of the
// database and of its write-ahead log with Adiantum under a key stretched from
// the state key with Argon2id. A missing key, a wrong key and a file that is
// not a state database are typed errors (ErrNoKey, ErrWrongKey,
// ErrNotDatabase); a database is created only when asked (Options.Create) and
// only where no file exists.
//
// Every change goes through Store.Transition: the change is made in a
// transaction, the audit record is appended, and only then is the
// transaction committed; a failed audit write rolls the change back.
//
// The schema, the key handling and what the encryption hides are described
// in docs/state.md.
package state

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/ncruces/go-sqlite3"
	_ "github.com/ncruces/go-sqlite3/vfs/adiantum" // registers the "adiantum" VFS

	"github.com/brain-dev/brain/internal/fsutil"
)

// applicationID marks an SQLite database as a BRAIN state store ("BRAI").
const applicationID = 0x42524149

// blockSize is the adiantum VFS's encryption block; an encrypted database is
// always a whole number of blocks.
const blockSize = 4096

// defaultBusyTimeout is how long a statement waits for another connection's
// lock when Options.BusyTimeout is 0.
const defaultBusyTimeout = 5 * time.Second

// Options configure Open.
type Options struct {
	// Create makes Open create a new database when no file exists at the path.
	// An existing file is never replaced, whatever it holds.
	Create bool

	// BusyTimeout is how long a statement waits for a lock held by another
	// connection or process; 0 means 5 seconds.
	BusyTimeout time.Duration

	// Now returns the time stamped on plans, tasks and transitions; nil means
	// time.Now.
	Now func() time.Time
}

// Store is an open state database. Its methods are safe for concurrent use;
// they are serialised on one connection. Several Stores, in one process or in
// several, may open the same file: SQLite's locking keeps them consistent.
type Store struct {
	mu   sync.Mutex
	conn *sqlite3.Conn // nil once closed
	path string
	now  func() time.Time
	// onClose, when set, runs once the connection is closed (OpenSnapshot
	// removes its copy).
	onClose func()
}

// Open opens the encrypted state database at path with key.
//
// Open returns ErrNoKey for an empty key, ErrWrongKey when the file does not
// decrypt with key, ErrNotDatabase for a file that is plainly not an
// encrypted state database, and an error wrapping fs.ErrNotExist when path
// does not exist and opts.Create is false. On any of these errors the file is
// left untouched. Open applies pending schema migrations.
func Open(ctx context.Context, path string, key Key, opts Options) (*Store, error) {
	if key.text == "" {
		return nil, ErrNoKey
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, fmt.Errorf("state: %w", err)
	}
	if opts.Create {
		if err := create(abs, key, opts); err != nil {
			return nil, err
		}
	}
	if err := precheck(abs); err != nil {
		return nil, err
	}
	conn, err := openConn(abs, key, opts, false)
	if err != nil {
		return nil, err
	}
	if err := migrate(conn); err != nil {
		conn.Close()
		return nil, fmt.Errorf("state: migrating %q: %w", abs, err)
	}
	privatize(abs)
	now := opts.Now
	if now == nil {
		now = time.Now
	}
	return &Store{conn: conn, path: abs, now: now}, nil
}

// Close closes the store. Closing a closed store does nothing.
func (s *Store) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.conn == nil {
		return nil
	}
	err := s.conn.Close()
	s.conn = nil
	if s.onClose != nil {
		s.onClose()
	}
	if err != nil {
		return fmt.Errorf("state: closing %q: %w", s.path, err)
	}
	return nil
}

// create makes a new database at path unless a file is there. It builds the
// database under a temporary name and links it into place, so path never
// holds a half-made database and a file created meanwhile by another process
// is kept.
func create(path string, key Key, opts Options) error {
	if _, err := os.Lstat(path); !errors.Is(err, fs.ErrNotExist) {
		return nil // an existing file (or an error precheck will report)
	}
	var rnd [8]byte
	rand.Read(rnd[:])
	tmp := path + ".creating-" + hex.EncodeToString(rnd[:])
	defer os.Remove(tmp)
	// SQLite would create the file 0666 less the umask: create it private
	// first (an empty file is an empty database).
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return fmt.Errorf("state: creating %q: %w", path, unwrapPathError(err))
	}
	f.Close()
	conn, err := openConn(tmp, key, opts, true)
	if err != nil {
		return err
	}
	err = migrate(conn)
	if cerr := conn.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("state: creating %q: %w", path, err)
	}
	if err := os.Link(tmp, path); err != nil && !errors.Is(err, fs.ErrExist) {
		return fmt.Errorf("state: creating %q: %w", path, unwrapPathError(err))
	}
	return syncDir(filepath.Dir(path))
}

// privatize takes group and other access away from the database's -wal and
// -shm files, which SQLite creates 0666 less the umask whenever the first
// connection opens the database (they exist once a connection is open).
// The -wal file is encrypted and the -shm file holds no row data; this
// keeps every file of the workspace private all the same.
func privatize(path string) {
	for _, suffix := range []string{"-wal", "-shm"} {
		// SQLite opened them without following a link (OPEN_NOFOLLOW);
		// Lstat keeps chmod off a link that replaced one since.
		if fi, err := os.Lstat(path + suffix); err == nil && fi.Mode().IsRegular() && fi.Mode().Perm()&0o077 != 0 {
			os.Chmod(path+suffix, fi.Mode().Perm()&0o700)
		}
	}
}

// syncDir makes a new directory entry durable.
func syncDir(dir string) error {
	if err := fsutil.SyncDir(dir); err != nil {
		return fmt.Errorf("state: syncing directory %q: %w", dir, unwrapPathError(err))
	}
	return nil
}

// precheck refuses, without decrypting, files that cannot be an encrypted
// state database, and a symbolic link at path: it is never followed.
func precheck(path string) error {
	f, err := fsutil.OpenFile(path, os.O_RDONLY|fsutil.NoFollow, 0)
	var nre *fsutil.NotRegularError
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return fmt.Errorf("state: no state database at %q (create one with Options.Create): %w", path, fs.ErrNotExist)
	case errors.As(err, &nre):
		return fmt.Errorf("%w: %q %s", ErrNotDatabase, path, nre.Reason())
	case err != nil:
		return fmt.Errorf("state: opening %q: %w", path, unwrapPathError(err))
	}
	defer f.Close()
	info, err := f.Stat()
	if err != nil {
		return fmt.Errorf("state: opening %q: %w", path, unwrapPathError(err))
	}
	switch {
	case info.Size() == 0:
		return fmt.Errorf("%w: %q is empty", ErrNotDatabase, path)
	case info.Size()%blockSize != 0:
		return fmt.Errorf("%w: %q is not a whole number of %d-byte blocks", ErrNotDatabase, path, blockSize)
	}
	var magic [16]byte
	if _, err := io.ReadFull(f, magic[:]); err != nil {
		return fmt.Errorf("state: reading %q: %w", path, unwrapPathError(err))
	}
	if string(magic[:]) == "SQLite format 3\x00" {
		return fmt.Errorf("%w: %q is an unencrypted SQLite database", ErrNotDatabase, path)
	}
	return nil
}

// openConn opens one connection to the database at the absolute path,
// creating the file if create is set, and checks that it decrypts with key.
func openConn(path string, key Key, opts Options, create bool) (*sqlite3.Conn, error) {
	// OPEN_NOFOLLOW: a symbolic link at path is refused; the VFS opens
	// the -wal, -shm and -journal files O_NOFOLLOW too.
	flags := sqlite3.OPEN_READWRITE | sqlite3.OPEN_URI | sqlite3.OPEN_NOFOLLOW
	if create {
		flags |= sqlite3.OPEN_CREATE
	}
	uri := (&url.URL{Scheme: "file", Path: filepath.ToSlash(path), RawQuery: "vfs=adiantum"}).String()
	conn, err := sqlite3.OpenFlags(uri, flags)
	if err != nil {
		return nil, fmt.Errorf("state: opening %q: %w", path, err)
	}
	if err := setup(conn, path, key, opts, create); err != nil {
		conn.Close()
		return nil, err
	}
	return conn, nil
}

// setup gives a new connection its key and settings. The key goes in a
// PRAGMA, not the URI, so the VFS never exposes it as a URI parameter.
func setup(conn *sqlite3.Conn, path string, key Key, opts Options, create bool) error {
	if conn.Exec("PRAGMA textkey="+sqlite3.Quote(key.text)) != nil {
		// The SQLite error may quote the statement, key included: drop it.
		return fmt.Errorf("state: setting the state key of %q failed", path)
	}
	timeout := opts.BusyTimeout
	if timeout == 0 {
		timeout = defaultBusyTimeout
	}
	if err := conn.BusyTimeout(timeout); err != nil {
		return fmt.Errorf("state: opening %q: %w", path, err)
	}
	// The first read of the database decrypts its header and schema.
	var appID int64
	err := query(conn, "PRAGMA application_id", nil, func(st *sqlite3.Stmt) error {
		appID = st.ColumnInt64(0)
		return nil
	})
	switch {
	case errors.Is(err, sqlite3.NOTADB):
		return fmt.Errorf("%w: %q", ErrWrongKey, path)
	case err != nil:
		return fmt.Errorf("state: reading %q: %w", path, err)
	case appID != applicationID && !create:
		return fmt.Errorf("%w: %q is an SQLite database of another application", ErrNotDatabase, path)
	}
	err = conn.Exec(`PRAGMA journal_mode = WAL;
		PRAGMA synchronous = FULL;
		PRAGMA temp_store = MEMORY;
		PRAGMA foreign_keys = ON;`)
	if err != nil {
		return fmt.Errorf("state: setting up %q: %w", path, err)
	}
	return nil
}

// do runs f on the store's connection, interrupted when ctx is done.
func (s *Store) do(ctx context.Context, f func(*sqlite3.Conn) error) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.conn == nil {
		return ErrClosed
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	s.conn.SetInterrupt(ctx)
	defer s.conn.SetInterrupt(context.Background())
	return f(s.conn)
}
