package top

import (
	"context"
	"time"

	"github.com/ntp-monitor/ntp-monitor/pkg/apiclient"
)

// read takes one sample: the statistics and the three client lists of
// limit rows each.
func read(ctx context.Context, api *apiclient.Client, limit int) (*sample, error) {
	s := &sample{}
	var err error
	if s.service, err = api.ServiceStatistics(ctx); err != nil {
		return nil, err
	}
	// Stamp the sample when the counters were read, not when the slower
	// reads that follow finished.
	s.at = time.Now()
	if s.interfaces, err = api.InterfaceStatistics(ctx); err != nil {
		return nil, err
	}
	talkers, err := api.ListClients(ctx, apiclient.ListQuery{SortBy: "session_count", SortOrder: "desc", PageSize: limit})
	if err != nil {
		return nil, err
	}
	s.talkers = talkers.Data
	yes := true
	if s.unanswered, err = latest(ctx, api, limit, &apiclient.Filters{HasUnanswered: &yes}); err != nil {
		return nil, err
	}
	if s.kod, err = latest(ctx, api, limit, &apiclient.Filters{HasKoD: &yes}); err != nil {
		return nil, err
	}
	return s, nil
}

// latest is the limit most recently seen clients matching f.
func latest(ctx context.Context, api *apiclient.Client, limit int, f *apiclient.Filters) ([]apiclient.ClientRow, error) {
	l, err := api.SearchClients(ctx, apiclient.SearchRequest{
		Filters:    f,
		Sort:       &apiclient.Sort{By: "last_seen", Order: "desc"},
		Pagination: &apiclient.PageSpec{Page: 1, PageSize: limit},
	})
	if err != nil {
		return nil, err
	}
	return l.Data, nil
}
