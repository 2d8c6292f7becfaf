package embedded

import (
	"testing"

	"github.com/gfnpipeline/contracts"
)

// The embedded run starts every service of the one list, and nothing else.
func TestEveryServiceHasAnApplication(t *testing.T) {
	for _, name := range contracts.ServiceNames() {
		if newApps[name] == nil {
			t.Errorf("service %s has no NewApplication in newApps", name)
		}
	}
	if len(newApps) != len(contracts.Services()) {
		t.Errorf("newApps has %d services, contracts.Services %d", len(newApps), len(contracts.Services()))
	}
}
