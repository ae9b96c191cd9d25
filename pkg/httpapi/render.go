package httpapi

import (
	"database/sql"
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/ntp-monitor/ntp-monitor/pkg/store"
	"github.com/ntp-monitor/ntp-monitor/pkg/wire"
)

// A client row is written by hand, not through encoding/json: an export
// writes a million of them. Its columns are the store's client row
// (store.ClientColumns, then store.DerivedColumns), so the JSON, NDJSON and
// CSV forms have the same columns in the same order with the same names,
// and a column added to the store appears in all three.
type column struct {
	name string
	// appendJSON appends the JSON value; appendCSV the CSV field (empty for
	// null). Both are nil-free.
	appendJSON func(b []byte, c *store.Client) []byte
	appendCSV  func(b []byte, c *store.Client) []byte
}

func intCol(name string, get func(*store.Client) int64) column {
	f := func(b []byte, c *store.Client) []byte { return strconv.AppendInt(b, get(c), 10) }
	return column{name, f, f}
}

func nullIntCol(name string, get func(*store.Client) sql.NullInt64) column {
	return column{name,
		func(b []byte, c *store.Client) []byte {
			v := get(c)
			if !v.Valid {
				return append(b, "null"...)
			}
			return strconv.AppendInt(b, v.Int64, 10)
		},
		func(b []byte, c *store.Client) []byte {
			v := get(c)
			if !v.Valid {
				return b
			}
			return strconv.AppendInt(b, v.Int64, 10)
		}}
}

func appendFloat(b []byte, v float64) []byte {
	return strconv.AppendFloat(b, v, 'f', -1, 64)
}

func validFloat(v float64, ok bool) bool { return ok && !math.IsNaN(v) && !math.IsInf(v, 0) }

func floatCol(name string, get func(*store.Client) (float64, bool)) column {
	return column{name,
		func(b []byte, c *store.Client) []byte {
			v, ok := get(c)
			if !validFloat(v, ok) {
				return append(b, "null"...)
			}
			return appendFloat(b, v)
		},
		func(b []byte, c *store.Client) []byte {
			v, ok := get(c)
			if !validFloat(v, ok) {
				return b
			}
			return appendFloat(b, v)
		}}
}

func nullFloatCol(name string, get func(*store.Client) sql.NullFloat64) column {
	return floatCol(name, func(c *store.Client) (float64, bool) { v := get(c); return v.Float64, v.Valid })
}

func plainFloatCol(name string, get func(*store.Client) float64) column {
	return floatCol(name, func(c *store.Client) (float64, bool) { return get(c), true })
}

func strCol(name string, get func(*store.Client) (string, bool)) column {
	return column{name,
		func(b []byte, c *store.Client) []byte {
			s, ok := get(c)
			if !ok {
				return append(b, "null"...)
			}
			return wire.AppendString(b, s)
		},
		func(b []byte, c *store.Client) []byte {
			s, ok := get(c)
			if !ok {
				return b
			}
			return appendCSVText(b, s)
		}}
}

func nullStrCol(name string, get func(*store.Client) sql.NullString) column {
	return strCol(name, func(c *store.Client) (string, bool) { v := get(c); return v.String, v.Valid })
}

func textCol(name string, get func(*store.Client) string) column {
	return strCol(name, func(c *store.Client) (string, bool) { return get(c), true })
}

// appendCSVText appends a text column's field, neutralised against formula
// injection as OWASP advises: a spreadsheet runs a field that starts with
// =, +, -, @, a tab or a carriage return as a formula, and a reference ID
// or KoD code is whatever a forged NTP packet carried (=1+1 fits in four
// bytes). Such a field is prefixed with a single quote, which spreadsheets
// take as "this is text", and quoted. Numeric columns are never prefixed:
// a negative precision or latency stays a number.
func appendCSVText(b []byte, s string) []byte {
	if s == "" || !strings.ContainsRune("=+-@\t\r", rune(s[0])) {
		return appendCSVField(b, s)
	}
	return appendCSVQuoted(append(b, '"', '\''), s)
}

// appendCSVField quotes s per RFC 4180 when it holds a comma, quote, CR or
// LF, or starts with a space.
func appendCSVField(b []byte, s string) []byte {
	if s == "" || !strings.ContainsAny(s, ",\"\r\n") && s[0] != ' ' && s[0] != '\t' {
		return append(b, s...)
	}
	return appendCSVQuoted(append(b, '"'), s)
}

// appendCSVQuoted appends s with its quotes doubled, and the closing quote.
func appendCSVQuoted(b []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		if s[i] == '"' {
			b = append(b, '"')
		}
		b = append(b, s[i])
	}
	return append(b, '"')
}

// clientColumns renders the store's columns, then the derived ones.
var clientColumns = func() []column {
	var cols []column
	for _, sc := range store.ClientColumns() {
		cols = append(cols, storedColumn(sc))
	}
	for _, d := range store.DerivedColumns() {
		cols = append(cols, floatCol(d.Name, d.Value))
	}
	return cols
}()

// storedColumn chooses a stored column's writers by the type of its field,
// once: rendering a row then asserts the type it already knows.
func storedColumn(sc store.Column) column {
	switch sc.Value(&store.Client{}).(type) {
	case *int64:
		return intCol(sc.Name, func(c *store.Client) int64 { return *sc.Value(c).(*int64) })
	case *sql.NullInt64:
		return nullIntCol(sc.Name, func(c *store.Client) sql.NullInt64 { return *sc.Value(c).(*sql.NullInt64) })
	case *float64:
		return plainFloatCol(sc.Name, func(c *store.Client) float64 { return *sc.Value(c).(*float64) })
	case *sql.NullFloat64:
		return nullFloatCol(sc.Name, func(c *store.Client) sql.NullFloat64 { return *sc.Value(c).(*sql.NullFloat64) })
	case *string:
		return textCol(sc.Name, func(c *store.Client) string { return *sc.Value(c).(*string) })
	case *sql.NullString:
		return nullStrCol(sc.Name, func(c *store.Client) sql.NullString { return *sc.Value(c).(*sql.NullString) })
	}
	panic(fmt.Sprintf("httpapi: column %s: no renderer for a %T field", sc.Name, sc.Value(&store.Client{})))
}

// jsonKeys holds each column's `"name":` prefix, with the separating comma
// for all but the first.
var jsonKeys = func() []string {
	k := make([]string, len(clientColumns))
	for i, col := range clientColumns {
		sep := ","
		if i == 0 {
			sep = "{"
		}
		k[i] = sep + strconv.Quote(col.name) + ":"
	}
	return k
}()

// appendClientJSON appends c as one JSON object.
func appendClientJSON(b []byte, c *store.Client) []byte {
	for i, col := range clientColumns {
		b = append(b, jsonKeys[i]...)
		b = col.appendJSON(b, c)
	}
	return append(b, '}')
}

// appendCSVHeader appends the header line.
func appendCSVHeader(b []byte) []byte {
	for i, col := range clientColumns {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, col.name...)
	}
	return append(b, '\r', '\n')
}

// appendClientCSV appends c as one CSV record, CRLF-terminated as RFC 4180
// has it.
func appendClientCSV(b []byte, c *store.Client) []byte {
	for i, col := range clientColumns {
		if i > 0 {
			b = append(b, ',')
		}
		b = col.appendCSV(b, c)
	}
	return append(b, '\r', '\n')
}
