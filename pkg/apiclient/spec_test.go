package apiclient

import (
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
)

// jsonNames lists the JSON field names of a struct type.
func jsonNames(t reflect.Type) []string {
	var out []string
	for i := range t.NumField() {
		f := t.Field(i)
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if f.IsExported() && name != "" && name != "-" {
			out = append(out, name)
		}
	}
	slices.Sort(out)
	return out
}

func propertyNames(s *openapi3.Schema) []string {
	var out []string
	for name := range s.Properties {
		out = append(out, name)
	}
	for _, a := range s.AllOf {
		out = append(out, propertyNames(a.Value)...)
	}
	slices.Sort(out)
	return out
}

// The types mirror api/openapi.yaml, the contract: an answer's type has a
// field for every property the API sends (so nothing it adds goes unseen
// here), and a request's type only fields the API accepts.
func TestTypesMatchSpec(t *testing.T) {
	loader := openapi3.NewLoader()
	doc, err := loader.LoadFromFile("../../api/openapi.yaml")
	if err != nil {
		t.Fatal(err)
	}
	schema := func(name string) *openapi3.Schema {
		ref := doc.Components.Schemas[name]
		if ref == nil {
			t.Fatalf("no schema %s in the spec", name)
		}
		return ref.Value
	}
	service := schema("ServiceStatistics")
	search := schema("SearchRequest")
	tests := []struct {
		name    string
		schema  *openapi3.Schema
		typ     any
		request bool // the type may leave out properties
	}{
		{"Client", schema("Client"), ClientRow{}, false},
		{"ClientList", schema("ClientList"), ClientList{}, false},
		{"Pagination", schema("Pagination"), Pagination{}, false},
		{"InterfaceStatisticsResponse", schema("InterfaceStatisticsResponse"), InterfaceStatistics{}, false},
		{"InterfaceStatistics", schema("InterfaceStatistics"), InterfaceStats{}, false},
		{"MetricStats", schema("MetricStats"), MetricStats{}, false},
		{"RangeTotals", schema("RangeTotals"), RangeTotals{}, false},
		{"Quantiles", schema("Quantiles"), Quantiles{}, false},
		{"ServiceStatistics", service, ServiceStatistics{}, false},
		{"ServiceStatistics.ingestion", service.Properties["ingestion"].Value, Ingestion{}, false},
		{"ServiceStatistics.database", service.Properties["database"].Value, Database{}, false},
		{"IngestWorker", schema("IngestWorker"), IngestWorker{}, false},
		{"CaptureStats", schema("CaptureStats"), CaptureStats{}, false},
		{"SearchRequest", search, SearchRequest{}, true},
		{"SearchRequest.sort", search.Properties["sort"].Value, Sort{}, true},
		{"SearchRequest.pagination", search.Properties["pagination"].Value, PageSpec{}, true},
		{"Filters", schema("Filters"), Filters{}, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			have := jsonNames(reflect.TypeOf(tc.typ))
			spec := propertyNames(tc.schema)
			for _, h := range have {
				if !slices.Contains(spec, h) {
					t.Errorf("field %q is not in the spec's %s", h, tc.name)
				}
			}
			if tc.request {
				return
			}
			for _, s := range spec {
				if !slices.Contains(have, s) {
					t.Errorf("the spec's %s has %q, which %T lacks", tc.name, s, tc.typ)
				}
			}
		})
	}
}
