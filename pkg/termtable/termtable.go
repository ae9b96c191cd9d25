package termtable

import (
	"fmt"
	"io"
	"strings"
	"unicode/utf8"
)

// Align is how a column's cells are placed within its width.
type Align int

// Alignments.
const (
	Left  Align = iota // text: addresses, names, codes
	Right              // figures: counts, durations, percentages
)

// Gap separates adjacent columns.
const Gap = "  "

// Column is one column's header and alignment.
type Column struct {
	Header string
	Align  Align
}

// Table collects rows and writes them aligned. The zero value has no
// columns; make one with New.
type Table struct {
	cols []Column
	rows [][]string
}

// New returns an empty table with the given columns.
func New(cols ...Column) *Table {
	return &Table{cols: cols}
}

// Row adds a row. It panics when the number of cells differs from the number
// of columns: that is a mistake in the caller's code, not in its data.
func (t *Table) Row(cells ...string) {
	if len(cells) != len(t.cols) {
		panic(fmt.Sprintf("termtable: row of %d cells in a table of %d columns", len(cells), len(t.cols)))
	}
	t.rows = append(t.rows, cells)
}

// Len is the number of rows added.
func (t *Table) Len() int { return len(t.rows) }

// WriteTo writes the header and the rows, each line ending in "\n".
func (t *Table) WriteTo(w io.Writer) (int64, error) {
	widths := make([]int, len(t.cols))
	for i, c := range t.cols {
		widths[i] = utf8.RuneCountInString(c.Header)
	}
	for _, r := range t.rows {
		for i, cell := range r {
			widths[i] = max(widths[i], utf8.RuneCountInString(cell))
		}
	}
	var b strings.Builder
	var l strings.Builder
	line := func(cells []string) {
		l.Reset()
		for i, cell := range cells {
			if i > 0 {
				l.WriteString(Gap)
			}
			pad := strings.Repeat(" ", widths[i]-utf8.RuneCountInString(cell))
			if t.cols[i].Align == Right {
				l.WriteString(pad)
				l.WriteString(cell)
			} else {
				l.WriteString(cell)
				l.WriteString(pad)
			}
		}
		b.WriteString(strings.TrimRight(l.String(), " "))
		b.WriteByte('\n')
	}
	headers := make([]string, len(t.cols))
	for i, c := range t.cols {
		headers[i] = c.Header
	}
	line(headers)
	for _, r := range t.rows {
		line(r)
	}
	n, err := io.WriteString(w, b.String())
	return int64(n), err
}
