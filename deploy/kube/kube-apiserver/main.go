// Command kube-apiserver is Kubernetes' API server, built from the k8s.io/kubernetes
// module pinned in ../go.mod. The chart tests start it on loopback (see
// src/testing/harness/kube-apiserver.ts) so that every object the chart renders is
// admitted by the real schema validation.
package main

import (
	"os"
	_ "time/tzdata" // CronJob timeZone validation, as in cmd/kube-apiserver

	"k8s.io/component-base/cli"
	_ "k8s.io/component-base/logs/json/register"
	"k8s.io/kubernetes/cmd/kube-apiserver/app"
)

func main() {
	os.Exit(cli.Run(app.NewAPIServerCommand()))
}
