package reconciler

import (
	"fmt"

	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/trueup-dev/trueup/reconciler/config"
	"github.com/trueup-dev/trueup/reconciler/health"
	"github.com/trueup-dev/trueup/reconciler/kube"
)

// HealthCheckOption compiles the config's health checks into the cluster
// option that judges their kinds with them instead of kstatus (nil when
// there are none).
func HealthCheckOption(cfg *config.Config) (kube.Option, error) {
	if len(cfg.HealthChecks) == 0 {
		return nil, nil
	}
	checks := map[schema.GroupKind]kube.StatusFunc{}
	for i, h := range cfg.HealthChecks {
		c, err := health.Compile(h.Rule())
		if err != nil {
			return nil, fmt.Errorf("healthChecks[%d] (%s %s): %w", i, h.APIVersion, h.Kind, err)
		}
		checks[c.GroupKind] = c.Status
	}
	return kube.WithHealthChecks(checks), nil
}
