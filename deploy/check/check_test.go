// Package check validates the Kubernetes example in deploy/ against the
// API's own Go types, strictly: a misspelt or misplaced field, or a value
// of the wrong type, fails. It is a module of its own so that the library
// does not depend on Kubernetes; run it with `make deploy-check`.
package check

import (
	"os"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/yaml"
)

func TestKubernetesExample(t *testing.T) {
	b, err := os.ReadFile("../kubernetes.yaml")
	if err != nil {
		t.Fatal(err)
	}
	kinds := map[string]int{}
	for _, doc := range strings.Split(string(b), "\n---\n") {
		var head struct{ APIVersion, Kind string }
		if err := yaml.Unmarshal([]byte(doc), &head); err != nil {
			t.Fatalf("not YAML: %v", err)
		}
		kinds[head.Kind]++
		switch head.APIVersion + " " + head.Kind {
		case "apps/v1 Deployment":
			var d appsv1.Deployment
			if err := yaml.UnmarshalStrict([]byte(doc), &d); err != nil {
				t.Fatalf("Deployment: %v", err)
			}
			checkDeployment(t, &d)
		case "v1 Service":
			var s corev1.Service
			if err := yaml.UnmarshalStrict([]byte(doc), &s); err != nil {
				t.Fatalf("Service: %v", err)
			}
		case "monitoring.coreos.com/v1 ServiceMonitor":
			// The Prometheus Operator's type is not in k8s.io/api: only
			// its shape is checked.
			var m struct {
				APIVersion, Kind string
				Metadata         map[string]any
				Spec             struct {
					Selector  map[string]any
					Endpoints []struct{ Port, Path, Interval string }
				}
			}
			if err := yaml.UnmarshalStrict([]byte(doc), &m); err != nil {
				t.Fatalf("ServiceMonitor: %v", err)
			}
			if len(m.Spec.Endpoints) == 0 || m.Spec.Endpoints[0].Port != "metrics" {
				t.Errorf("ServiceMonitor endpoints: %+v", m.Spec.Endpoints)
			}
		default:
			t.Errorf("unexpected %s %s", head.APIVersion, head.Kind)
		}
	}
	if kinds["Deployment"] != 1 || kinds["Service"] != 1 {
		t.Errorf("kinds: %v", kinds)
	}
}

// checkDeployment: the selector matches the pod's labels, the probes ask
// push's endpoints on a port the container declares.
func checkDeployment(t *testing.T, d *appsv1.Deployment) {
	for k, v := range d.Spec.Selector.MatchLabels {
		if d.Spec.Template.Labels[k] != v {
			t.Errorf("selector %s=%s does not match the pod's labels %v", k, v, d.Spec.Template.Labels)
		}
	}
	c := d.Spec.Template.Spec.Containers[0]
	ports := map[string]bool{}
	for _, p := range c.Ports {
		ports[p.Name] = true
	}
	for name, p := range map[string]*corev1.Probe{"liveness": c.LivenessProbe, "readiness": c.ReadinessProbe, "startup": c.StartupProbe} {
		if p == nil || p.HTTPGet == nil || !ports[p.HTTPGet.Port.String()] {
			t.Errorf("%s probe: %+v", name, p)
			continue
		}
		if want := map[string]string{"liveness": "/healthz", "readiness": "/readyz", "startup": "/healthz"}[name]; p.HTTPGet.Path != want {
			t.Errorf("%s probe asks %s, want %s", name, p.HTTPGet.Path, want)
		}
	}
	if a := d.Spec.Template.Annotations; a["prometheus.io/scrape"] != "true" || a["prometheus.io/path"] != "/metrics" {
		t.Errorf("scrape annotations: %v", a)
	}
}
