package store

import (
	"context"
	"fmt"
	"net/netip"
	"slices"
)

// Page selects one page of a list. Without After it is page Number
// (counting from 1) of Size rows, found by OFFSET: a deep page walks every
// row before it. With After it is the Size rows after that cursor, found
// through the order's index whatever the depth, and Number is ignored.
type Page struct {
	Number int
	Size   int
	After  *Cursor
}

// ListClients returns one page of the clients that match f in order s, and
// the cursor of the page's last row when more rows follow (nil at the end).
// A page past the end is empty, not an error. The total is CountClients'
// business: callers that page through one filter can count once.
func (s *Store) ListClients(ctx context.Context, f ClientFilter, order Sort, p Page) ([]Client, *Cursor, error) {
	if p.Size < 1 || p.After == nil && p.Number < 1 {
		return nil, nil, fmt.Errorf("store: invalid page %d of size %d", p.Number, p.Size)
	}
	col, err := order.column()
	if err != nil {
		return nil, nil, err
	}
	var l keyedList
	if p.After == nil {
		err = s.listOffset(ctx, &l, f, order, col, p)
	} else {
		err = s.listAfter(ctx, &l, f, order, col, p)
	}
	if err != nil {
		return nil, nil, fmt.Errorf("store: list clients: %w", err)
	}
	return l.page(order, p.Size)
}

// keyedList collects rows with the sort key each was selected with, which
// the next page's cursor carries. A query asks for one row more than the
// page: its presence says that more follow.
type keyedList struct {
	rows []Client
	keys []any
}

func (l *keyedList) page(order Sort, size int) ([]Client, *Cursor, error) {
	if len(l.rows) <= size {
		return l.rows, nil, nil
	}
	last := size - 1
	return l.rows[:size], cursorAt(order, l.keys[last], l.rows[last].ID), nil
}

// queryKeyed runs q, which selects clientSelect and then the sort key, and
// appends its rows.
func (s *Store) queryKeyed(ctx context.Context, l *keyedList, q string, args ...any) error {
	rows, err := s.ReadDB().QueryContext(ctx, q, args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	var c Client
	var key any
	dest := append(c.scanArgs(), &key)
	for rows.Next() {
		if err := rows.Scan(dest...); err != nil {
			return fmt.Errorf("scan client: %w", err)
		}
		if k, ok := key.([]byte); ok {
			key = append([]byte(nil), k...) // the driver reuses the buffer
		}
		l.rows = append(l.rows, c)
		l.keys = append(l.keys, key)
	}
	return rows.Err()
}

// listOffset is the page-number form: the inner query walks only the index
// that serves the order and reads table rows for the page alone, which
// keeps moderately deep pages cheap, but it still steps over every row
// before the page.
func (s *Store) listOffset(ctx context.Context, l *keyedList, f ClientFilter, order Sort, col sortColumn, p Page) error {
	orderBy, err := order.orderBy()
	if err != nil {
		return err
	}
	where, args := f.where()
	offset := int64(p.Number-1) * int64(p.Size)
	q := "SELECT " + clientSelect + ", " + col.expr + " FROM ntp_clients WHERE id IN (SELECT id FROM ntp_clients" +
		where + orderBy + " LIMIT ? OFFSET ?)" + orderBy
	return s.queryKeyed(ctx, l, q, append(args, p.Size+1, offset)...)
}

// listAfter is the keyset form. Rows with a key come first in either
// direction and rows without one (NULL: a client with no latency yet) last,
// so a nullable order is walked in two ranges, each served by an index on
// the key, whose entries SQLite orders by (key, rowid): the keys after the
// cursor's (a comparison with a non-NULL key is never true of NULL), then
// the NULLs by id.
func (s *Store) listAfter(ctx context.Context, l *keyedList, f ClientFilter, order Sort, col sortColumn, p Page) error {
	c := p.After
	if err := c.Continues(order); err != nil {
		return err
	}
	where, args := f.where()
	and := " WHERE "
	if where != "" {
		and = where + " AND "
	}
	cmp, cmpEq := " > ", " >= "
	if order.Desc {
		cmp, cmpEq = " < ", " <= "
	}
	want := p.Size + 1
	if c.key != nil {
		// key >= k AND (key > k OR id > i), rather than the row value
		// (key, id) > (k, i): SQLite takes the first term as a range of an
		// index on an expression too, where it walks the whole index
		// for the row value.
		e := col.expr
		cond := e + cmpEq + "? AND (" + e + cmp + "? OR id" + cmp + "?)"
		q := "SELECT " + clientSelect + ", " + e + " FROM ntp_clients" + and + cond +
			" ORDER BY " + e + order.dir() + ", id" + order.dir() + " LIMIT ?"
		if err := s.queryKeyed(ctx, l, q, append(slices.Clone(args), c.key, c.key, c.id, want)...); err != nil {
			return err
		}
		if !col.nullable || len(l.rows) >= want {
			return nil
		}
	}
	// The NULL range: from its start after a keyed cursor, after the
	// cursor's id inside it.
	cond, nargs := col.expr+" IS NULL", []any{}
	if c.key == nil {
		cond += " AND id" + cmp + "?"
		nargs = append(nargs, c.id)
	}
	q := "SELECT " + clientSelect + ", " + col.expr + " FROM ntp_clients" + and + cond +
		" ORDER BY id" + order.dir() + " LIMIT ?"
	return s.queryKeyed(ctx, l, q, append(append(args, nargs...), want-len(l.rows))...)
}

// ClientsByIP returns every row of one address, one per interface, ordered by
// interface name. The address matches in any spelling: rows are found by
// their 16-byte form.
func (s *Store) ClientsByIP(ctx context.Context, addr netip.Addr) ([]Client, error) {
	out, err := s.queryClients(ctx, 0,
		"SELECT "+clientSelect+" FROM ntp_clients WHERE client_ip_bytes = ? ORDER BY interface_name",
		ipBytes(addr.WithZone("")))
	if err != nil {
		return nil, fmt.Errorf("store: client %s: %w", addr, err)
	}
	return out, nil
}

// CountClients returns how many clients match f.
func (s *Store) CountClients(ctx context.Context, f ClientFilter) (int64, error) {
	where, args := f.where()
	var n int64
	if err := s.ReadDB().QueryRowContext(ctx, "SELECT count(*) FROM ntp_clients"+where, args...).Scan(&n); err != nil {
		return 0, fmt.Errorf("store: count clients: %w", err)
	}
	return n, nil
}

// InterfaceClients is the number of client rows per interface.
func (s *Store) InterfaceClients(ctx context.Context) (map[string]int64, error) {
	rows, err := s.ReadDB().QueryContext(ctx,
		"SELECT interface_name, count(*) FROM ntp_clients GROUP BY interface_name")
	if err != nil {
		return nil, fmt.Errorf("store: clients per interface: %w", err)
	}
	defer rows.Close()
	out := make(map[string]int64)
	for rows.Next() {
		var name string
		var n int64
		if err := rows.Scan(&name, &n); err != nil {
			return nil, fmt.Errorf("store: clients per interface: %w", err)
		}
		out[name] = n
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: clients per interface: %w", err)
	}
	return out, nil
}
