package checkpoint

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"golang.org/x/mod/sumdb/note"

	"github.com/brain-dev/brain/chain"
)

// WitnessOptions configure Witness.
type WitnessOptions struct {
	// URL is the witness's submission prefix: checkpoints are POSTed to
	// URL/add-checkpoint (c2sp.org/tlog-witness).
	URL string
	// Witness verifies the witness's cosignatures (ParseWitness). Required.
	Witness note.Verifier
	// Verifiers, when set, choose the checkpoint submitted: the latest
	// stored one signed by one of them (default: the latest stored one).
	Verifiers note.Verifiers
	// Client makes the requests (default: a client with a 30-second
	// timeout).
	Client *http.Client
	// Now is the clock of the stored entry's ts (default time.Now).
	Now func() time.Time
	// Workers hash the chain in parallel for the consistency proof.
	Workers int
}

// Witnessed is a checkpoint a witness cosigned.
type Witnessed struct {
	Checkpoint Checkpoint
	// Note is the checkpoint with the witness's cosignatures, as stored.
	Note []byte
	// Old is the size of the witness's previous checkpoint of the log,
	// from which the consistency proof was sent.
	Old uint64
	// Store is the checkpoint file the cosigned checkpoint was added to.
	Store string
}

// WitnessError reports a witness that refused a checkpoint, or answered
// what the protocol does not allow.
type WitnessError struct {
	URL string
	// Status is the HTTP status of the answer (0: no valid answer).
	Status int
	Reason string
}

func (e *WitnessError) Error() string {
	if e.Status == 0 {
		return fmt.Sprintf("checkpoint: witness %s: %s", e.URL, e.Reason)
	}
	return fmt.Sprintf("checkpoint: witness %s refused the checkpoint (HTTP %d): %s", e.URL, e.Status, e.Reason)
}

// maxWitnessReply bounds what is read of a witness's answer.
const maxWitnessReply = 64 << 10

// Witness submits the latest stored checkpoint of the chain whose active
// file is active to a witness (c2sp.org/tlog-witness add-checkpoint), with
// the consistency proof from the witness's previous checkpoint of the log,
// verifies the cosignature it returns and stores the cosigned checkpoint
// as a new entry of the checkpoint file. The witness's previous size is the
// largest this file has a cosignature of the witness for, or what the
// witness answers (409 Conflict) when it differs. A witness that refuses (a
// fork, a checkpoint older than the one it cosigned, an unknown log or key)
// is a *WitnessError.
func Witness(ctx context.Context, active string, opts WitnessOptions) (*Witnessed, error) {
	if opts.Witness == nil {
		return nil, errors.New("checkpoint: no witness key")
	}
	// The cosigned checkpoint is kept beside the chain: where that cannot
	// be written, nothing is submitted.
	if err := chain.Writable(); err != nil {
		return nil, fmt.Errorf("checkpoint: %w", err)
	}
	if opts.Client == nil {
		opts.Client = &http.Client{Timeout: 30 * time.Second}
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	path := StorePath(active)
	latest, err := Latest(path, LatestOptions{Verifiers: opts.Verifiers})
	if err != nil {
		return nil, err
	}
	old := lastCosigned(path, opts.Witness)
	if old > latest.Checkpoint.Size {
		old = 0 // a stale local record: the witness says which size it has
	}
	url := strings.TrimSuffix(opts.URL, "/") + "/add-checkpoint"
	for range 3 {
		var hashes []Hash
		if old > 0 && old < latest.Checkpoint.Size {
			if hashes, err = consistencyHashes(ctx, active, old, latest.Checkpoint, opts.Workers); err != nil {
				return nil, err
			}
		}
		body := (&Consistency{Old: old, Hashes: hashes, Checkpoint: latest.Note}).Marshal()
		status, reply, err := post(ctx, opts.Client, url, body)
		if err != nil {
			return nil, &WitnessError{URL: opts.URL, Reason: err.Error()}
		}
		switch status {
		case http.StatusOK:
			return storeCosigned(path, latest, reply, old, opts)
		case http.StatusConflict:
			known, err := parseSize(strings.TrimSuffix(string(reply), "\n"))
			if err != nil || !bytes.HasSuffix(reply, []byte{'\n'}) {
				return nil, &WitnessError{URL: opts.URL, Status: status, Reason: "409 Conflict without the witness's tree size in its body"}
			}
			if known > latest.Checkpoint.Size {
				return nil, &WitnessError{URL: opts.URL, Status: status, Reason: fmt.Sprintf("the witness has cosigned a checkpoint of this log of size %d, larger than this one (%d): this checkpoint is older than what the witness saw, or the log was cut", known, latest.Checkpoint.Size)}
			}
			if known == old {
				return nil, &WitnessError{URL: opts.URL, Status: status, Reason: fmt.Sprintf("409 Conflict for the size it says it has (%d)", known)}
			}
			old = known
			continue
		}
		return nil, &WitnessError{URL: opts.URL, Status: status, Reason: refusal(status, reply, old, latest.Checkpoint)}
	}
	return nil, &WitnessError{URL: opts.URL, Reason: "the witness's tree size kept changing (3 conflicts in a row)"}
}

// refusal explains a witness's refusal by its status (c2sp.org/tlog-witness).
func refusal(status int, reply []byte, old uint64, c Checkpoint) string {
	var why string
	switch status {
	case http.StatusNotFound:
		why = fmt.Sprintf("the witness does not know the log %q (its operator adds the origin and the log's verifier key)", c.Origin)
	case http.StatusForbidden:
		why = fmt.Sprintf("the witness does not trust the key that signed the checkpoint for the log %q, or does not know the log (its operator adds the log's origin and verifier key)", c.Origin)
	case http.StatusBadRequest:
		why = "the witness took the request for a bad one"
	case http.StatusUnprocessableEntity:
		if old == c.Size {
			why = fmt.Sprintf("the witness has another root for size %d: two histories of the log (a fork)", old)
		} else {
			why = fmt.Sprintf("this checkpoint (size %d) does not extend the one the witness cosigned (size %d): a fork, or a rewritten log", c.Size, old)
		}
	default:
		why = "unexpected answer"
	}
	if msg := strings.TrimSpace(string(reply)); msg != "" && len(msg) < 200 && isPrintable(msg) {
		why += " (the witness says: " + msg + ")"
	}
	return why
}

func isPrintable(s string) bool {
	for _, r := range s {
		if r < ' ' || r == 0x7f {
			return false
		}
	}
	return true
}

// post sends body to url and returns the status and the answer, read up to
// maxWitnessReply bytes.
func post(ctx context.Context, c *http.Client, url string, body []byte) (int, []byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return 0, nil, err
	}
	req.Header.Set("Content-Type", "text/plain; charset=utf-8")
	resp, err := c.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	reply, err := readAllLimited(resp.Body, maxWitnessReply)
	if err != nil {
		return 0, nil, fmt.Errorf("reading the answer: %v", err)
	}
	return resp.StatusCode, reply, nil
}

// storeCosigned checks the witness's cosignature lines and stores the
// checkpoint with them.
func storeCosigned(path string, latest *Stored, reply []byte, old uint64, opts WitnessOptions) (*Witnessed, error) {
	if len(reply) == 0 || !bytes.HasSuffix(reply, []byte{'\n'}) || !bytes.HasPrefix(reply, []byte("— ")) {
		return nil, &WitnessError{URL: opts.URL, Status: http.StatusOK, Reason: "the answer is not note signature lines"}
	}
	n, err := note.Open(append(latest.Note[:len(latest.Note):len(latest.Note)], reply...), note.VerifierList(opts.Witness))
	if err != nil || len(n.Sigs) == 0 {
		return nil, &WitnessError{URL: opts.URL, Status: http.StatusOK, Reason: "no valid cosignature by the witness key given in its answer"}
	}
	// Only the witness's own cosignatures are kept.
	cosigned := append([]byte(nil), latest.Note...)
	for _, s := range n.Sigs {
		line := fmt.Sprintf("— %s %s\n", s.Name, s.Base64)
		if !bytes.Contains(cosigned, []byte(line)) {
			cosigned = append(cosigned, line...)
		}
	}
	st, err := openStore(path)
	if err != nil {
		return nil, fmt.Errorf("checkpoint: %w", err)
	}
	defer st.close()
	if _, err := st.last(); err != nil {
		return nil, err
	}
	if err := st.append(Entry{Time: opts.Now(), Note: cosigned}); err != nil {
		return nil, fmt.Errorf("checkpoint: %w", err)
	}
	return &Witnessed{Checkpoint: latest.Checkpoint, Note: cosigned, Old: old, Store: path}, nil
}

// lastCosigned returns the largest size of a checkpoint of the file at
// path that w cosigned, or 0.
func lastCosigned(path string, w note.Verifier) uint64 {
	var size uint64
	readLocked(path, func(sl storeLine) error {
		if sl.data == nil || !bytes.Contains(sl.data, []byte(w.Name())) {
			return nil
		}
		e, err := parseEntry(sl.data)
		if err != nil {
			return nil
		}
		n, err := note.Open(e.Note, note.VerifierList(w))
		if err != nil {
			return nil
		}
		if c, err := ParseCheckpoint([]byte(n.Text)); err == nil && c.Size > size {
			size = c.Size
		}
		return nil
	})
	return size
}
