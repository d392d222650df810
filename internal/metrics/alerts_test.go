package metrics_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/gannet-mq/gannet/internal/metrics"
	"github.com/gannet-mq/gannet/internal/testenv"
)

// alertsDir holds the shipped Prometheus rules, relative to this package.
const alertsDir = "../../deploy/prometheus"

// TestAlertRulesUseOnlyOurSeries guards against an alert that can never fire
// because it queries a series Gannet does not export (a renamed metric, a
// typo, or the _total suffix the article's names do not have).
func TestAlertRulesUseOnlyOurSeries(t *testing.T) {
	data, err := os.ReadFile(filepath.Join(alertsDir, "alerts.yml"))
	if err != nil {
		t.Fatal(err)
	}
	var rules struct {
		Groups []struct {
			Rules []struct {
				Alert string `yaml:"alert"`
				Expr  string `yaml:"expr"`
			} `yaml:"rules"`
		} `yaml:"groups"`
	}
	if err := yaml.Unmarshal(data, &rules); err != nil {
		t.Fatalf("alerts.yml: %v", err)
	}

	// Our series all start with one of two prefixes; anything else in an
	// expression is a PromQL function, keyword or label.
	seriesName := regexp.MustCompile(`\b(?:mq|gannet)_[a-zA-Z0-9_]*`)
	known := metrics.Names()
	var alerts []string
	for _, group := range rules.Groups {
		for _, rule := range group.Rules {
			alerts = append(alerts, rule.Alert)
			used := seriesName.FindAllString(rule.Expr, -1)
			if len(used) == 0 {
				t.Errorf("alert %s: expression %q uses no Gannet series", rule.Alert, rule.Expr)
			}
			for _, name := range used {
				if !slices.Contains(known, familyName(name)) {
					t.Errorf("alert %s uses %s, which the metrics package does not register (registered: %v)",
						rule.Alert, name, known)
				}
			}
		}
	}
	for _, want := range []string{"MessageBacklog", "ConsumerLag"} {
		if !slices.Contains(alerts, want) {
			t.Errorf("alerts.yml has no %s alert (the article's rules); found %v", want, alerts)
		}
	}
}

// familyName maps a histogram's sample names back to the family name.
func familyName(series string) string {
	for _, suffix := range []string{"_bucket", "_sum", "_count"} {
		if family, ok := strings.CutSuffix(series, suffix); ok && slices.Contains(metrics.Names(), family) {
			return family
		}
	}
	return series
}

// TestAlertRulesPassPromtool runs promtool's syntax check and the rule unit
// tests in alerts_test.yml. It needs promtool (Debian package prometheus); it
// skips without it, except under GANNET_E2E=1 where a missing tool fails CI.
func TestAlertRulesPassPromtool(t *testing.T) {
	promtool := testenv.RequireTool(t, "promtool")
	for _, args := range [][]string{
		{"check", "rules", "alerts.yml"},
		{"test", "rules", "alerts_test.yml"},
	} {
		command := exec.Command(promtool, args...)
		command.Dir = alertsDir
		output, err := command.CombinedOutput()
		if err != nil {
			t.Errorf("promtool %s: %v\n%s", strings.Join(args, " "), err, output)
		}
	}
}
