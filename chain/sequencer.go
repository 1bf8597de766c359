package chain

import (
	"context"
	"errors"
	"fmt"
	"io"
	"path/filepath"
)

type sequencer struct {
	rep    *Report
	max    int
	head   *Head
	mapMin int64    // VerifyOptions.mapMin
	slow   bool     // VerifyOptions.slow
	sink   LineSink // VerifyOptions.Lines

	known    bool // last is a baseline for the next link check
	last     ref
	good     ref
	hasGood  bool
	alg      Alg
	prevFile string
	headSeen bool

	// What the sequencer keeps from file to file (the files of a rotated
	// chain are many and small): its own line tools and the alg they are
	// for, the buffer small files are read into, the chunk reader's
	// buffers and result slices, and the header line's result.
	h      *digester
	fs     *fastScratch
	hAlg   Alg
	whole  []byte
	free   chan []byte
	outs   chan []lineInfo
	hdrOut []lineInfo
}

func seqPtr(v uint64) *uint64 { return &v }

// ref is a record's place, kept cheaply for every line.
type ref struct {
	file      string
	line, off int64
	seq       uint64
	hash      Digest
}

// lastGood returns the last record that verified, or nil.
func (s *sequencer) lastGood() *RecordRef {
	if !s.hasGood {
		return nil
	}
	g := s.good
	return &RecordRef{File: g.file, Line: g.line, Offset: g.off, Seq: g.seq, Hash: g.hash.String()}
}

func (s *sequencer) addFinding(f Finding) { s.rep.add(f, s.max) }

func (r *Report) add(f Finding, max int) {
	r.Counts[f.Class]++
	if max > 0 && len(r.Findings) >= max {
		r.Suppressed++
		return
	}
	r.Findings = append(r.Findings, f)
}

// file verifies one file of the chain.
func (s *sequencer) file(ctx context.Context, in *input, last, first bool, workers int) error {
	// Buffers start at the input's size when it is small (most rotated
	// files), at a chunk when it is large, and grow from 256 KiB when the
	// size is unknown (stdin).
	br := s.chunkReader(in.r)
	switch {
	case in.size > 0 && in.size < chunkSize:
		br.bufSize = int(in.size) + 1
	case in.size >= chunkSize:
		br.bufSize = chunkSize + 64<<10
	}
	if m := mapFile(in, s.mapMin); m != nil {
		defer m.Close()
		br.mp, br.m = m, m.Bytes()
	} else if in.size > 0 && in.size <= chunkSize && s.mapMin >= 0 {
		// A small file (most rotated files) is read whole, into a buffer
		// kept from file to file.
		b, err := s.readWhole(in)
		if err != nil {
			return &ReadError{Path: in.name, Err: err}
		}
		if len(b) > 0 {
			br.m = b
		}
	}
	hline, herr := br.firstLine()
	if errors.Is(herr, errFault) {
		return &ReadError{Path: in.name, Err: herr}
	}
	if herr != nil && !errors.Is(herr, errNoNewline) && !errors.Is(herr, io.EOF) && !errors.Is(herr, errHeaderOversize) {
		return &ReadError{Path: in.name, Err: herr}
	}
	var hdr *HeaderData
	var hrec *record
	// The file's only line has no newline: a torn write when it is part of
	// a record, not when it is a whole one.
	unterminated := errors.Is(herr, errNoNewline)
	torn := unterminated && !wholeObject(hline)
	switch {
	case len(hline) == 0 && errors.Is(herr, io.EOF):
		s.addFinding(Finding{Class: HeaderProblem, File: in.name, Line: 1, Detail: "empty file: no header record"})
		s.known = false
		return nil
	case torn && last:
		s.addFinding(Finding{Class: TornTail, File: in.name, Line: 1, Detail: "the header line is torn (no newline): the file's creation was interrupted", LastGood: s.lastGood()})
		return nil
	case errors.Is(herr, errHeaderOversize):
		s.addFinding(Finding{Class: HeaderProblem, File: in.name, Line: 1, Detail: "the first line is over the size limit: no header record"})
		s.known = false
		s.feed(&job{})
	default:
		var err error
		hdr, hrec, err = parseHeader(hline)
		if torn {
			err, hdr = errors.New("the header line has no newline"), nil
		}
		if err != nil {
			s.addFinding(Finding{Class: HeaderProblem, File: in.name, Line: 1, Detail: shorten("bad header: " + err.Error()), LastGood: s.lastGood()})
			s.known = false
		}
	}
	alg := s.alg
	if alg == "" {
		alg = SHA256
	}
	if hdr != nil {
		alg = Alg(hdr.Alg)
		s.checkHeader(in.name, hdr, hrec, first)
		if s.alg == "" {
			s.alg, s.rep.Alg, s.rep.Chain = alg, alg, hdr.Chain
		}
	}
	if len(hline) > 0 && !torn {
		// Line 1 goes through the same checks as every other line, so a
		// deleted header still leaves its first record checked.
		j := &job{data: append(hline, '\n'), line: 1, unterminated: unterminated, out: s.hdrOut[:0]}
		j.process(s.tools(alg))
		s.hdrOut = j.out
		j.out[0].header = j.out[0].header && hdr != nil
		s.rep.Bytes += int64(len(hline))
		if !unterminated {
			s.rep.Bytes++
		}
		s.line(in.name, &j.out[0], j.msgOf(&j.out[0]))
		if unterminated {
			s.missingNewline(in.name, &j.out[0])
		}
		s.feed(j)
	}
	var err error
	if br.m != nil && len(br.m) <= chunkSize {
		// One chunk at most: nothing to share between workers, so the
		// lines are verified here, with no goroutine to start and no
		// hand-off.
		err = s.runHere(ctx, in.name, br, alg, last)
	} else {
		err = s.run(ctx, in.name, br, alg, workers, last)
	}
	s.prevFile = in.name
	return err
}

// readWhole reads in's file, whose size is known and at most a chunk, into
// the sequencer's buffer. A file that shrank since its snapshot gives what
// is left, as a stream would.
func (s *sequencer) readWhole(in *input) ([]byte, error) {
	if int64(cap(s.whole)) < in.size {
		s.whole = make([]byte, in.size, max(in.size, min(2*int64(cap(s.whole)), chunkSize)))
	}
	n, err := io.ReadFull(in.r, s.whole[:in.size])
	if err == io.EOF || err == io.ErrUnexpectedEOF {
		err = nil
	}
	return s.whole[:n], err
}

// chunkReader returns a chunk reader of r that takes its buffers from the
// sequencer's, which are kept from file to file.
func (s *sequencer) chunkReader(r io.Reader) *chunkReader {
	if s.free == nil {
		s.free = make(chan []byte, 16)
		s.outs = make(chan []lineInfo, 16)
	}
	return &chunkReader{r: r, bufSize: 256 << 10, free: s.free, outs: s.outs}
}

// tools returns the sequencer's own digester and fast-path scratch for alg,
// made once per chain: for header lines, the lines of small files and the
// rest of a chunk of short lines.
func (s *sequencer) tools(alg Alg) (*digester, *fastScratch) {
	if s.h == nil || s.hAlg != alg {
		s.h, s.fs = s.lineTools(alg)
		s.hAlg = alg
	}
	return s.h, s.fs
}

// checkHeader checks a header against the chain so far.
func (s *sequencer) checkHeader(name string, h *HeaderData, r *record, first bool) {
	bad := func(format string, args ...any) {
		seq := r.seq
		s.addFinding(Finding{Class: HeaderProblem, File: name, Line: 1, Seq: &seq, Detail: fmt.Sprintf(format, args...), LastGood: s.lastGood()})
	}
	if s.rep.Chain != "" && h.Chain != s.rep.Chain {
		bad("header names chain %q, the chain is %q", h.Chain, s.rep.Chain)
	}
	if s.alg != "" && Alg(h.Alg) != s.alg {
		bad("header names algorithm %s, the chain uses %s", h.Alg, s.alg)
	}
	if first {
		if h.Index != 0 || h.Continues != nil {
			s.addFinding(Finding{Class: MissingFile, File: name, Line: 1, Detail: fmt.Sprintf("this file is index %d of its chain; the files before it are missing", h.Index)})
			s.known = false
		} else if r.seq != 0 || !r.prev.IsZero() {
			bad("the first header of a chain must have seq 0 and an all-zero prev")
		}
		return
	}
	if h.Continues == nil {
		bad("header of index %d does not say which file it continues", h.Index)
		return
	}
	if s.prevFile != "" && h.Continues.File != filepath.Base(s.prevFile) {
		bad("header continues %q, but the previous file is %q", h.Continues.File, filepath.Base(s.prevFile))
	}
	if s.known && (h.Continues.Seq != s.last.seq || h.Continues.Hash != s.last.hash.String()) {
		bad("header continues seq %d hash %s, but the previous file ends at seq %d hash %s", h.Continues.Seq, h.Continues.Hash, s.last.seq, s.last.hash)
	}
}

// line applies the in-order checks to one line.
func (s *sequencer) line(file string, li *lineInfo, msg string) {
	// The common case first: a good record that links to the one before.
	if li.status == lineOK && s.known && li.prev == s.last.hash && li.seq == s.last.seq+1 &&
		(!li.header || li.line == 1) && (s.head == nil || s.headSeen || li.seq != s.head.Seq) {
		s.rep.Records++
		s.last = ref{file: file, line: li.line, off: li.off, seq: li.seq, hash: li.hash}
		s.good, s.hasGood = s.last, true
		return
	}
	cur := ref{file: file, line: li.line, off: li.off, seq: li.seq, hash: li.hash}
	f := Finding{File: file, Line: li.line, Offset: li.off}
	if li.status != lineOK || s.known && (li.prev != s.last.hash || li.seq != s.last.seq+1) {
		f.LastGood = s.lastGood()
	}
	switch li.status {
	case lineTorn:
		f.Class, f.Detail = TornTail, "the final line is torn (no newline): a write was interrupted"
		s.addFinding(f)
		return
	case lineOversize:
		f.Class, f.Detail = Malformed, msg
		s.addFinding(f)
		s.known = false
		return
	case lineMalformed:
		f.Class, f.Detail = Malformed, msg
		s.addFinding(f)
		s.known = false
		return
	case lineMismatch, lineLayoutBad:
		f.Class, f.Seq = Tampered, seqPtr(li.seq)
		f.Expected, f.Found = li.computed.String(), li.hash.String()
		f.Detail = "the record's hash does not match its bytes: the record was modified"
		if li.status == lineLayoutBad {
			f.Detail = "the record's hash does not match its bytes, and " + msg + "; it was re-serialised or edited"
		}
		s.addFinding(f)
		s.last, s.known = cur, true
		s.rep.Records++
		return
	case lineLayout:
		f.Class, f.Seq, f.Detail = Malformed, seqPtr(li.seq), msg
		s.addFinding(f)
		s.last, s.known = cur, true
		s.rep.Records++
		return
	}
	s.rep.Records++
	if li.header && li.line != 1 {
		f.Class, f.Seq, f.Detail = HeaderProblem, seqPtr(li.seq), "a header record in the middle of a file"
		s.addFinding(f)
	}
	if s.known {
		lastHash := s.last.hash
		switch {
		case li.prev == lastHash && li.seq == s.last.seq+1:
			// The normal case.
		case li.prev == lastHash:
			f.Class, f.Seq = SeqGap, seqPtr(li.seq)
			f.Expected, f.Found = fmt.Sprint(s.last.seq+1), fmt.Sprint(li.seq)
			f.Detail = "the link holds but seq does not follow the previous record's"
			s.addFinding(f)
		case li.hash == lastHash:
			f.Class, f.Seq = Duplicate, seqPtr(li.seq)
			f.Detail = fmt.Sprintf("the record repeats the previous one (line %d)", s.last.line)
			s.addFinding(f)
			return
		default:
			f.Class, f.Seq = BrokenLink, seqPtr(li.seq)
			f.Expected, f.Found = s.last.hash.String(), li.prev.String()
			switch {
			case li.seq > s.last.seq+1:
				f.Detail = fmt.Sprintf("prev does not link to the previous record; records with seq %d..%d are missing (deleted)", s.last.seq+1, li.seq-1)
			case li.seq == s.last.seq+1:
				f.Detail = "prev does not link to the previous record; a record before this one was replaced or inserted"
			default:
				f.Detail = fmt.Sprintf("prev does not link to the previous record; seq goes back from %d to %d (records reordered or inserted)", s.last.seq, li.seq)
			}
			s.addFinding(f)
		}
	}
	s.last, s.known = cur, true
	s.good, s.hasGood = cur, true
	if s.head != nil && !s.headSeen && li.seq == s.head.Seq {
		s.headSeen = true
		if li.hash == s.head.Hash {
			s.rep.HeadChecked = true
		} else {
			f.Class, f.Seq = HeadMismatch, seqPtr(li.seq)
			f.Expected, f.Found = s.head.Hash.String(), li.hash.String()
			f.Detail = "the record at the recorded head's seq has another hash: the chain was rewritten at or before this record"
			s.addFinding(f)
		}
	}
}

// missingNewline reports li, a file's final line, which lacks its newline,
// when it is a record that verified: nothing is wrong with it but the
// missing byte. (Any other problem of the line has its own finding.)
func (s *sequencer) missingNewline(file string, li *lineInfo) {
	if li.status != lineOK || s.good.line != li.line || s.good.file != file {
		return
	}
	s.addFinding(Finding{Class: MissingNewline, File: file, Line: li.line, Offset: li.off, Seq: seqPtr(li.seq),
		Detail:   "the final record verifies but the file does not end with its newline; nothing is lost: 'brain-audit repair' adds the newline",
		LastGood: s.lastGood()})
}

// wholeObject reports whether b begins with a whole JSON object. A write cut
// short leaves a proper prefix of a record line, which never does.
func wholeObject(b []byte) bool {
	_, ok := scanValue(b, 0, 0)
	return ok && len(b) > 0 && b[0] == '{'
}

func (s *sequencer) finish() {
	s.rep.Head = s.lastGood()
	if s.head != nil && !s.headSeen {
		f := Finding{Class: HeadMismatch, Detail: fmt.Sprintf("the recorded head seq %d is not in the chain: the tail was cut", s.head.Seq), Expected: s.head.String(), LastGood: s.lastGood()}
		if lg := s.lastGood(); lg != nil {
			f.File, f.Line, f.Offset = lg.File, lg.Line, lg.Offset
			f.Found = fmt.Sprintf("%d:%s", lg.Seq, lg.Hash)
			f.Detail = fmt.Sprintf("the chain ends at seq %d, before the recorded head seq %d: the tail was cut", lg.Seq, s.head.Seq)
		}
		s.addFinding(f)
	}
}
