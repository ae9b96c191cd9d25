package store

import (
	"context"
	"fmt"
	"net/netip"
)

// Page selects one page of a list; Number counts from 1.
type Page struct {
	Number int
	Size   int
}

// ListClients returns one page of the clients that match f in order s. A
// page past the end is empty, not an error. The total is CountClients'
// business: callers that page through one filter can count once.
func (s *Store) ListClients(ctx context.Context, f ClientFilter, order Sort, p Page) ([]Client, error) {
	if p.Number < 1 || p.Size < 1 {
		return nil, fmt.Errorf("store: invalid page %d of size %d", p.Number, p.Size)
	}
	orderBy, err := order.orderBy()
	if err != nil {
		return nil, err
	}
	where, args := f.where()
	offset := int64(p.Number-1) * int64(p.Size)
	// The inner query walks only the index that serves the order and reads
	// table rows for the page alone, which keeps deep pages cheap.
	q := "SELECT " + clientSelect + " FROM ntp_clients WHERE id IN (SELECT id FROM ntp_clients" +
		where + orderBy + " LIMIT ? OFFSET ?)" + orderBy
	args = append(args, p.Size, offset)
	out, err := s.queryClients(ctx, p.Size, q, args...)
	if err != nil {
		return nil, fmt.Errorf("store: list clients: %w", err)
	}
	return out, nil
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
