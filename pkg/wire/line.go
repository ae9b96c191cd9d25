package wire

import (
	"bufio"
	"io"
)

// excerptLen bounds the start of an over-long line that LineReader returns
// with ErrLineTooLong: enough to recognise it in a log message.
const excerptLen = 200

// A LineReader reads the protocol's lines, each at most MaxLine bytes with
// its newline, from one connection. Both ends read through one: the
// collector its workers' lines, a worker its collector's answers.
//
// A line is read into the LineReader's buffer and returned from there, so
// reading allocates nothing; a line cut by a read deadline is kept and
// completed by the next call instead.
//
// A LineReader is not safe for concurrent use.
type LineReader struct {
	br *bufio.Reader
	// partial is the start of a line that a read error (a deadline) cut;
	// the next call completes it.
	partial []byte
	// discarding is set after ErrLineTooLong until the over-long line's
	// newline has been read.
	discarding bool
}

// NewLineReader returns a LineReader reading from r.
func NewLineReader(r io.Reader) *LineReader {
	return &LineReader{br: bufio.NewReaderSize(r, MaxLine)}
}

// Next returns the next line, newline included. The line is valid until the
// next call.
//
// A line longer than MaxLine is reported as soon as it passes the limit,
// with ErrLineTooLong and the line's start (a few hundred bytes at most) for
// a log message; the next call skips the rest of it, up to and including its
// newline, and returns the line after it.
//
// Any other error is the underlying reader's. The line then holds what was
// read of an unfinished line, nothing when the error fell between lines; the
// next call goes on where the error stopped, so a line cut by a read
// deadline is completed once the deadline is moved.
func (lr *LineReader) Next() ([]byte, error) {
	for lr.discarding {
		_, err := lr.br.ReadSlice('\n')
		switch err {
		case nil:
			lr.discarding = false
		case bufio.ErrBufferFull:
		default:
			return nil, err
		}
	}
	chunk, err := lr.br.ReadSlice('\n')
	// MaxLine bytes without a newline (a full buffer, err ErrBufferFull)
	// are too long whatever follows.
	if n := len(lr.partial) + len(chunk); n > MaxLine || n == MaxLine && err != nil {
		lr.discarding = err != nil
		return lr.excerpt(chunk), ErrLineTooLong
	}
	if err != nil {
		lr.partial = append(lr.partial, chunk...)
		return lr.partial, err
	}
	if len(lr.partial) == 0 {
		return chunk, nil
	}
	line := append(lr.partial, chunk...)
	lr.partial = line[:0]
	return line, nil
}

// excerpt returns the start of the over-long line that ends in chunk and
// forgets the rest of it.
func (lr *LineReader) excerpt(chunk []byte) []byte {
	if len(lr.partial) == 0 {
		return chunk[:min(len(chunk), excerptLen)]
	}
	ex := lr.partial[:min(len(lr.partial), excerptLen)]
	ex = append(ex, chunk[:min(len(chunk), excerptLen-len(ex))]...)
	lr.partial = ex[:0]
	return ex
}

// Buffered is the number of bytes that Next can use without reading from the
// underlying reader.
func (lr *LineReader) Buffered() int { return lr.br.Buffered() }
