// Command kube-apiserver is a thin wrapper so the Kubernetes API server can be built from the
// Go module proxy at an exact version (k8s.io/kubernetes replaces its staging modules with
// local paths, so it cannot be `go install`ed directly).
package main

import (
	"os"

	"k8s.io/component-base/cli"
	"k8s.io/kubernetes/cmd/kube-apiserver/app"
)

func main() {
	os.Exit(cli.Run(app.NewAPIServerCommand()))
}
