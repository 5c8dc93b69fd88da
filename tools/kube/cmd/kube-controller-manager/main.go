// Command kube-controller-manager is the upstream controller manager of the pinned
// Kubernetes release, unchanged: the same few lines as
// k8s.io/kubernetes/cmd/kube-controller-manager. The real tier runs it beside the API
// server for garbage collection, namespaces, Deployments, Jobs, CronJobs and nodes.
package main

import (
	"os"
	_ "time/tzdata" // CronJob time zones, as upstream

	"k8s.io/component-base/cli"
	_ "k8s.io/component-base/logs/json/register"
	_ "k8s.io/component-base/metrics/prometheus/clientgo"
	_ "k8s.io/component-base/metrics/prometheus/version"
	"k8s.io/kubernetes/cmd/kube-controller-manager/app"
)

func main() {
	os.Exit(cli.Run(app.NewControllerManagerCommand()))
}
