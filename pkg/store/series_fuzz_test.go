package store

import "testing"

// FuzzSeriesStored: a stored series row, whatever its kod_codes text and
// blobs, is merged or refused without a panic; a refused row leaves the
// bucket as it was, and a merged one encodes and reads back the same.
func FuzzSeriesStored(f *testing.F) {
	var b SeriesBucket
	s := sess("192.0.2.1", 0, answered(0.001, 0.0001, 0.0002), kod("RATE"))
	b.fold(&s, s.ClientIP)
	args, err := b.RowValues()
	if err != nil {
		f.Fatal(err)
	}
	f.Add(args[4].(string), args[17].([]byte), args[18].([]byte), args[19].([]byte))
	f.Add(`{"RATE":-1}`, []byte{}, []byte{0}, []byte{1, 2, 3})
	f.Add(`[]`, []byte(nil), []byte(nil), []byte(nil))
	f.Fuzz(func(t *testing.T, codes string, clients, proc, wire []byte) {
		r := storedBucket{codes: &codes, clients: clients, proc: proc, wire: wire}
		r.counts.Requests = 1
		var got SeriesBucket
		if err := got.mergeStored(&r); err != nil {
			if !got.Empty() || got.Clients.Count() != 0 || got.Processing.Count() != 0 {
				t.Fatalf("a refused row changed the bucket: %+v", got)
			}
			return
		}
		a, err := got.RowValues()
		if err != nil {
			t.Fatalf("a merged row does not encode: %v", err)
		}
		var back storedBucket
		for i, d := range back.dest() {
			switch p := d.(type) {
			case *int64:
				*p = a[i].(int64)
			case **string:
				if a[i] != nil {
					v := a[i].(string)
					*p = &v
				}
			case *[]byte:
				if a[i] != nil {
					*p = a[i].([]byte)
				}
			}
		}
		var again SeriesBucket
		if err := again.mergeStored(&back); err != nil {
			t.Fatalf("a bucket written does not read back: %v", err)
		}
		if again.Requests != got.Requests || again.Clients.Count() != got.Clients.Count() ||
			again.Processing.Count() != got.Processing.Count() || again.Wire.Count() != got.Wire.Count() || len(again.KoDCodes) != len(got.KoDCodes) {
			t.Fatalf("read back %+v, wrote %+v", again, got)
		}
	})
}
