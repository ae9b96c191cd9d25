package store

import (
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math"
)

// Cursor is a position in a sorted client list: the sort key and id of the
// last row of a page. The next page is the rows after it in the same order,
// found through the index that serves the order (keyset pagination), so a
// page 500,000 rows deep costs what the first does, where an OFFSET walks
// and drops every row before it.
//
// A cursor belongs to one sort order; it is not bound to a filter: under
// another filter it continues with the rows after the same key that match
// that filter. Rows inserted or updated while a client pages through appear
// or not according to their key, as in any keyset walk; none is returned
// twice and none that stays put is skipped.
type Cursor struct {
	sort Sort
	key  any // string, int64, []byte or float64 as the sort's kind says; nil for NULL
	id   int64
}

// keyKind is the SQL type of a sort expression, which says how a cursor
// carries its key.
type keyKind uint8

const (
	keyText keyKind = iota // fixed-width UTC times
	keyInt
	keyBlob // client_ip_bytes
	keyReal // means; may be NULL
)

// cursorJSON is the cursor's form inside its base64url text. The version
// lets a later format refuse an old cursor with a clear error.
type cursorJSON struct {
	V    int             `json:"v"`
	Sort SortField       `json:"s"`
	Desc bool            `json:"d,omitempty"`
	Key  json.RawMessage `json:"k"`
	ID   int64           `json:"i"`
}

// String encodes c as the opaque text the API hands out.
func (c Cursor) String() string {
	var k []byte
	switch v := c.key.(type) {
	case nil:
		k = []byte("null")
	case []byte:
		k, _ = json.Marshal(hex.EncodeToString(v))
	default:
		k, _ = json.Marshal(v)
	}
	b, _ := json.Marshal(cursorJSON{V: 1, Sort: c.sort.field(), Desc: c.sort.Desc, Key: k, ID: c.id})
	return base64.RawURLEncoding.EncodeToString(b)
}

// ParseCursor decodes a cursor that String made. The error, which wraps
// ErrBadCursor, says what is wrong in words an API client can act on.
func ParseCursor(s string) (Cursor, error) {
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil || len(b) == 0 {
		return Cursor{}, fmt.Errorf("%w: not a cursor this API handed out", ErrBadCursor)
	}
	var cj cursorJSON
	if err := json.Unmarshal(b, &cj); err != nil {
		return Cursor{}, fmt.Errorf("%w: not a cursor this API handed out", ErrBadCursor)
	}
	if cj.V != 1 {
		return Cursor{}, fmt.Errorf("%w: cursor format %d is not this collector's (1); start again without a cursor", ErrBadCursor, cj.V)
	}
	col, ok := sortColumns[cj.Sort]
	if !ok {
		return Cursor{}, fmt.Errorf("%w: unknown sort field %q", ErrBadCursor, cj.Sort)
	}
	c := Cursor{sort: Sort{Field: cj.Sort, Desc: cj.Desc}, id: cj.ID}
	if string(cj.Key) == "null" {
		if !col.nullable {
			return Cursor{}, fmt.Errorf("%w: sort %s has no empty keys", ErrBadCursor, cj.Sort)
		}
		return c, nil
	}
	bad := fmt.Errorf("%w: its key does not fit sort %s", ErrBadCursor, cj.Sort)
	switch col.kind {
	case keyText:
		var v string
		if json.Unmarshal(cj.Key, &v) != nil {
			return Cursor{}, bad
		}
		c.key = v
	case keyInt:
		var v int64
		if json.Unmarshal(cj.Key, &v) != nil {
			return Cursor{}, bad
		}
		c.key = v
	case keyBlob:
		var v string
		if json.Unmarshal(cj.Key, &v) != nil {
			return Cursor{}, bad
		}
		raw, err := hex.DecodeString(v)
		if err != nil || len(raw) != 16 {
			return Cursor{}, bad
		}
		c.key = raw
	case keyReal:
		var v float64
		if json.Unmarshal(cj.Key, &v) != nil || math.IsNaN(v) || math.IsInf(v, 0) {
			return Cursor{}, bad
		}
		c.key = v
	}
	return c, nil
}

// cursorAt makes the cursor of a row from the key its query selected.
func cursorAt(order Sort, key any, id int64) *Cursor {
	return &Cursor{sort: order, key: key, id: id}
}

// Continues reports, as an error wrapping ErrBadCursor, a cursor used with
// another order than its own; nil when it continues order.
func (c Cursor) Continues(order Sort) error {
	if c.sort.field() == order.field() && c.sort.Desc == order.Desc {
		return nil
	}
	dir := func(s Sort) string {
		if s.Desc {
			return "desc"
		}
		return "asc"
	}
	return fmt.Errorf("%w: it continues sort %s %s, not %s %s; send that sort with it, or start again without a cursor",
		ErrBadCursor, c.sort.field(), dir(c.sort), order.field(), dir(order))
}
