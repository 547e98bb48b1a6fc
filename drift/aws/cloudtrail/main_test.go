package cloudtrail

import (
	"testing"

	"github.com/trueup-dev/trueup/fixtures/motoenv"
)

func TestMain(m *testing.M) { motoenv.Main(m) }
