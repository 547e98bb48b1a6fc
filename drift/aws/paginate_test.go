package aws

import (
	"errors"
	"testing"

	awssdk "github.com/aws/aws-sdk-go-v2/aws"
)

func TestPaginateIAMRefusesPartialListings(t *testing.T) {
	tests := []struct {
		name    string
		pages   []page
		wantErr error
		calls   int
	}{
		{name: "one page", pages: []page{{}}, calls: 1},
		{name: "three pages", pages: []page{{next: "a", truncated: true}, {next: "b", truncated: true}, {}}, calls: 3},
		{name: "truncated without a marker", pages: []page{{truncated: true}}, wantErr: ErrPartialList, calls: 1},
		{name: "repeated marker", pages: []page{{next: "a", truncated: true}, {next: "a", truncated: true}}, wantErr: ErrPartialList, calls: 2},
		{name: "failed second page", pages: []page{{next: "a", truncated: true}, {err: errors.New("boom")}}, wantErr: errBoom, calls: 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			calls := 0
			err := paginateIAM(func(marker *string) (*string, bool, error) {
				p := tt.pages[calls]
				calls++
				if p.err != nil {
					return nil, false, errBoom
				}
				return awssdk.String(p.next), p.truncated, nil
			})
			if (tt.wantErr == nil) != (err == nil) || (tt.wantErr != nil && !errors.Is(err, tt.wantErr)) {
				t.Errorf("error = %v, want %v", err, tt.wantErr)
			}
			if tt.wantErr == ErrPartialList && !errors.Is(err, ErrUnknown) {
				t.Errorf("a partial listing %v is not ErrUnknown", err)
			}
			if calls != tt.calls {
				t.Errorf("%d pages read, want %d", calls, tt.calls)
			}
		})
	}
}

type page struct {
	next      string
	truncated bool
	err       error
}

var errBoom = errors.New("boom")
