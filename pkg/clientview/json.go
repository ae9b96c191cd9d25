package clientview

import (
	"encoding/json"
	"io"
	"time"

	"github.com/ntp-monitor/ntp-monitor/pkg/apiclient"
)

// document is the --json shape (see the package documentation).
type document struct {
	API         string                `json:"api"`
	GeneratedAt time.Time             `json:"generated_at"`
	Sort        sortJSON              `json:"sort"`
	Total       int64                 `json:"total"`
	Scanned     int                   `json:"scanned"`
	Data        []apiclient.ClientRow `json:"data"`
}

type sortJSON struct {
	By        string  `json:"by"`
	Order     string  `json:"order"`
	APISortBy *string `json:"api_sort_by"`
}

// WriteJSON prints r as one indented JSON document: the envelope described
// in the package documentation around the rows as the API sent them.
func WriteJSON(w io.Writer, api string, o Order, r *Result, now time.Time) error {
	doc := document{API: api, GeneratedAt: now.UTC(), Total: r.Total, Scanned: r.Scanned, Data: r.Rows,
		Sort: sortJSON{By: o.Name(), Order: o.Direction()}}
	if f := o.APIField(); f != "" {
		doc.Sort.APISortBy = &f
	}
	if doc.Data == nil {
		doc.Data = []apiclient.ClientRow{}
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(doc)
}
