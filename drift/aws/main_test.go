package aws

import (
	"encoding/json"
	"testing"

	"github.com/trueup-dev/trueup/fixtures/motoenv"
)

// fixtures is fixtures/aws, relative to this package.
const fixtures = "../../fixtures/aws"

func TestMain(m *testing.M) { motoenv.Main(m) }

func dumpJSON(v any) string {
	b, _ := json.MarshalIndent(v, "", "  ")
	return string(b)
}
